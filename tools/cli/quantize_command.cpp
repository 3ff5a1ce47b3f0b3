// `octet quantize MODEL -o OUT.onnx --data DIR [--subset N] [--preset performance|mixed]
// [--ignore NODE_OR_OPTYPE ...] [--config FILE.json] [--range-estimator NAME] [--no-bias-correction]
// [--threads N]`: DefaultQuantization (the library does the work: src/quant/quantize.h).
// `--algorithm accuracy-aware --eval-dataset DIR --metric NAME [--dict FILE] [--classes A,B]
// [--max-drop D] [--drop-type absolute|relative] [--ranking-subset N] [--max-iterations N]
// [--tune-hyperparams] [--report FILE.json]`: AccuracyAwareQuantization (src/quant/accuracy_aware.h).
// A budget that cannot be met is not an error: the best model found is written, exit code 0, and
// the summary, a warning line on stderr and the report (budget_met false) say so.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "eval_setup.h"
#include "onnx/onnx_io.h"
#include "quant/accuracy_aware.h"
#include "quant/quantize.h"
#include "quant/quantize_config.h"

namespace octet::cli {
namespace {

constexpr const char* kDescription =
    "Quantize an FP32 ONNX model to INT8 (QDQ form, int8 per-channel weights) with POT's "
    "DefaultQuantization, calibrated on a folder of .npy samples (one per file, sorted by name). "
    "With --algorithm accuracy-aware (POT's AccuracyAwareQuantization), quantized groups return to FP32, "
    "the most harmful first, until the drop of --metric on --eval-dataset holds --max-drop; when no "
    "model holds it, the best one found is written (exit 0) and a warning says so.";

constexpr const char* kDefaultAlgorithm = "default";
constexpr const char* kAccuracyAwareAlgorithm = "accuracy-aware";

// Progress on stderr: a bar redrawn in place on a terminal, a line every 10% otherwise (logs).
class ProgressPrinter {
 public:
  ProgressPrinter() : interactive_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

  void update(const std::string& stage, size_t done, size_t total) {
    if (stage != stage_) {
      stage_ = stage;
      next_logged_percent_ = 0;
    }
    const double elapsed = seconds_since(start_);
    const double remaining = done ? elapsed / static_cast<double>(done) * static_cast<double>(total - done) : 0.0;
    constexpr int kBarWidth = 30;
    const int filled = static_cast<int>(kBarWidth * done / std::max<size_t>(total, 1));
    const int percent = static_cast<int>(100 * done / std::max<size_t>(total, 1));
    if (!interactive_ && percent < next_logged_percent_ && done != total) return;
    next_logged_percent_ = percent / 10 * 10 + 10;
    std::fprintf(stderr, "%s%s [%s%s] %zu/%zu  %.0fs elapsed, ETA %.0fs%s", interactive_ ? "\r" : "", stage.c_str(),
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(kBarWidth - filled), ' ').c_str(), done, total, elapsed, remaining,
                 interactive_ && done != total ? "" : "\n");
    std::fflush(stderr);
    bar_open_ = interactive_ && done != total;
  }

