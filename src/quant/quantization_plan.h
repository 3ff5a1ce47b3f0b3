// Which nodes of an FP32 model get quantized, and where the quantizers go: octet's hardware pattern
// table (POT's "CPU" target device).
//
// The plan is made on the FP32 graph after the standard passes (BatchNorm folded, at opset >= 13):
//   - weighted ops (Conv, ConvTranspose, MatMul, Gemm with a constant float weight) get int8
//     per-channel weights and a quantizer on their activation input; MatMuls of two computed
//     operands (attention) quantize both;
//   - Add of two computed tensors (residual connections) quantizes both inputs, so that int8 flows
//     through the block and a runtime can fuse the Add into the convolution before it;
//   - value-preserving data movement (MaxPool, Reshape, Transpose, Concat, Resize nearest, ...)
//     takes the quantizer of its output on its inputs too (the same scale and zero point), so that
//     it runs on the 8-bit tensor instead of forming a float island.
// Quantizers sit on values and are shared by all quantized consumers of a value; consumers that
// are not quantized keep reading the float value.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace octet {

enum class WeightedOpKind { kConv, kConvTranspose, kMatMul, kGemm };

// A weighted op and where its weight is quantized.
struct QuantizedWeightedOp {
  std::string node_name;
  WeightedOpKind kind = WeightedOpKind::kConv;
  std::string weight;       // the float initializer
  int64_t weight_axis = 0;  // output-channel axis of the weight (per-channel scales)
  std::string bias;         // float initializer added per output channel, or "" (Conv B, Gemm C)
  std::string activation;   // the activation input (input 0)
};

// Values that share one set of quantization parameters (a quantizer). Values tied by
// data movement ops share the parameters so that the op maps 8-bit values to themselves.
struct ActivationQuantizer {
  std::vector<std::string> values;  // sorted
  // Forced symmetric int8: the second operand of an activation x activation MatMul, which
  // runtimes take as the weight side (s8, zero point 0).
  bool signed_symmetric = false;
};

struct QuantizationPlan {
  std::vector<QuantizedWeightedOp> weighted_ops;
  std::vector<ActivationQuantizer> quantizers;
  // For each quantized value (any value of any quantizer), the (node name, input index) edges that
  // read it through its quantizer. Other readers keep the float value.
  std::map<std::string, std::vector<std::pair<std::string, size_t>>> quantized_edges;
  // Nodes working on int8 data (weighted ops, Adds, tied data movement), by name.
  std::set<std::string> quantized_nodes;
  // Compute nodes left in FP32, by name, with the reason.
  std::map<std::string, std::string> kept_fp32;
  // Element-wise activations of a quantized op (node name -> the op's name): FP32 in the QDQ file,
  // fused into the op's int8 kernel by runtimes, so neither quantized nor an FP32 island.
  std::map<std::string, std::string> fused_activations;

  // Index into `quantizers` of the quantizer of `value`, or -1.
  int quantizer_of(const std::string& value) const;
};

struct PlanOptions {
  // Node names or op types excluded from quantization (POT's "ignored" scope).
  std::set<std::string> ignored;
};

// Gives every unnamed node a unique name ("<OpType>_<index>"): plans, reports and --ignore refer to
// nodes by name.
void name_unnamed_nodes(Graph& graph);

// Plans quantization of `graph` (FP32, topologically sorted, every node named). Throws Error naming
// an ignored entry that matches no node name or op type.
QuantizationPlan plan_quantization(const Graph& graph, const PlanOptions& options);

}  // namespace octet
