// `octet bench MODEL [--shape NAME=DIMS ...] [--threads N] [--time SEC] [--batch N] [--json FILE]`:
// latency and throughput, as OpenVINO's benchmark_app reports them.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "runtime/benchmark.h"

namespace octet::cli {
namespace {

constexpr double kDefaultSeconds = 10.0;

std::string milliseconds(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", value);
  return buffer;
}

nlohmann::ordered_json result_json(const std::string& model_path, const BenchmarkResult& result) {
  nlohmann::ordered_json inputs = nlohmann::ordered_json::object();
  for (const auto& [name, shape] : result.input_shapes) inputs[name] = shape;
  return {{"model", model_path},
          {"input_shapes", inputs},
          {"threads", result.threads},
          {"batch", result.batch},
          {"warmup_iterations", result.warmup_iterations},
          {"iterations", result.iterations},
          {"total_seconds", result.total_seconds},
          {"latency_ms",
           {{"median", result.latency_ms.median},
            {"p90", result.latency_ms.p90},
            {"min", result.latency_ms.min},
            {"max", result.latency_ms.max},
            {"mean", result.latency_ms.mean}}},
          {"throughput_fps", result.throughput_fps},
          {"peak_resident_bytes", result.peak_resident_bytes},
          {"peak_activation_bytes", result.peak_activation_bytes}};
}

class BenchCommand : public Command {
 public:
  explicit BenchCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("bench", "Measure latency and throughput on random inputs");
    app_->add_option("model", model_path_, "ONNX model file")->required();
    app_->add_option("--shape", shape_values_, "Input shape NAME=1x3x224x224 (repeatable; needed for dynamic dims)")
        ->allow_extra_args(false);
    app_->add_option("--threads", threads_, "Threads (default: all cores)")->check(positive_integer());
    app_->add_option("--time", seconds_, "Seconds of timed inferences (at least 10 inferences run)")
        ->capture_default_str()
        ->check(positive_number());
    app_->add_option("--batch", batch_, "Batch size: replaces dimension 0 of every input")
        ->check(positive_integer());
    app_->add_option("--json", json_path_, "Also write the results to this JSON file");
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    BenchmarkOptions options;
    options.input_shapes = parse_shape_options(shape_values_);
    if (batch_ > 0) options.batch = batch_;
    options.min_seconds = seconds_;
    SessionOptions session_options;
    session_options.threads = threads_;
    std::unique_ptr<Session> session =
        with_file_context(model_path_, [&] { return Session::from_file(model_path_, session_options); });
    const BenchmarkResult result = with_file_context(model_path_, [&] { return run_benchmark(*session, options); });

    std::cout << "model: " << model_path_ << "\n"
              << "inputs: " << format_shapes(result.input_shapes) << "\n"
              << "threads: " << result.threads << ", batch: " << result.batch << "\n"
              << "warm-up: " << result.warmup_iterations << " inferences; timed: " << result.iterations
              << " inferences in " << result.total_seconds << " s\n"
              << "latency (ms): median " << milliseconds(result.latency_ms.median) << ", p90 "
              << milliseconds(result.latency_ms.p90) << ", min " << milliseconds(result.latency_ms.min) << ", mean "
              << milliseconds(result.latency_ms.mean) << ", max " << milliseconds(result.latency_ms.max) << "\n"
              << "throughput: " << result.throughput_fps << " fps\n"
              << "peak memory: " << format_bytes(result.peak_resident_bytes) << " resident, "
              << format_bytes(result.peak_activation_bytes) << " of activations\n";
    if (!json_path_.empty()) {
      write_text_file_atomically(json_path_, result_json(model_path_, result).dump(2) + "\n");
      std::cout << "results written to " << json_path_ << "\n";
    }
    return kExitSuccess;
  }

 private:
  CLI::App* app_ = nullptr;
  std::string model_path_;
  std::vector<std::string> shape_values_;
  int threads_ = 0;
  double seconds_ = kDefaultSeconds;
  int64_t batch_ = 0;
  std::string json_path_;
};

}  // namespace

std::unique_ptr<Command> make_bench_command(CLI::App& parent) { return std::make_unique<BenchCommand>(parent); }

}  // namespace octet::cli