  // Ends a bar left unfinished on the terminal, before another line goes to stderr.
  void end_line() {
    if (bar_open_) std::fprintf(stderr, "\n");
    bar_open_ = false;
  }

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  bool interactive_;
  std::chrono::steady_clock::time_point start_;
  std::string stage_;
  int next_logged_percent_ = 0;
  bool bar_open_ = false;
};

// "Conv x52, MatMul x8"
std::string op_type_counts(const std::vector<std::string>& described_nodes) {
  std::map<std::string, int> counts;
  for (const std::string& node : described_nodes) {
    const size_t open = node.rfind('(');
    counts[open == std::string::npos ? node : node.substr(open + 1, node.size() - open - 2)]++;
  }
  std::string text;
  for (const auto& [op_type, count] : counts) text += concat(text.empty() ? "" : ", ", op_type, " x", count);
  return text;
}

// Runs parse(), prefixing an error with the option it came from.
template <typename Parse>
auto with_option(const std::string& option, Parse&& parse) {
  try {
    return parse();
  } catch (const Error& error) {
    throw Error(concat(option, ": ", error.what()));
  }
}

class QuantizeCommand : public Command {
 public:
  explicit QuantizeCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("quantize", kDescription);
    app_->add_option("model", model_path_, "FP32 ONNX model file")->required();
    app_->add_option("-o,--output", output_path_, "Where to write the INT8 model (.onnx)")->required();
    app_->add_option("--data", data_dir_, "Folder of calibration samples (.npy, one per file; or images with --preprocess)")
        ->required();
    app_->add_option("--preprocess", preprocess_,
                     "Image preprocessing: a preset (ppocr-rec, ppocr-cls, ppocr-det, imagenet) and/or items such as "
                     "resize=48x320:keep-ratio-pad,mean=0.5:0.5:0.5,std=0.5:0.5:0.5,bgr");
    app_->add_option("--subset", subset_, "Number of calibration samples used (default 300, POT's stat_subset_size)")
        ->check(positive_integer());
    app_->add_option("--preset", preset_, "performance (symmetric activations, default) or mixed (asymmetric)");
    app_->add_option("--ignore", ignored_, "Node name or op type to keep in FP32 (repeatable)");
    app_->add_option("--config", config_path_, "POT-style JSON configuration (command-line options override it)");
    app_->add_option("--range-estimator", estimator_,
                     "Activation range estimator: min_max, mean_min_max, performance, quantile, mse");
    app_->add_flag("--no-bias-correction", no_bias_correction_, "Skip FastBiasCorrection");
    app_->add_flag("--bias-correction", bias_correction_,
                   "Also run BiasCorrection (slower, measures each layer's output mean through the INT8 model)");
    app_->add_flag("--channel-alignment", channel_alignment_, "Run ActivationChannelAlignment first (POT)");
    app_->add_option("--model-type", model_type_, "transformer: SmoothQuant for MatMul inputs (NNCF)");
    app_->add_option("--threads", threads_, "Threads (default: all cores)")->check(positive_integer());
    app_->add_option("--algorithm", algorithm_,
                     "default (DefaultQuantization) or accuracy-aware (AccuracyAwareQuantization: the options below)");
    app_->add_option("--eval-dataset", eval_dataset_,
                     "accuracy-aware: labeled evaluation set (samples as for --data, with --preprocess for images, "
                     "+ labels.tsv, as octet eval --dataset)");
    app_->add_option("--metric", metric_,
                     "accuracy-aware: top1, top5, ctc-char-accuracy, ctc-line-accuracy (need --dict), text-det-hmean");
    app_->add_option("--dict", dictionary_path_, "accuracy-aware: character dictionary of a CTC recognizer");
    app_->add_option("--classes", classes_, "accuracy-aware: class names in index order (e.g. 0,180)")->delimiter(',');
    app_->add_option("--max-drop", max_drop_,
                     "accuracy-aware: the budget, the largest metric drop allowed (default 0.01, POT's maximal_drop)");
    app_->add_option("--drop-type", drop_type_, "accuracy-aware: absolute (default) or relative (x the FP32 metric)");
    app_->add_option("--ranking-subset", ranking_subset_,
                     "accuracy-aware: samples ranking the groups, the worst first (default 300)")
        ->check(positive_integer());
    app_->add_option("--max-iterations", max_iterations_,
                     "accuracy-aware: groups returned to FP32 at most (default: no limit)")
        ->check(positive_integer());
    app_->add_flag("--tune-hyperparams", tune_hyperparams_,
                   "accuracy-aware: try the other presets and range estimators before returning groups to FP32");
    app_->add_option("--report", report_path_, "accuracy-aware: write the iterations and the result as JSON");
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    const auto start = std::chrono::steady_clock::now();
    QuantizeOptions options;
    int64_t subset = kDefaultCalibrationSubsetSize;
    QuantizeConfig config;
    if (!config_path_.empty()) {
      config = load_quantize_config(config_path_);
      if (config.preset) options.preset = *config.preset;
      if (config.subset_size) subset = *config.subset_size;
      options.ignored = config.ignored;
      options.activation_estimator = config.activation_estimator;
      if (config.fast_bias_correction) options.fast_bias_correction = *config.fast_bias_correction;
      options.model_type = config.model_type;
    }
    const bool accuracy_aware = accuracy_aware_requested(config);
    if (!preset_.empty()) options.preset = with_option("--preset", [&] { return parse_preset(preset_); });
    if (!estimator_.empty())
      options.activation_estimator = with_option("--range-estimator", [&] { return parse_range_estimator(estimator_); });
    if (subset_ > 0) subset = subset_;
    options.ignored.insert(ignored_.begin(), ignored_.end());
    if (no_bias_correction_) options.fast_bias_correction = false;
    if (channel_alignment_) options.channel_alignment = true;
    if (bias_correction_) options.bias_correction = true;
    if (!model_type_.empty()) options.model_type = model_type_;
    options.threads = threads_;
    ProgressPrinter progress;
    options.progress = [&](const std::string& stage, size_t done, size_t total) { progress.update(stage, done, total); };

