// A Session runs one model: it optimizes the graph, picks a kernel per node once, and then runs
// inferences for any input shapes the model allows.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "ir/graph.h"
#include "kernels/kernel.h"
#include "octet/tensor.h"

namespace octet {

// Called after each node runs, with its inputs and outputs (borrowed for the call): for
// calibration statistics and shape recording. Outputs may be channels-last (Tensor::layout()).
using NodeObserver =
    std::function<void(const Node& node, std::span<const Tensor* const> inputs, std::span<const Tensor> outputs)>;

struct SessionOptions {
  int threads = 0;        // <= 0: one per core
  bool optimize = true;   // run the default graph passes
  bool profile = false;   // record per-node wall time
  // "" picks the best implementation per node; "reference" restricts to the reference kernels.
  std::string implementation;
  NodeObserver node_observer;  // optional
};

// Where one node runs and why other candidates declined.
struct NodePlacement {
  std::string node_name;
  std::string op_type;
  std::string implementation;
  std::vector<std::string> declined_reasons;
};

class Session {
 public:
  // Takes the model by value: the session optimizes its own copy.
  explicit Session(Model model, const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Loads and prepares a model file. Throws Error naming the file on any problem.
  static std::unique_ptr<Session> from_file(const std::string& path, const SessionOptions& options = {});

  const Model& model() const { return model_; }
  const std::vector<ValueInfo>& inputs() const { return model_.graph.inputs; }
  const std::vector<ValueInfo>& outputs() const { return model_.graph.outputs; }
  const std::vector<NodePlacement>& placements() const { return placements_; }
  const std::vector<std::string>& applied_passes() const { return applied_passes_; }
  int thread_count() const { return threads_.thread_count(); }

  // Runs one inference. `feeds` maps input names to tensors (borrowed for the call). Returns the
  // graph outputs in declaration order. Throws Error for a missing, unknown or mismatching input
  // (wrong type, rank, or a fixed dimension that differs), naming it.
  std::vector<Tensor> run(const std::map<std::string, const Tensor*>& feeds);

  // Wall time per node (milliseconds) of the last run, in node order; empty unless options.profile.
  const std::vector<double>& last_node_times_ms() const { return node_times_ms_; }
  // The kernel detail per node of the last run (e.g. "brgconv:avx512_core", "reference fallback: ...").
  std::vector<std::string> last_node_details() const;
  // Largest total size of intermediate tensors alive at once during the last run, in bytes
  // (graph inputs and initializers excluded).
  int64_t last_peak_activation_bytes() const { return peak_activation_bytes_; }

 private:
  struct Step;
  void validate_feed(const ValueInfo& declared, const Tensor& tensor) const;

  Model model_;
  SessionOptions options_;
  ThreadPool threads_;
  std::vector<Step> steps_;
  std::vector<NodePlacement> placements_;
  std::vector<std::string> applied_passes_;
  std::map<std::string, size_t> slot_of_value_;
  size_t slot_count_ = 0;
  std::vector<size_t> input_slots_;
  std::vector<size_t> output_slots_;
  std::vector<double> node_times_ms_;
  int64_t peak_activation_bytes_ = 0;
};

}  // namespace octet
