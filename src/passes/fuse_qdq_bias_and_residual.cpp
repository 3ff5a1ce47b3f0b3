// fuse_qdq_bias_and_residual: puts two QDQ patterns into the float form fuse_post_ops absorbs, so
// that fuse_post_ops (run again after this pass) and then fuse_qdq find one node per quantized op.
// It only rewrites ops whose operands fuse_qdq will quantize (quantized_compute_operands).
//
// Residual Add fed by a quantized Conv or MatMul through its own Q/DQ pair:
//   before:  Conv -> y -> Q(s1, z1) -> DQ(s1, z1) -> Add(., DQ(r)) -> Relu -> Q(s2, z2)
//   after:   Conv -> y -> Add(., DQ(r)) -> Relu -> Q(s2, z2)
//   then fuse_post_ops:  FusedConv(post_ops [sum, relu]; sum input DQ(r)) -> Q(s2, z2)
//   then fuse_qdq:       QFusedConv(Sum = r in 8 bits, y quantized with s2, z2)
// This skips one intermediate rounding: y is no longer rounded to a multiple of s1 (nor clamped to
// Q(s1, z1)'s range) before the Add, as in oneDNN's int8 sum post-op, which adds the residual to the
// unrounded result. The fused value moves by at most s1 / 2 before its final quantization. The Q/DQ
// pair must feed only that Add and the Add's operands must have the same declared shape.
//
// MatMul bias dequantized from int32 (fold_constants keeps DQ of constants; fuse_post_ops only takes
// float constant biases):
//   before:  MatMul(DQ(a), DQ(W)) -> Add(., DQ(B int32 [N]))
//   after:   FusedMatMul(DQ(a), DQ(W), DQ(B int32 [N]))
#include "passes/fuse_qdq_operands.h"
#include "passes/fusion_passes.h"

namespace octet {
namespace {

constexpr size_t kMatMulBiasInput = 2;

// The Add reading `y` through a Q/DQ pair that nothing else reads, and the two nodes of the pair.
struct RequantizedResidual {
  size_t quantize_node;
  size_t dequantize_node;
  size_t add_node;
};

std::optional<RequantizedResidual> requantized_residual(const Graph& graph, const GraphIndex& index,
                                                        const std::string& y) {
  const std::optional<size_t> quantize_node = index.sole_consumer(graph, y);
  if (!quantize_node) return std::nullopt;
  const Node& quantize = graph.nodes[*quantize_node];
  if (!is_op(quantize, "QuantizeLinear") || quantize.input(0) != y) return std::nullopt;
  const std::optional<size_t> dequantize_node = index.sole_consumer(graph, quantize.outputs[0]);
  if (!dequantize_node) return std::nullopt;
  const std::optional<DequantizedValue> dequantized =
      dequantized_value(graph, index, graph.nodes[*dequantize_node].outputs[0]);
  const std::optional<TensorQuantization> quantization = per_tensor_quantization(graph, quantize);
  if (!dequantized || !quantization || !dequantized->quantization.same_parameters(*quantization)) return std::nullopt;
  const std::string& dequantized_name = graph.nodes[*dequantize_node].outputs[0];
  const std::optional<size_t> add_node = index.sole_consumer(graph, dequantized_name);
  if (!add_node) return std::nullopt;
  const Node& add = graph.nodes[*add_node];
  const std::string other = other_input(add, dequantized_name);
  if (!is_op(add, "Add") || add.outputs.size() != 1 || other.empty() || other == dequantized_name ||
      graph.find_initializer(other) || !same_shape_declared(graph, y, other))
    return std::nullopt;
  return RequantizedResidual{*quantize_node, *dequantize_node, *add_node};
}

bool has_sum(const Node& node) {
  if (node.domain != kOctetDomain) return false;
  for (const auto& post_op : read_post_ops(node))
    if (post_op.kind == PostOpKind::kSum) return true;
  return false;
}

bool is_matmul(const Node& node) {
  return is_op(node, "MatMul") || (node.domain == kOctetDomain && node.op_type == "FusedMatMul");
}

// Rewires the residual Add to read the quantized op's output `y` itself and removes the Q/DQ pair,
// which nothing else reads.
bool skip_residual_requantization(Graph& graph, const GraphIndex& index, size_t producer_index) {
  const Node& producer = graph.nodes[producer_index];
  const bool is_conv = is_op(producer, "Conv") || (producer.domain == kOctetDomain && producer.op_type == "FusedConv");
  if ((!is_conv && !is_matmul(producer)) || has_sum(producer)) return false;
  if (!quantized_compute_operands(graph, index, producer)) return false;
  const std::string y = producer.outputs[0];
  const std::optional<RequantizedResidual> residual = requantized_residual(graph, index, y);
  if (!residual) return false;
  Node& add = graph.nodes[residual->add_node];
  for (auto& input : add.inputs)
    if (input == graph.nodes[residual->dequantize_node].outputs[0]) input = y;
  std::vector<bool> removed(graph.nodes.size(), false);
  removed[residual->quantize_node] = removed[residual->dequantize_node] = true;
  erase_flagged_nodes(graph, removed);
  return true;
}

// MatMul -> Add(DQ(int32 bias)) into FusedMatMul with the bias at input 2 (the Add's place and output).
bool absorb_dequantized_matmul_bias(Graph& graph, const GraphIndex& index, size_t matmul_index) {
  const Node& matmul = graph.nodes[matmul_index];
  if (!is_op(matmul, "MatMul")) return false;
  const std::optional<QuantizedComputeOperands> operands = quantized_compute_operands(graph, index, matmul);
  if (!operands) return false;
  const std::string y = matmul.outputs[0];
  const std::optional<size_t> add_index = index.sole_consumer(graph, y);
  if (!add_index) return false;
  const Node& add = graph.nodes[*add_index];
  const std::string bias = other_input(add, y);
  if (!is_op(add, "Add") || add.outputs.size() != 1 || bias.empty() || bias == y) return false;
  const std::optional<ConstantBias> constant = constant_bias(graph, index, bias);
  if (!constant || constant->int32_name.empty() || constant->shape.size() != 1) return false;
  if (operands->channels >= 0 && constant->shape[0] != operands->channels) return false;

  Node fused = matmul;
  fused.domain = kOctetDomain;
  fused.op_type = "FusedMatMul";
  write_post_ops(fused, {});
  fused.inputs.resize(kMatMulBiasInput + 1);
  fused.inputs[kMatMulBiasInput] = bias;
  fused.outputs[0] = add.outputs[0];
  graph.nodes[*add_index] = std::move(fused);  // the Add's place: every input is defined before it
  std::vector<bool> removed(graph.nodes.size(), false);
  removed[matmul_index] = true;
  erase_flagged_nodes(graph, removed);
  return true;
}

}  // namespace

bool fuse_qdq_bias_and_residual(Model& model, const PassContext&) {
  Graph& graph = model.graph;
  bool changed = false;
  for (bool rewrote = true; rewrote;) {
    rewrote = false;
    const GraphIndex index(graph);
    for (size_t i = 0; i < graph.nodes.size() && !rewrote; ++i)
      rewrote = absorb_dequantized_matmul_bias(graph, index, i) || skip_residual_requantization(graph, index, i);
    changed = changed || rewrote;
  }
  return changed;
}

}  // namespace octet
