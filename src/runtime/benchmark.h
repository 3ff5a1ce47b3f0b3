// Latency and throughput measurement of a session, as OpenVINO's benchmark_app does it: random
// inputs of concrete shapes, a few warm-up inferences, then timed inferences until a time budget
// (and a minimum iteration count) is reached. Used by `octet bench` and the workbench.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "octet/tensor.h"
#include "runtime/session.h"

namespace octet {

struct BenchmarkOptions {
  std::map<std::string, Shape> input_shapes;  // overrides of declared input shapes (see resolve_input_shapes)
  std::optional<int64_t> batch;               // replaces dimension 0 of every input
  double min_seconds = 10.0;                  // timed phase lasts at least this long...
  int64_t min_iterations = 10;                // ...and at least this many inferences
  int64_t warmup_iterations = 2;              // untimed inferences first (caches, lazy allocations)
  uint32_t seed = 0;                          // for the random input data
};

// Summary of per-inference latencies, in milliseconds.
struct LatencySummary {
  double median = 0;
  double p90 = 0;  // nearest-rank 90th percentile
  double min = 0;
  double max = 0;
  double mean = 0;
};

// Where time goes: one entry per node of the optimized graph, from sessions created with
// SessionOptions::profile.
struct NodeProfile {
  std::string node_name;
  std::string op_type;         // "FusedConv", "octet.Swish" style for octet-domain ops
  std::string implementation;  // "dnnl", "reference"
  std::string detail;          // the kernel that ran, e.g. "brgconv:avx512_core" or a fallback reason
  double mean_ms = 0;          // mean over the timed inferences
};

struct BenchmarkResult {
  std::map<std::string, Shape> input_shapes;  // the shapes actually run
  int threads = 0;   // per stream
  int streams = 1;   // parallel inference requests
  int64_t batch = 1;  // samples per inference: dimension 0 of the first input (1 for rank < 2)
  int64_t warmup_iterations = 0;
  int64_t iterations = 0;     // timed inferences
  double total_seconds = 0;   // wall time of the timed phase
  LatencySummary latency_ms;
  double throughput_fps = 0;  // batch * iterations / total_seconds
  int64_t peak_resident_bytes = 0;    // of the whole process (getrusage)
  int64_t peak_activation_bytes = 0;  // intermediate tensors alive at once during the last inference
  std::vector<double> latencies_ms;  // every timed inference, in run order
  std::vector<NodeProfile> node_profile;  // empty unless the session profiles
};

// Summarizes latencies (any order). Throws Error for an empty list.
LatencySummary summarize_latencies(std::vector<double> latencies_ms);

// Peak resident set size of this process so far (getrusage), in bytes.
int64_t peak_resident_bytes();

// A tensor of random values: floats uniform in [0, 1), integers and booleans zero (so that inputs
// used as indices or sizes stay valid). Deterministic for a given seed.
Tensor random_input_tensor(DataType dtype, const Shape& shape, uint32_t seed);

// Benchmarks `session`. Throws Error naming the input when a shape cannot be resolved (a dynamic
// dimension without an override), and whatever the session throws for a failing inference.
BenchmarkResult run_benchmark(Session& session, const BenchmarkOptions& options);

// Throughput mode (OpenVINO benchmark_app's streams): each session runs inferences on its own
// thread, all at once, until the time budget is spent. Latencies are per inference across all
// streams; throughput counts every stream's inferences. One session is the latency mode above.
BenchmarkResult run_benchmark(const std::vector<Session*>& sessions, const BenchmarkOptions& options);

}  // namespace octet
