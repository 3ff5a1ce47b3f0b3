// `octet eval MODEL --dataset DIR --metric NAME [--preprocess SPEC] [--dict FILE] [--reference MODEL]
// [--classes A,B] [--json FILE] [--threads N]`: accuracy of a model on a labeled data set, or its fidelity to a
// reference model (the library does the work: src/eval/evaluate.h).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "eval/evaluate.h"

namespace octet::cli {
namespace {

constexpr const char* kDescription =
    "Measure accuracy on a labeled data set (DIR: .npy samples, or images with --preprocess, + labels.tsv "
    "with name<TAB>label lines), or fidelity to a --reference model. Metrics: top1, top5, ctc-char-accuracy, "
    "ctc-line-accuracy (need --dict; spaces are ignored as in PaddleOCR's RecMetric), sqnr, cosine, "
    "top1-agreement (need --reference), text-det-hmean (DB text detector; labels in PaddleOCR det JSON).";

// Infinity (an exact match in sqnr) is not a JSON number; JSON gets null and the console "inf".
nlohmann::ordered_json json_number(double value) {
  if (std::isfinite(value)) return value;
  return nullptr;
}

std::string formatted(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

class EvalCommand : public Command {
 public:
  explicit EvalCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("eval", kDescription);
    app_->add_option("model", model_path_, "ONNX model file")->required();
    app_->add_option("--dataset", dataset_dir_, "Folder of .npy samples and labels.tsv")->required();
    app_->add_option("--metric", metric_, "Metric name (see above)")->required();
    app_->add_option("--dict", dictionary_path_, "Character dictionary of a CTC recognizer (ppocr_keys_v1.txt)");
    app_->add_option("--reference", reference_path_, "Reference model for sqnr, cosine, top1-agreement");
    app_->add_option("--classes", classes_, "Class names in index order (e.g. 0,180): labels are names, not indices")
        ->delimiter(',');
    app_->add_option("--preprocess", preprocess_,
                     "Samples are images (.png/.jpg/.bmp) preprocessed by SPEC: a preset (ppocr-rec, ppocr-cls, "
                     "ppocr-det, imagenet) and/or items resize=HxW[:keep-ratio-pad]|limit:L:M|short:S, crop=HxW, "
                     "scale=X, mean=A:B:C, std=A:B:C, rgb|bgr, layout=nchw|nhwc (comma-separated)");
    app_->add_option("--json", json_path_, "Also write the value and per-sample values to this JSON file");
    app_->add_option("--threads", threads_, "Threads (default: all cores)")->check(positive_integer());
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    EvalOptions options;
    options.metric = parse_metric_name(metric_);
    options.class_names = classes_;
    check(!metric_needs_dictionary(options.metric) || !dictionary_path_.empty(), "--metric ", metric_,
          " needs --dict FILE (the recognizer's character dictionary)");
    check(!metric_needs_reference(options.metric) || !reference_path_.empty(), "--metric ", metric_,
          " needs --reference MODEL");
    std::unique_ptr<CtcDictionary> dictionary;
    if (metric_needs_dictionary(options.metric)) {
      dictionary = std::make_unique<CtcDictionary>(CtcDictionary::from_file(dictionary_path_));
      options.dictionary = dictionary.get();
    }
    PreprocessSpec preprocess;
    if (!preprocess_.empty()) {
      preprocess = parse_preprocess_spec(preprocess_);
      options.preprocess = &preprocess;
    }
    const LabeledDataset dataset =
        load_labeled_dataset(dataset_dir_, preprocess_.empty() ? SampleFormat::kNpy : SampleFormat::kImage);

    SessionOptions session_options;
    session_options.threads = threads_;
    std::unique_ptr<Session> model =
        with_file_context(model_path_, [&] { return Session::from_file(model_path_, session_options); });
    std::unique_ptr<Session> reference;
    if (metric_needs_reference(options.metric)) {
      reference =
          with_file_context(reference_path_, [&] { return Session::from_file(reference_path_, session_options); });
      options.reference = reference.get();
    }
    const EvalResult result = evaluate(*model, dataset, options);

    std::cout << "model: " << model_path_ << "\n"
              << "dataset: " << dataset_dir_ << " (" << result.per_sample.size() << " samples)\n"
              << result.metric << ": " << formatted(result.value) << (options.metric == MetricKind::kSqnr ? " dB" : "")
              << "\n";
    if (result.detection_totals) {
      const DetectionScores scores = dataset_detection_scores(*result.detection_totals);
      std::cout << "precision: " << formatted(scores.precision) << " recall: " << formatted(scores.recall)
                << " (matched " << result.detection_totals->matched << " of "
                << result.detection_totals->ground_truth_care << " labeled regions, "
                << result.detection_totals->detection_care << " detections)\n";
    }
    if (!json_path_.empty()) {
      write_text_file_atomically(json_path_, result_json(result).dump(2) + "\n");
      std::cout << "results written to " << json_path_ << "\n";
    }
    return kExitSuccess;
  }

 private:
  nlohmann::ordered_json result_json(const EvalResult& result) const {
    nlohmann::ordered_json samples = nlohmann::ordered_json::array();
    for (const SampleResult& sample : result.per_sample) {
      nlohmann::ordered_json entry = {{"name", sample.name}, {"value", json_number(sample.value)}};
      if (metric_needs_dictionary(parse_metric_name(result.metric))) entry["prediction"] = sample.prediction;
      if (sample.detection) add_detection_json(*sample.detection, entry);
      if (sample.detection) entry["boxes"] = boxes_json(sample.boxes);
      samples.push_back(std::move(entry));
    }
    nlohmann::ordered_json json = {{"metric", result.metric}, {"value", json_number(result.value)}};
    if (result.detection_totals) {
      const DetectionScores scores = dataset_detection_scores(*result.detection_totals);
      json["precision"] = scores.precision;
      json["recall"] = scores.recall;
      json["hmean"] = scores.hmean;
      json["ground_truth_care"] = result.detection_totals->ground_truth_care;
      json["detection_care"] = result.detection_totals->detection_care;
      json["matched"] = result.detection_totals->matched;
    }
    json["samples"] = result.per_sample.size();
    json["model"] = model_path_;
    json["dataset"] = dataset_dir_;
    if (!preprocess_.empty()) json["preprocess"] = preprocess_;
    json["per_sample"] = samples;
    return json;
  }

  // Per image, as PaddleOCR's evaluate_image reports it.
  static void add_detection_json(const DetectionCounts& counts, nlohmann::ordered_json& entry) {
    const DetectionScores scores = image_detection_scores(counts);
    entry["precision"] = scores.precision;
    entry["recall"] = scores.recall;
    entry["ground_truth_care"] = counts.ground_truth_care;
    entry["detection_care"] = counts.detection_care;
    entry["matched"] = counts.matched;
  }

  static nlohmann::ordered_json boxes_json(const std::vector<DetectedBox>& boxes) {
    nlohmann::ordered_json json = nlohmann::ordered_json::array();
    for (const DetectedBox& box : boxes) {
      nlohmann::ordered_json points = nlohmann::ordered_json::array();
      for (const Point& point : box.points) points.push_back({point.x, point.y});
      json.push_back({{"points", points}, {"score", box.score}});
    }
    return json;
  }

  CLI::App* app_ = nullptr;
  std::string model_path_;
  std::string dataset_dir_;
  std::string metric_;
  std::string dictionary_path_;
  std::string reference_path_;
  std::vector<std::string> classes_;
  std::string preprocess_;
  std::string json_path_;
  int threads_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_eval_command(CLI::App& parent) { return std::make_unique<EvalCommand>(parent); }

}  // namespace octet::cli
