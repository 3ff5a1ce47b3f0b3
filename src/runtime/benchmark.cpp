#include "runtime/benchmark.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>
#include <cmath>
#include <numeric>
#include <random>

#include "core/float16.h"
#include "runtime/model_stats.h"

namespace octet {
namespace {

constexpr double kPercentile90 = 0.9;
constexpr int64_t kBytesPerKilobyte = 1024;  // Linux reports ru_maxrss in kilobytes

template <typename T, typename Convert>
void fill_uniform(Tensor& tensor, std::mt19937& generator, Convert convert) {
  std::uniform_real_distribution<float> distribution(0.0f, 1.0f);
  T* values = static_cast<T*>(tensor.raw_data());
  for (int64_t i = 0; i < tensor.element_count(); ++i) values[i] = convert(distribution(generator));
}

}  // namespace

LatencySummary summarize_latencies(std::vector<double> latencies_ms) {
  check(!latencies_ms.empty(), "no latencies to summarize");
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const size_t count = latencies_ms.size();
  LatencySummary summary;
  summary.min = latencies_ms.front();
  summary.max = latencies_ms.back();
  summary.median = count % 2 == 1 ? latencies_ms[count / 2]
                                  : (latencies_ms[count / 2 - 1] + latencies_ms[count / 2]) / 2;
  // Nearest rank: the smallest value with at least 90% of the values at or below it.
  const size_t rank = static_cast<size_t>(std::ceil(kPercentile90 * static_cast<double>(count)));
  summary.p90 = latencies_ms[std::max<size_t>(rank, 1) - 1];
  summary.mean = std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) / static_cast<double>(count);
  return summary;
}

int64_t peak_resident_bytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<int64_t>(usage.ru_maxrss) * kBytesPerKilobyte;
}

Tensor random_input_tensor(DataType dtype, const Shape& shape, uint32_t seed) {
  Tensor tensor(dtype, shape);
  std::mt19937 generator(seed);
  switch (dtype) {
    case DataType::kFloat: fill_uniform<float>(tensor, generator, [](float value) { return value; }); break;
    case DataType::kDouble: fill_uniform<double>(tensor, generator, [](float value) { return double{value}; }); break;
    case DataType::kFloat16: fill_uniform<Float16>(tensor, generator, float_to_half); break;
    case DataType::kBfloat16: fill_uniform<Bfloat16>(tensor, generator, float_to_bfloat16); break;
    default: break;  // integers and booleans stay zero: valid as indices, sizes and masks
  }
  return tensor;
}

BenchmarkResult run_benchmark(Session& session, const BenchmarkOptions& options) {
  BenchmarkResult result;
  result.input_shapes = resolve_input_shapes(session.inputs(), options.input_shapes, options.batch, true);
  result.threads = session.thread_count();

  std::vector<Tensor> inputs;
  inputs.reserve(session.inputs().size());
  std::map<std::string, const Tensor*> feeds;
  uint32_t seed = options.seed;
  for (const ValueInfo& input : session.inputs()) {
    const DataType dtype = input.dtype == DataType::kUndefined ? DataType::kFloat : input.dtype;
    try {
      inputs.push_back(random_input_tensor(dtype, result.input_shapes.at(input.name), seed++));
    } catch (const Error& error) {
      throw Error(concat("input '", input.name, "': ", error.what()));
    }
    feeds[input.name] = &inputs.back();
  }
  if (options.batch) {
    result.batch = *options.batch;
  } else if (!inputs.empty() && inputs.front().rank() >= 2) {
    result.batch = inputs.front().dim(0);
  }

  using Clock = std::chrono::steady_clock;
  for (int64_t i = 0; i < options.warmup_iterations; ++i) session.run(feeds);
  result.warmup_iterations = options.warmup_iterations;

  const auto phase_start = Clock::now();
  double elapsed_seconds = 0;
  std::vector<double> node_total_ms;
  while (result.iterations < options.min_iterations || elapsed_seconds < options.min_seconds) {
    const auto start = Clock::now();
    session.run(feeds);
    const auto end = Clock::now();
    const std::vector<double>& node_ms = session.last_node_times_ms();
    node_total_ms.resize(node_ms.size(), 0.0);
    for (size_t i = 0; i < node_ms.size(); ++i) node_total_ms[i] += node_ms[i];
    result.latencies_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    ++result.iterations;
    elapsed_seconds = std::chrono::duration<double>(end - phase_start).count();
  }
  result.total_seconds = elapsed_seconds;
  result.latency_ms = summarize_latencies(result.latencies_ms);
  result.throughput_fps = elapsed_seconds > 0
                              ? static_cast<double>(result.batch * result.iterations) / elapsed_seconds
                              : 0.0;
  result.peak_resident_bytes = peak_resident_bytes();
  result.peak_activation_bytes = session.last_peak_activation_bytes();
  if (!node_total_ms.empty()) {
    const std::vector<std::string> details = session.last_node_details();
    const auto& nodes = session.model().graph.nodes;
    for (size_t i = 0; i < node_total_ms.size(); ++i) {
      const NodePlacement& placement = session.placements()[i];
      const std::string& domain = nodes[i].domain;
      result.node_profile.push_back({placement.node_name.empty() ? nodes[i].outputs[0] : placement.node_name,
                                     domain.empty() ? placement.op_type : domain + "." + placement.op_type,
                                     placement.implementation, details[i],
                                     node_total_ms[i] / static_cast<double>(result.iterations)});
    }
  }
  return result;
}

