#include "eval/evaluate.h"

#include <charconv>

#include "core/npy.h"
#include "octet/status.h"

namespace octet {
namespace {

// Top-k of the metrics top1/top5.
constexpr int64_t kTop1 = 1;
constexpr int64_t kTop5 = 5;

int64_t class_index_of(const std::string& label, const std::vector<std::string>& class_names) {
  if (!class_names.empty()) {
    for (size_t i = 0; i < class_names.size(); ++i)
      if (class_names[i] == label) return static_cast<int64_t>(i);
    std::string known;
    for (const auto& name : class_names) known += (known.empty() ? "" : ", ") + name;
    throw Error(concat("label '", label, "' is not one of the --classes (", known, ")"));
  }
  int64_t index = -1;
  const auto [end, error] = std::from_chars(label.data(), label.data() + label.size(), index);
  check(error == std::errc() && end == label.data() + label.size() && index >= 0, "label '", label,
        "' is not a class index (use --classes to name the classes)");
  return index;
}

// Probability map -> label coordinates: map -> tensor grid (a detector's map may be smaller than
// its input), then undo the crop and resize of the preprocessing.
BoxMapping box_mapping(const Tensor& probability_map, const SampleGeometry& geometry) {
  const Shape& shape = probability_map.shape();
  check(shape.size() >= 2, "text-det-hmean: the model output ", shape_to_string(shape), " is not a probability map");
  const double map_height = static_cast<double>(shape[shape.size() - 2]);
  const double map_width = static_cast<double>(shape[shape.size() - 1]);
  const double to_source_y = static_cast<double>(geometry.source_height) / static_cast<double>(geometry.resized_height);
  const double to_source_x = static_cast<double>(geometry.source_width) / static_cast<double>(geometry.resized_width);
  BoxMapping mapping;
  mapping.scale_y = static_cast<double>(geometry.tensor_height) / map_height * to_source_y;
  mapping.scale_x = static_cast<double>(geometry.tensor_width) / map_width * to_source_x;
  mapping.offset_y = static_cast<double>(geometry.crop_top) * to_source_y;
  mapping.offset_x = static_cast<double>(geometry.crop_left) * to_source_x;
  mapping.max_y = static_cast<double>(geometry.source_height);
  mapping.max_x = static_cast<double>(geometry.source_width);
  return mapping;
}

// The identity geometry of a .npy sample [N, C, H, W] (labels index its own pixel grid).
SampleGeometry tensor_geometry(const Tensor& input) {
  check(input.rank() >= 2, "text-det-hmean: the input ", shape_to_string(input.shape()), " is not an image tensor");
  const int64_t height = input.dim(input.rank() - 2), width = input.dim(input.rank() - 1);
  return {height, width, height, width, 0, 0, height, width};
}

void score_detection(const EvalOptions& options, const Tensor& output, const SampleGeometry& geometry,
                     const LabeledSample& labeled, SampleResult& sample) {
  std::vector<TextRegion> truth;
  try {
    truth = parse_detection_label(labeled.label);
  } catch (const Error& error) {
    if (labeled.label_origin.empty()) throw;  // named with the sample by evaluate
    throw Error(concat(labeled.label_origin, ": label of ", labeled.name, ": ", error.what()));
  }
  sample.boxes = db_postprocess(output, box_mapping(output, geometry), options.detection);
  std::vector<Polygon> detections;
  for (const DetectedBox& box : sample.boxes) detections.push_back(box.points);
  sample.detection = match_detections(truth, detections);
  sample.value = image_detection_scores(*sample.detection).hmean;
}

std::vector<Tensor> run_one(Session& session, const Tensor& input) {
  return session.run({{session.inputs().front().name, &input}});
}

double label_metric(const EvalOptions& options, const Tensor& output, const std::string& label, SampleResult& sample) {
  switch (options.metric) {
    case MetricKind::kTop1:
    case MetricKind::kTop5: {
      const int64_t k = options.metric == MetricKind::kTop1 ? kTop1 : kTop5;
      const std::span<const float> scores = class_scores(output);
      const int64_t label_class = class_index_of(label, options.class_names);
      check(label_class < static_cast<int64_t>(scores.size()), "label '", label, "' is class ", label_class,
            " but the model has ", scores.size(), " classes",
            options.class_names.empty() ? " (labels that are class names need --classes)" : "");
      return top_k_contains(scores, label_class, k) ? 1.0 : 0.0;
    }
    case MetricKind::kCtcCharAccuracy:
    case MetricKind::kCtcLineAccuracy: {
      const std::vector<int64_t> classes = ctc_greedy_decode(output);
      const std::u32string predicted = options.dictionary->decode(classes, output.dim(output.rank() - 1));
      sample.prediction = code_points_to_utf8(predicted);
      const std::u32string expected = utf8_to_code_points(label, "label");
      return options.metric == MetricKind::kCtcCharAccuracy ? character_accuracy(predicted, expected)
                                                            : line_accuracy(predicted, expected);
    }
    default:
      throw Error("internal: not a label metric");
  }
}

}  // namespace

EvalResult evaluate(Session& model, const LabeledDataset& dataset, const EvalOptions& options) {
  const MetricKind metric = options.metric;
  check(!metric_needs_dictionary(metric) || options.dictionary != nullptr, "--metric ", metric_name(metric),
        " needs --dict FILE (the recognizer's character dictionary)");
  check(!metric_needs_reference(metric) || options.reference != nullptr, "--metric ", metric_name(metric),
        " needs --reference MODEL");
  check(model.inputs().size() == 1, "eval needs a single-input model; this one has ", model.inputs().size(), " inputs");
  if (options.reference != nullptr)
    check(options.reference->inputs().size() == 1, "--reference: eval needs a single-input model; it has ",
          options.reference->inputs().size(), " inputs");

  EvalResult result;
  result.metric = metric_name(metric);
  ReferenceSums total_sums;
  Agreement total_agreement;
  DetectionCounts detection_totals;
  double value_sum = 0;
  for (const LabeledSample& labeled : dataset.samples) {
    SampleResult sample;
    sample.name = labeled.name;
    try {
      SampleGeometry geometry;
      const Tensor input = options.preprocess != nullptr
                               ? load_image_sample(labeled.path, *options.preprocess, &geometry)
                               : load_npy(labeled.path);
      if (options.preprocess == nullptr && metric == MetricKind::kTextDetHmean) geometry = tensor_geometry(input);
      std::vector<Tensor> outputs = run_one(model, input);
      check(!outputs.empty(), "the model has no outputs");
      if (metric == MetricKind::kTextDetHmean) {
        score_detection(options, outputs.front(), geometry, labeled, sample);
        detection_totals.add(*sample.detection);
      } else if (!metric_needs_reference(metric)) {
        sample.value = label_metric(options, outputs.front(), labeled.label, sample);
      } else {
        std::vector<Tensor> reference_outputs = run_one(*options.reference, input);
        check(reference_outputs.size() == outputs.size(), "the model has ", outputs.size(),
              " outputs but the reference has ", reference_outputs.size());
        ReferenceSums sums;
        Agreement agreement;
        for (size_t i = 0; i < outputs.size(); ++i) {
          if (metric == MetricKind::kTop1Agreement) {
            const Agreement one = top1_agreement(reference_outputs[i], outputs[i]);
            agreement.agreeing += one.agreeing;
            agreement.rows += one.rows;
          } else {
            sums.add(reference_outputs[i], outputs[i]);
          }
        }
        total_sums.add(sums);
        total_agreement.agreeing += agreement.agreeing;
        total_agreement.rows += agreement.rows;
        if (metric == MetricKind::kSqnr) sample.value = sqnr_db(sums);
        if (metric == MetricKind::kCosine) sample.value = cosine_similarity(sums);
        if (metric == MetricKind::kTop1Agreement)
          sample.value = agreement.rows == 0 ? 1.0 : static_cast<double>(agreement.agreeing) / agreement.rows;
      }
    } catch (const UnsupportedError& error) {
      throw UnsupportedError(concat(labeled.path, ": ", error.what()));
    } catch (const Error& error) {
      const std::string message = error.what();
      // Already named: the sample file (decoding) or the label's line (a malformed det label).
      if (message.starts_with(labeled.path) ||
          (!labeled.label_origin.empty() && message.starts_with(labeled.label_origin)))
        throw;
      throw Error(concat(labeled.path, ": ", error.what()));
    }
    value_sum += sample.value;
    result.per_sample.push_back(std::move(sample));
  }
  const double sample_count = static_cast<double>(result.per_sample.size());
  if (metric == MetricKind::kTextDetHmean) {
    result.detection_totals = detection_totals;
    result.value = dataset_detection_scores(detection_totals).hmean;
  } else if (metric == MetricKind::kSqnr) {
    result.value = sqnr_db(total_sums);
  } else if (metric == MetricKind::kTop1Agreement) {
    result.value =
        total_agreement.rows == 0 ? 1.0 : static_cast<double>(total_agreement.agreeing) / total_agreement.rows;
  } else {
    result.value = sample_count == 0 ? 0.0 : value_sum / sample_count;
  }
  return result;
}

}  // namespace octet
