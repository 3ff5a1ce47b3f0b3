// `octet bench MODEL [--shape NAME=DIMS ...] [--threads N] [--time SEC] [--batch N] [--json FILE]`:
// latency and throughput, as OpenVINO's benchmark_app reports them.
#include <algorithm>
#include <cstdio>
#include <map>
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

// Per-node and per-op-type time, sorted by time, with each node's kernel and share of the total.
void print_profile(const std::vector<NodeProfile>& profile) {
  double total = 0;
  for (const auto& node : profile) total += node.mean_ms;
  if (total <= 0) return;
  std::map<std::string, std::pair<double, int>> by_op;
  for (const auto& node : profile) {
    by_op[node.op_type].first += node.mean_ms;
    ++by_op[node.op_type].second;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> ops(by_op.begin(), by_op.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::printf("\nper op type (mean ms per inference, share of node time %.3f ms):\n", total);
  for (const auto& [op, entry] : ops)
    std::printf("  %-28s %4d nodes %9.3f ms %6.1f%%\n", op.c_str(), entry.second, entry.first, 100.0 * entry.first / total);
  std::vector<const NodeProfile*> sorted;
  for (const auto& node : profile) sorted.push_back(&node);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->mean_ms > b->mean_ms; });
  std::printf("\nper node (slowest first):\n");
  for (const NodeProfile* node : sorted) {
    const std::string kernel = node->detail.empty() ? node->implementation : node->implementation + " " + node->detail;
    std::printf("  %9.3f ms %6.1f%%  %-22s %-40s %s\n", node->mean_ms, 100.0 * node->mean_ms / total,
                node->op_type.c_str(), node->node_name.substr(0, 40).c_str(), kernel.c_str());
  }
}

nlohmann::ordered_json profile_json(const std::vector<NodeProfile>& profile) {
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (const auto& node : profile) {
    nodes.push_back({{"node", node.node_name},
                     {"op_type", node.op_type},
                     {"implementation", node.implementation},
                     {"kernel", node.detail},
                     {"mean_ms", node.mean_ms}});
  }
  return nodes;
}

nlohmann::ordered_json result_json(const std::string& model_path, const BenchmarkResult& result) {
  nlohmann::ordered_json inputs = nlohmann::ordered_json::object();
  for (const auto& [name, shape] : result.input_shapes) inputs[name] = shape;
  nlohmann::ordered_json json = {{"model", model_path},
          {"input_shapes", inputs},
          {"threads", result.threads},
          {"streams", result.streams},
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
  if (!result.node_profile.empty()) json["profile"] = profile_json(result.node_profile);
  return json;
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
    app_->add_option("--streams", streams_, "Parallel inference requests (throughput mode); threads are split among them")
        ->check(positive_integer());
    app_->add_flag("--profile", profile_, "Time every node: per-node and per-op-type table with the kernel that ran");
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    BenchmarkOptions options;
    options.input_shapes = parse_shape_options(shape_values_);
    if (batch_ > 0) options.batch = batch_;
    options.min_seconds = seconds_;
    SessionOptions session_options;
    const int total_threads = threads_ > 0 ? threads_ : ThreadPool::core_count();
    check(streams_ <= total_threads, "--streams ", streams_, " exceeds the ", total_threads, " threads");
    session_options.threads = total_threads / streams_;
    session_options.profile = profile_ && streams_ == 1;
    std::vector<std::unique_ptr<Session>> sessions;
    std::vector<Session*> session_pointers;
    for (int s = 0; s < streams_; ++s) {
      sessions.push_back(
          with_file_context(model_path_, [&] { return Session::from_file(model_path_, session_options); }));
      session_pointers.push_back(sessions.back().get());
    }
    const BenchmarkResult result =
        with_file_context(model_path_, [&] { return run_benchmark(session_pointers, options); });

    std::cout << "model: " << model_path_ << "\n"
              << "inputs: " << format_shapes(result.input_shapes) << "\n"
              << "threads: " << result.threads << (streams_ > 1 ? " per stream, streams: " + std::to_string(streams_) : "")
              << ", batch: " << result.batch << "\n"
              << "warm-up: " << result.warmup_iterations << " inferences; timed: " << result.iterations
              << " inferences in " << result.total_seconds << " s\n"
              << "latency (ms): median " << milliseconds(result.latency_ms.median) << ", p90 "
              << milliseconds(result.latency_ms.p90) << ", min " << milliseconds(result.latency_ms.min) << ", mean "
              << milliseconds(result.latency_ms.mean) << ", max " << milliseconds(result.latency_ms.max) << "\n"
              << "throughput: " << result.throughput_fps << " fps\n"
              << "peak memory: " << format_bytes(result.peak_resident_bytes) << " resident, "
              << format_bytes(result.peak_activation_bytes) << " of activations\n";
    if (profile_) print_profile(result.node_profile);
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
  bool profile_ = false;
  int streams_ = 1;
};

}  // namespace

std::unique_ptr<Command> make_bench_command(CLI::App& parent) { return std::make_unique<BenchCommand>(parent); }

}  // namespace octet::cli
