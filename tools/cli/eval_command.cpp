// `octet eval MODEL --dataset DIR --metric NAME [--dict FILE] [--reference MODEL] [--classes A,B]
// [--json FILE] [--threads N]`: accuracy of a model on a labeled data set, or its fidelity to a
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
    "Measure accuracy on a labeled data set (DIR: .npy samples + labels.tsv with name<TAB>label lines), "
    "or fidelity to a --reference model. Metrics: top1, top5, ctc-char-accuracy, ctc-line-accuracy "
    "(need --dict; spaces are ignored as in PaddleOCR's RecMetric), sqnr, cosine, top1-agreement "
    "(need --reference). Not yet supported: image samples with --preprocess, text-det-hmean.";

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
    const LabeledDataset dataset = load_labeled_dataset(dataset_dir_);

    SessionOptions session_options;
    session_options.threads = threads_;
    std::unique_ptr<Session> model =
        with_file_context(model_path_, [&] { return Session::from_file(model_path_, session_options); });
    std::unique_ptr<Session> reference;
    if (metric_needs_reference(options.metric)) {
      reference = with_file_context(reference_path_, [&] { return Session::from_file(reference_path_, session_options); });
      options.reference = reference.get();
    }
    const EvalResult result = evaluate(*model, dataset, options);

    std::cout << "model: " << model_path_ << "\n"
              << "dataset: " << dataset_dir_ << " (" << result.per_sample.size() << " samples)\n"
              << result.metric << ": " << formatted(result.value) << (options.metric == MetricKind::kSqnr ? " dB" : "")
              << "\n";
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
      samples.push_back(std::move(entry));
    }
    return {{"metric", result.metric},
            {"value", json_number(result.value)},
            {"samples", result.per_sample.size()},
            {"model", model_path_},
            {"dataset", dataset_dir_},
            {"per_sample", samples}};
  }

  CLI::App* app_ = nullptr;
  std::string model_path_;
  std::string dataset_dir_;
  std::string metric_;
  std::string dictionary_path_;
  std::string reference_path_;
  std::vector<std::string> classes_;
  std::string json_path_;
  int threads_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_eval_command(CLI::App& parent) { return std::make_unique<EvalCommand>(parent); }

}  // namespace octet::cli
