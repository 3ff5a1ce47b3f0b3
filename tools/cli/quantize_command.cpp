// `octet quantize MODEL -o OUT.onnx --data DIR [--subset N] [--preset performance|mixed]
// [--ignore NODE_OR_OPTYPE ...] [--config FILE.json] [--range-estimator NAME] [--no-bias-correction]
// [--threads N]`: DefaultQuantization (the library does the work: src/quant/quantize.h).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli_util.h"
#include "commands.h"
#include "onnx/onnx_io.h"
#include "quant/quantize.h"
#include "quant/quantize_config.h"

namespace octet::cli {
namespace {

constexpr const char* kDescription =
    "Quantize an FP32 ONNX model to INT8 (QDQ form, int8 per-channel weights) with POT's "
    "DefaultQuantization, calibrated on a folder of .npy samples (one per file, sorted by name).";

// Progress on stderr: a bar redrawn in place on a terminal, a line every 10% otherwise (logs).
class ProgressPrinter {
 public:
  ProgressPrinter() : interactive_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

  void update(const std::string& stage, size_t done, size_t total) {
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
  }

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  bool interactive_;
  std::chrono::steady_clock::time_point start_;
  int next_logged_percent_ = 0;
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
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    const auto start = std::chrono::steady_clock::now();
    QuantizeOptions options;
    int64_t subset = kDefaultCalibrationSubsetSize;
    if (!config_path_.empty()) {
      const QuantizeConfig config = load_quantize_config(config_path_);
      if (config.preset) options.preset = *config.preset;
      if (config.subset_size) subset = *config.subset_size;
      options.ignored = config.ignored;
      options.activation_estimator = config.activation_estimator;
      if (config.fast_bias_correction) options.fast_bias_correction = *config.fast_bias_correction;
      options.model_type = config.model_type;
    }
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
    QuantizeSummary summary;
    Model quantized = with_file_context(model_path_, [&] { return quantize_model(std::move(model), data, options, &summary); });
    save_model(quantized, output_path_);
    print_summary(summary, ProgressPrinter::seconds_since(start));
    return kExitSuccess;
  }

 private:
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
};

}  // namespace

std::unique_ptr<Command> make_quantize_command(CLI::App& parent) { return std::make_unique<QuantizeCommand>(parent); }

}  // namespace octet::cli
