// Accuracy metrics of `octet eval` (SPEC.md "Command line"): per-sample values and their aggregate.
//
// Label metrics compare a model's first output with the sample's label:
//   top1, top5          classification; output [1, C] or [C]; the label is a class index (or a
//                       class name mapped through MetricOptions::class_names).
//   ctc-char-accuracy   text recognition with a CTC head; output [1, T, C] or [T, C]. Greedy
//   ctc-line-accuracy   decoding (see ctc_greedy_decode), then PaddleOCR's RecMetric conventions.
// Reference metrics compare a model's outputs with a reference model's outputs on the same input:
//   sqnr, cosine, top1-agreement.
// Detection metric (eval/text_detection.h) compares a DB text detector's probability map with the
// labeled text quadrilaterals (PaddleOCR det JSON):
//   text-det-hmean      PaddleOCR's DBPostProcess + DetectionIoUEvaluator; harmonic mean of
//                       precision and recall over the whole data set.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "octet/tensor.h"

namespace octet {

enum class MetricKind {
  kTop1,
  kTop5,
  kCtcCharAccuracy,
  kCtcLineAccuracy,
  kSqnr,
  kCosine,
  kTop1Agreement,
  kTextDetHmean,
};

// The metric names accepted by `octet eval --metric`, in MetricKind order.
const std::vector<std::string>& metric_names();
// Throws Error listing the valid names for an unknown name.
MetricKind parse_metric_name(const std::string& name);
std::string metric_name(MetricKind kind);
bool metric_needs_dictionary(MetricKind kind);
bool metric_needs_reference(MetricKind kind);

// ---- Text ----------------------------------------------------------------------------------------

// UTF-8 -> Unicode code points. Throws Error on invalid UTF-8 (`what` names the text's origin).
std::u32string utf8_to_code_points(const std::string& text, const std::string& what = "text");
std::string code_points_to_utf8(const std::u32string& text);

// Levenshtein distance (insertions, deletions, substitutions, each costing 1) over code points.
int64_t edit_distance(const std::u32string& a, const std::u32string& b);

// PaddleOCR's RecMetric ignores spaces by default (ignore_space=True): both texts lose their spaces
// before they are compared.
std::u32string remove_spaces(const std::u32string& text);

// 1 - edit_distance(prediction, label) / max(len(label), 1), clipped at 0, after remove_spaces.
// (PaddleOCR divides by max(len(prediction), len(label)) instead; this brief-mandated form
// penalizes long garbage predictions fully.)
double character_accuracy(const std::u32string& prediction, const std::u32string& label);
// 1 when prediction and label are equal after remove_spaces, else 0.
double line_accuracy(const std::u32string& prediction, const std::u32string& label);

// The character dictionary of a CTC recognizer (PaddleOCR's ppocr_keys_v1.txt: one character per
// line, UTF-8). Class 0 is the CTC blank; class i >= 1 is entry i-1; when the model has one class
// more than blank + entries, that last class is the space (PaddleOCR's use_space_char).
class CtcDictionary {
 public:
  // Throws Error naming the file when it cannot be read, is empty or is not UTF-8.
  static CtcDictionary from_file(const std::string& path);
  explicit CtcDictionary(std::vector<std::u32string> entries, std::string source = "dictionary");

  size_t size() const { return entries_.size(); }
  // Decodes class indices (blanks already removed) for a model with `class_count` classes. Throws
  // Error when class_count is neither size()+1 nor size()+2, or an index is out of range.
  std::u32string decode(std::span<const int64_t> classes, int64_t class_count) const;

 private:
  std::vector<std::u32string> entries_;
  std::string source_;
};

// The blank class of PaddleOCR's CTC heads.
inline constexpr int64_t kCtcBlankClass = 0;

// Greedy CTC decoding of scores [1, T, C] or [T, C] (float): argmax per time step (the first
// maximum on ties), consecutive repeats collapsed, blanks dropped. Returns the class indices.
std::vector<int64_t> ctc_greedy_decode(const Tensor& scores);

// ---- Classification ------------------------------------------------------------------------------

// Whether `label` is among the k highest of `scores` (ties broken towards the lower index, as a
// stable sort would). Throws Error when label is out of range.
bool top_k_contains(std::span<const float> scores, int64_t label, int64_t k);

// The scores of a classifier output [1, C] or [C] (float); Throws Error for other shapes.
std::span<const float> class_scores(const Tensor& output);

// ---- Comparison with a reference -----------------------------------------------------------------

// Running sums over any number of (reference, output) element pairs.
struct ReferenceSums {
  double reference_energy = 0;                              // sum ref^2
  double error_energy = 0;                                  // sum (ref - out)^2
  double output_energy = 0;                                 // sum out^2
  double dot = 0;                                           // sum ref * out
  void add(const Tensor& reference, const Tensor& output);  // float tensors of the same shape
  void add(const ReferenceSums& other);
};
// 10 log10(reference_energy / error_energy) in dB; +infinity when the error is 0.
double sqnr_db(const ReferenceSums& sums);
// dot / (|ref| |out|); 1 when both are all zeros, 0 when only one is.
double cosine_similarity(const ReferenceSums& sums);

// Argmax over the last axis of both tensors (float, same shape): how many rows agree, of how many.
struct Agreement {
  int64_t agreeing = 0;
  int64_t rows = 0;
};
Agreement top1_agreement(const Tensor& reference, const Tensor& output);

}  // namespace octet