BenchmarkResult run_benchmark(const std::vector<Session*>& sessions, const BenchmarkOptions& options) {
  check(!sessions.empty(), "no session to benchmark");
  if (sessions.size() == 1) return run_benchmark(*sessions.front(), options);
  // A short latency-mode run of the first session resolves shapes and gives the common fields.
  BenchmarkOptions probe = options;
  probe.min_seconds = 0;
  probe.min_iterations = 1;
  BenchmarkResult result = run_benchmark(*sessions.front(), probe);
  result.streams = static_cast<int>(sessions.size());

  std::vector<std::vector<double>> latencies(sessions.size());
  std::vector<std::exception_ptr> errors(sessions.size());
  using Clock = std::chrono::steady_clock;
  const auto phase_start = Clock::now();
  std::vector<std::thread> workers;
  for (size_t s = 0; s < sessions.size(); ++s) {
    workers.emplace_back([&, s] {
      try {
        std::vector<Tensor> inputs;
        std::map<std::string, const Tensor*> feeds;
        uint32_t seed = options.seed;
        inputs.reserve(sessions[s]->inputs().size());
        for (const ValueInfo& input : sessions[s]->inputs()) {
          const DataType dtype = input.dtype == DataType::kUndefined ? DataType::kFloat : input.dtype;
          inputs.push_back(random_input_tensor(dtype, result.input_shapes.at(input.name), seed++));
          feeds[input.name] = &inputs.back();
        }
        for (int64_t i = 0; i < options.warmup_iterations; ++i) sessions[s]->run(feeds);
        for (;;) {
          const auto start = Clock::now();
          sessions[s]->run(feeds);
          const auto end = Clock::now();
          latencies[s].push_back(std::chrono::duration<double, std::milli>(end - start).count());
          const double elapsed = std::chrono::duration<double>(end - phase_start).count();
          if (elapsed >= options.min_seconds && static_cast<int64_t>(latencies[s].size()) >= options.min_iterations) break;
        }
      } catch (...) {
        errors[s] = std::current_exception();
      }
    });
  }
  for (auto& worker : workers) worker.join();
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
  const double elapsed_seconds = std::chrono::duration<double>(Clock::now() - phase_start).count();
  result.latencies_ms.clear();
  for (const auto& stream_latencies : latencies)
    result.latencies_ms.insert(result.latencies_ms.end(), stream_latencies.begin(), stream_latencies.end());
  result.iterations = static_cast<int64_t>(result.latencies_ms.size());
  result.total_seconds = elapsed_seconds;
  result.latency_ms = summarize_latencies(result.latencies_ms);
  result.throughput_fps = static_cast<double>(result.batch * result.iterations) / elapsed_seconds;
  result.peak_resident_bytes = peak_resident_bytes();
  result.node_profile.clear();
  return result;
}

}  // namespace octet
