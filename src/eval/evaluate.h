// Runs a model over a labeled data set and computes one metric (the library behind `octet eval`,
// and later the accuracy-aware quantization loop).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eval/dataset.h"
#include "eval/metrics.h"
#include "eval/preprocess.h"
#include "eval/text_detection.h"
#include "runtime/session.h"

namespace octet {

struct EvalOptions {
  MetricKind metric = MetricKind::kTop1;
  // Needed by the CTC metrics: the recognizer's character dictionary.
  const CtcDictionary* dictionary = nullptr;
  // Needed by the reference metrics: the model to compare with (same inputs, same output shapes).
  Session* reference = nullptr;
  // Classification labels as class names: label text class_names[i] means class i. Empty: labels
  // are integer class indices.
  std::vector<std::string> class_names;
  // Image samples: how to turn each decoded image into the model input. Null: the samples are .npy
  // tensors fed as they are (the data set must have been loaded with the matching SampleFormat).
  const PreprocessSpec* preprocess = nullptr;
  // text-det-hmean: DBPostProcess thresholds (PaddleOCR's defaults).
  DbPostProcessOptions detection;
};

struct SampleResult {
  std::string name;
  double value = 0;
  std::string prediction;  // CTC metrics: the decoded text (UTF-8); empty otherwise
  // text-det-hmean: the image's counts (value is its hmean, as PaddleOCR's evaluate_image) and the
  // detected boxes in label coordinates.
  std::optional<DetectionCounts> detection;
  std::vector<DetectedBox> boxes;
};

struct EvalResult {
  std::string metric;
  // top1/top5/ctc-*: mean of the per-sample values. sqnr: over all outputs of all samples (total
  // reference energy / total error energy, in dB). cosine: mean of per-sample cosines (each over
  // all of that sample's outputs). top1-agreement: agreeing rows / rows over all samples and outputs.
  // text-det-hmean: hmean of the precision and recall of the summed counts (PaddleOCR's
  // combine_results), not the mean of the per-sample hmeans.
  double value = 0;
  std::optional<DetectionCounts> detection_totals;  // text-det-hmean only
  std::vector<SampleResult> per_sample;
};

// Feeds every sample (the model must have exactly one input) and scores the first output (label
// metrics) or every output (reference metrics). For text-det-hmean the boxes are mapped back to
// the label's pixel grid: the sample's own grid for .npy samples, the source image's for
// preprocessed images (undoing resize and crop). Throws Error naming the sample file on a bad sample
// or label, and the metric's missing option (dictionary, reference).
EvalResult evaluate(Session& model, const LabeledDataset& dataset, const EvalOptions& options);

}  // namespace octet