    check(std::filesystem::path(output_path_).extension() == ".onnx", "--output '", output_path_,
          "' must end in .onnx");
    Model model = with_file_context(model_path_, [&] { return load_model(model_path_); });
    const CalibrationData data = preprocess_.empty() ? CalibrationData(data_dir_, subset)
                                                     : CalibrationData(data_dir_, subset, preprocess_);
    if (accuracy_aware) {
      AccuracyAwareOptions accuracy_aware_options = accuracy_aware_settings(config);
      accuracy_aware_options.quantize = options;
      accuracy_aware_options.progress = options.progress;
      return run_accuracy_aware(std::move(model), data, accuracy_aware_options, progress, start);
    }
    QuantizeSummary summary;
    Model quantized = with_file_context(model_path_, [&] { return quantize_model(std::move(model), data, options, &summary); });
    save_model(quantized, output_path_);
    print_summary(summary, ProgressPrinter::seconds_since(start));
    return kExitSuccess;
  }

 private:
  // The options that only AccuracyAwareQuantization takes.
  std::vector<std::string> accuracy_aware_options_given() const {
    std::vector<std::string> given;
    for (const char* option : {"--eval-dataset", "--metric", "--dict", "--classes", "--max-drop", "--drop-type",
                               "--ranking-subset", "--max-iterations", "--tune-hyperparams", "--report"})
      if (app_->count(option) > 0) given.push_back(option);
    return given;
  }

  // Which algorithm runs (--algorithm over the configuration file's), with the option checks that
  // need no file.
  bool accuracy_aware_requested(const QuantizeConfig& config) const {
    const bool config_accuracy_aware = config.algorithm == kAccuracyAwareQuantizationName;
    bool accuracy_aware = config_accuracy_aware;
    if (!algorithm_.empty()) {
      check(algorithm_ == kDefaultAlgorithm || algorithm_ == kAccuracyAwareAlgorithm, "--algorithm: unknown algorithm '",
            algorithm_, "' (expected ", kDefaultAlgorithm, " or ", kAccuracyAwareAlgorithm, ")");
      accuracy_aware = algorithm_ == kAccuracyAwareAlgorithm;
      check(accuracy_aware || !config_accuracy_aware, "--algorithm ", kDefaultAlgorithm, ": the configuration file '",
            config_path_, "' sets up ", kAccuracyAwareQuantizationName);
    }
    if (!accuracy_aware) {
      const std::vector<std::string> given = accuracy_aware_options_given();
      check(given.empty(), given.empty() ? "" : given.front(), " needs --algorithm ", kAccuracyAwareAlgorithm);
      return false;
    }
    check(!eval_dataset_.empty(), "--algorithm ", kAccuracyAwareAlgorithm,
          " needs --eval-dataset DIR (a labeled evaluation set)");
    check(!metric_.empty(), "--algorithm ", kAccuracyAwareAlgorithm, " needs --metric NAME");
    if (app_->count("--max-drop") > 0)
      check(std::isfinite(max_drop_), "--max-drop: '", max_drop_, "' is not a finite number");
    check(drop_type_.empty() || drop_type_ == "absolute" || drop_type_ == "relative", "--drop-type: unknown drop type '",
          drop_type_, "' (expected absolute or relative)");
    if (!report_path_.empty()) {
      const std::filesystem::path parent = std::filesystem::path(report_path_).parent_path();
      check(parent.empty() || std::filesystem::is_directory(parent), "--report '", report_path_, "': folder '",
            parent.string(), "' does not exist");
    }
    return true;
  }

  // The configuration file's AccuracyAwareQuantization parameters, overridden by the options.
  AccuracyAwareOptions accuracy_aware_settings(const QuantizeConfig& config) const {
    AccuracyAwareOptions settings;
    if (config.max_drop) settings.max_drop = *config.max_drop;
    if (config.relative_drop) settings.relative_drop = *config.relative_drop;
    if (config.ranking_subset_size) settings.ranking_subset_size = static_cast<size_t>(*config.ranking_subset_size);
    if (config.max_iterations) settings.max_iterations = static_cast<int>(*config.max_iterations);
    if (config.tune_hyperparams) settings.tune_hyperparams = *config.tune_hyperparams;
    if (app_->count("--max-drop") > 0) settings.max_drop = max_drop_;
    if (!drop_type_.empty()) settings.relative_drop = drop_type_ == "relative";
    if (ranking_subset_ > 0) settings.ranking_subset_size = static_cast<size_t>(ranking_subset_);
    if (max_iterations_ > 0) settings.max_iterations = max_iterations_;
    if (tune_hyperparams_) settings.tune_hyperparams = true;
    return settings;
  }

