// What a model contains and costs: the facts `octet inspect` prints and the workbench shows.
//
// compute_model_stats() reads a loaded Model (it never modifies it) and reports its inputs and
// outputs, op histogram, parameter count, multiply-accumulate count (MACs) of the compute-heavy
// ops, which nodes the quantizer can handle, and which ops no built-in kernel implements.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "octet/tensor.h"

namespace octet {

// Concrete shapes for the model's inputs. `overrides` maps input names to shapes (NAME=1x3x224x224
// on the command line); `batch`, when set, replaces dimension 0 of every input of rank >= 1.
// An input without an override takes its declared shape, which must then be fully known.
// Throws Error naming the input for an override of an unknown input or of the wrong rank, and,
// when `require_all` is set, for an input whose declared shape has unknown dimensions (the message
// says how to give the shape). With `require_all` unset such inputs are left out of the result.
std::map<std::string, Shape> resolve_input_shapes(const std::vector<ValueInfo>& inputs,
                                                  const std::map<std::string, Shape>& overrides,
                                                  std::optional<int64_t> batch, bool require_all);

// Multiply-accumulates of one node for the given shapes, or nullopt when the op is not one of the
// counted ones (Conv, ConvTranspose, MatMul, Gemm) or a needed shape is missing. `input_shapes`
// and `output_shape` hold the node's actual shapes (an empty optional for an unknown one).
// Additions of a bias are not counted.
std::optional<int64_t> node_macs(const Node& node, const std::vector<std::optional<Shape>>& input_shapes,
                                 const std::optional<Shape>& output_shape);
// Whether node_macs() counts this op.
bool counts_macs(const Node& node);

// Whether the quantizer handles the node: Conv, ConvTranspose, MatMul or Gemm whose weight (input 1)
// is a constant (an initializer or the output of a Constant node).
bool is_quantizable(const Node& node, const Graph& graph);

struct NodeMacs {
  std::string node_name;
  std::string op_type;
  int64_t macs = 0;
};

struct QuantizableNode {
  std::string node_name;
  std::string op_type;
  std::string weight_name;
};

// An op (domain + type) that cannot run, with the nodes using it and why.
struct UnsupportedOp {
  std::string domain;  // "" for ai.onnx
  std::string op_type;
  std::vector<std::string> node_names;
  std::string reason;  // the first node's reason: no kernel, or every candidate declined
};

struct ModelStats {
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::map<std::string, int64_t> opset_imports;  // "" = ai.onnx -> version
  int64_t node_count = 0;
  std::map<std::string, int64_t> op_histogram;  // "Conv", or "domain.Op" outside ai.onnx

  // Parameters: initializers plus the tensors of Constant nodes (some exporters, e.g. paddle2onnx,
  // store every weight as a Constant node).
  int64_t initializer_count = 0;
  int64_t constant_node_count = 0;  // Constant nodes holding a tensor ("value")
  int64_t parameter_count = 0;      // elements of those tensors
  int64_t parameter_bytes = 0;      // their storage size

  // MACs. `macs_complete` is true when every counted node's shapes were known; otherwise
  // `total_macs` covers only the nodes in `node_macs` and `macs_note` says why the rest is missing.
  std::map<std::string, Shape> mac_input_shapes;  // the input shapes the counts refer to
  std::string shape_source;                       // "inference run" or "ONNX shape inference"
  bool macs_complete = false;
  int64_t total_macs = 0;
  std::map<std::string, int64_t> macs_by_op;
  std::vector<NodeMacs> node_macs;  // in node order, counted nodes only
  std::string macs_note;

  // Largest total of intermediate tensors alive at once in one optimized inference at
  // mac_input_shapes (what the runtime allocates beyond weights); -1 when no run was possible.
  int64_t peak_activation_bytes = -1;

  std::vector<QuantizableNode> quantizable_nodes;
  std::vector<UnsupportedOp> unsupported_ops;
  // Per node (in order): the implementation that would run it, "" when none accepts it.
  std::map<std::string, int64_t> implementation_histogram;  // "reference" -> node count
};

struct ModelStatsOptions {
  std::map<std::string, Shape> input_shapes;  // overrides of the declared input shapes
  int threads = 0;                            // for the shape-recording inference run; <= 0: all cores
};

// Computes the statistics. The MAC count needs concrete shapes: they come from ONNX shape
// inference recorded at load time when it covers every counted node at the declared input shapes,
// otherwise from one inference on zero-filled inputs of the resolved shapes (unoptimized graph).
// An input whose only unknown dimension is the first (a dynamic batch) and has no override is taken
// with batch 1, and macs_note says so. If the run is impossible (an unsupported op, other dynamic
// dims without an override), the counts are partial and macs_note says why. Throws Error only for
// bad `options.input_shapes`.
ModelStats compute_model_stats(const Model& model, const ModelStatsOptions& options = {});

}  // namespace octet