  int run_accuracy_aware(Model model, const CalibrationData& data, AccuracyAwareOptions options,
                         ProgressPrinter& progress, std::chrono::steady_clock::time_point start) const {
    EvalSetupOptions eval_setup_options;
    eval_setup_options.dataset_dir = eval_dataset_;
    eval_setup_options.dataset_option = "--eval-dataset";
    eval_setup_options.metric = metric_;
    eval_setup_options.dictionary_path = dictionary_path_;
    eval_setup_options.classes = classes_;
    eval_setup_options.preprocess = preprocess_;
    const EvalSetup eval_setup(eval_setup_options);
    check(!metric_needs_reference(eval_setup.options().metric), "--metric ", metric_,
          ": accuracy-aware quantization needs a label metric (top1, top5, ctc-char-accuracy, ctc-line-accuracy, "
          "text-det-hmean)");
    size_t step = 0;
    options.on_iteration = [&](const AccuracyAwareIteration& iteration) {
      progress.end_line();
      std::fprintf(stderr, "accuracy-aware step %zu: %s\n", step++, iteration_text(iteration).c_str());
      std::fflush(stderr);
    };
    AccuracyAwareResult result = with_file_context(model_path_, [&] {
      return quantize_accuracy_aware(std::move(model), data, eval_setup.dataset(), eval_setup.options(), options);
    });
    save_model(result.model, output_path_);
    print_accuracy_aware(result, eval_setup.dataset().samples.size(), options);
    print_summary(result.summary, ProgressPrinter::seconds_since(start));
    if (!report_path_.empty()) {
      nlohmann::ordered_json report = accuracy_aware_report_json(result);
      report["model"] = model_path_;
      report["output"] = output_path_;
      report["calibration"] = data_dir_;
      report["calibration_samples"] = data.size();
      report["eval_dataset"] = eval_dataset_;
      report["eval_samples"] = eval_setup.dataset().samples.size();
      report["max_drop"] = options.max_drop;
      report["drop_type"] = options.relative_drop ? "relative" : "absolute";
      report["ranking_subset_size"] = options.ranking_subset_size;
      write_text_file_atomically(report_path_, report.dump(2) + "\n");
      std::cout << "report written to " << report_path_ << "\n";
    }
    progress.end_line();
    if (!result.budget_met) std::fprintf(stderr, "octet: warning: %s\n", result.message.c_str());
    return kExitSuccess;
  }

  // "revert 'conv_3': ctc-char-accuracy 0.93, drop 0.0042, 4.12 ms, kept"
  static std::string iteration_text(const AccuracyAwareIteration& iteration) {
    char numbers[96];
    std::snprintf(numbers, sizeof numbers, "metric %.6g, drop %.6g, %.2f ms", iteration.metric, iteration.drop,
                  iteration.latency_ms);
    std::string text = iteration.kind;
    if (!iteration.group.empty()) text += iteration.kind == "tune" ? " (" + iteration.group + ")" : " '" + iteration.group + "'";
    return concat(text, ": ", numbers, ", ", iteration.kept ? "kept" : "undone");
  }

  void print_accuracy_aware(const AccuracyAwareResult& result, size_t samples, const AccuracyAwareOptions& options) const {
    char line[256];
    std::cout << "accuracy-aware quantization: " << result.metric_name << " on " << eval_dataset_ << " (" << samples
              << " samples), budget: drop <= " << format_value(result.budget)
              << (options.relative_drop ? concat(" (", format_value(options.max_drop), " x FP32)") : std::string())
              << "\n";
    std::snprintf(line, sizeof line, "FP32: %s %.6g, latency %.2f ms\n", result.metric_name.c_str(), result.fp32_metric,
                  result.fp32_latency_ms);
    std::cout << line;
    std::snprintf(line, sizeof line, "%4s  %-10s  %-10s  %-10s  %10s  %-6s  %s\n", "step", "kind", "metric", "drop",
                  "latency ms", "result", "group / settings");
    std::cout << line;
    for (size_t i = 0; i < result.iterations.size(); ++i) {
      const AccuracyAwareIteration& iteration = result.iterations[i];
      std::snprintf(line, sizeof line, "%4zu  %-10s  %-10.6g  %-10.6g  %10.2f  %-6s  ", i, iteration.kind.c_str(),
                    iteration.metric, iteration.drop, iteration.latency_ms, iteration.kept ? "kept" : "undone");
      std::cout << line << iteration.group << "\n";
    }
    std::cout << "groups in FP32: " << result.fp32_groups.size() << " of " << result.group_count;
    for (size_t i = 0; i < result.fp32_groups.size(); ++i) std::cout << (i ? ", " : ": ") << result.fp32_groups[i];
    std::cout << "\nsettings: " << result.settings << "\n";
    std::snprintf(line, sizeof line, "result: %s %.6g (FP32 %.6g, DefaultQuantization %.6g), drop %.6g: budget %s\n",
                  result.metric_name.c_str(), result.metric, result.fp32_metric, result.default_metric, result.drop,
                  result.budget_met ? "met" : "not met");
    std::cout << line;
    const double default_latency = result.iterations.empty() ? 0.0 : result.iterations.front().latency_ms;
    std::snprintf(line, sizeof line,
                  "latency on one sample (median of short runs): FP32 %.2f ms, DefaultQuantization %.2f ms, "
                  "result %.2f ms (%.2fx faster than FP32)\n",
                  result.fp32_latency_ms, default_latency, result.latency_ms,
                  result.latency_ms > 0 ? result.fp32_latency_ms / result.latency_ms : 0.0);
    std::cout << line << result.message << "\n";
  }

  static std::string format_value(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", value);
    return buffer;
  }

  void print_summary(const QuantizeSummary& summary, double seconds) const {
    const auto size_before = static_cast<int64_t>(std::filesystem::file_size(model_path_));
    const auto size_after = static_cast<int64_t>(std::filesystem::file_size(output_path_));
    std::cout << "quantized model: " << output_path_ << "\n"
              << "calibration samples: " << summary.calibration_samples << " from " << data_dir_ << "\n"
              << "nodes quantized: " << summary.quantized_nodes.size() << " (" << op_type_counts(summary.quantized_nodes)
              << ")\n";
    if (!summary.fused_activations.empty()) {
      std::cout << "activations fused into quantized ops: " << summary.fused_activations.size() << " ("
                << op_type_counts(summary.fused_activations) << ")\n";
    }
    std::map<std::string, std::vector<std::string>> by_reason;
    for (const auto& [node, reason] : summary.fp32_nodes) by_reason[reason].push_back(node);
    std::cout << "nodes kept in FP32: " << summary.fp32_nodes.size() << "\n";
    for (const auto& [reason, nodes] : by_reason) {
      std::cout << "  " << reason << ": " << op_type_counts(nodes) << "\n";
      constexpr size_t kListedNodes = 8;
      for (size_t i = 0; i < nodes.size() && i < kListedNodes; ++i) std::cout << "    " << nodes[i] << "\n";
      if (nodes.size() > kListedNodes) std::cout << "    ... and " << nodes.size() - kListedNodes << " more\n";
    }
    for (const std::string& note : summary.notes) std::cout << note << "\n";
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.1f%%", 100.0 * static_cast<double>(size_after) / static_cast<double>(size_before));
    std::cout << "file size: " << format_bytes(size_before) << " -> " << format_bytes(size_after) << " (" << ratio
              << ")\n";
    char time[32];
    std::snprintf(time, sizeof time, "%.1f s", seconds);
    std::cout << "time: " << time << "\n";
  }

  CLI::App* app_ = nullptr;
  std::string model_path_;
  std::string output_path_;
  std::string data_dir_;
  int64_t subset_ = 0;
  std::string preset_;
  std::vector<std::string> ignored_;
  std::string config_path_;
  std::string preprocess_;
  std::string estimator_;
  bool no_bias_correction_ = false;
  bool channel_alignment_ = false;
  bool bias_correction_ = false;
  std::string model_type_;
  int threads_ = 0;
  std::string algorithm_;
  std::string eval_dataset_;
  std::string metric_;
  std::string dictionary_path_;
  std::vector<std::string> classes_;
  double max_drop_ = 0.0;
  std::string drop_type_;
  int64_t ranking_subset_ = 0;
  int max_iterations_ = 0;
  bool tune_hyperparams_ = false;
  std::string report_path_;
};

}  // namespace

std::unique_ptr<Command> make_quantize_command(CLI::App& parent) { return std::make_unique<QuantizeCommand>(parent); }

}  // namespace octet::cli
