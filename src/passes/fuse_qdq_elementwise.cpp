// fuse_qdq_elementwise: in QDQ models, absorbs the DequantizeLinear before and the QuantizeLinear
// after the element-wise ops that stay float (fuse_qdq turned the quantized compute ops into int8
// nodes already), so that their float operands and results are never written out in full:
//
// 1. Add / Mul (multidirectional broadcasting, e.g. an SE block's [N, C, H, W] x [N, C, 1, 1]), with
//    a following Relu taken as a post-op when it is the result's only reader:
//      before:  aq -> DQ(sa, za) -> a ─┐
//               bq -> DQ(sb, zb) -> b ─┴─ Add -> y [-> Relu -> r] -> Q(sy, zy) -> yq
//      after:   QBinary(aq, sa, za, bq, sb, zb, sy, zy; operation Add [, post_ops relu]) -> yq
//    Each operand's DQ is absorbed when it has per-tensor 8-bit parameters (it stays for its other
//    readers); an operand without one is read as float (scale and zero point omitted). The Q is
//    absorbed when it is the result's only reader; otherwise the QBinary writes the float result:
//      before:  conv (float) ─┐
//               se  (float) ──┴─ Mul -> y -> Q(sy, zy) -> yq     after:  QBinary(conv, , , se, , , sy, zy; Mul) -> yq
//      before:  aq -> DQ -> a ─┐
//               b (float) ─────┴─ Add -> y -> (float readers)    after:  QBinary(aq, sa, za, b, , ; Add) -> y
//    At least one Q or DQ must be absorbed, else the op is left as it is.
//
// 2. GlobalAveragePool / AveragePool (kept attributes), the same way for its one input and output:
//      before:  xq -> DQ(sx, zx) -> x -> GlobalAveragePool -> y -> Q(sy, zy) -> yq
//      after:   QPool(xq, sx, zx, sy, zy; operation GlobalAveragePool) -> yq
//
// Both are exact: QBinary and QPool compute the QDQ graph's float arithmetic element by element
// (kernels/quantized_ops.h). A non-quantized operand must be float: a value declared with another
// type is left alone (and the kernels reject one at run time, naming the node). Dead DQ nodes are
// left to remove_dead_nodes.
#include <algorithm>
#include <optional>
#include <utility>

#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"
#include "passes/fuse_qdq_operands.h"
#include "passes/fusion_passes.h"

namespace octet {
namespace {

constexpr size_t kBinaryInputCount = kQBinaryYZeroPoint + 1;
constexpr size_t kPoolInputCount = kQPoolYZeroPoint + 1;

// False when the graph declares `value_name` with a type other than float.
bool may_be_float(const Graph& graph, const std::string& value_name) {
  const std::optional<ValueInfo> info = graph.find_value_info(value_name);
  return !info || info->dtype == DataType::kUndefined || info->dtype == DataType::kFloat;
}

// The QuantizeLinear that is `value_name`'s only reader, with per-tensor 8-bit parameters.
std::optional<std::pair<size_t, TensorQuantization>> sole_quantize_consumer(const Graph& graph, const GraphIndex& index,
                                                                            const std::string& value_name) {
  const std::optional<size_t> consumer = index.sole_consumer(graph, value_name);
  if (!consumer) return std::nullopt;
  const Node& node = graph.nodes[*consumer];
  if (!is_op(node, "QuantizeLinear") || node.input(0) != value_name) return std::nullopt;
  const std::optional<TensorQuantization> quantization = per_tensor_quantization(graph, node);
  if (!quantization) return std::nullopt;
  return std::make_pair(*consumer, *quantization);
}

// Writes one operand into `inputs` at value_position (and its scale and zero point after it):
// the quantized value when `value_name` is a per-tensor DQ's output, else the float value itself.
// Returns whether a DQ was absorbed; nullopt when the operand cannot be read.
std::optional<bool> place_operand(Graph& graph, const GraphIndex& index, UniqueNamer& namer,
                                  const std::string& value_name, std::vector<std::string>& inputs,
                                  size_t value_position) {
  if (const std::optional<DequantizedValue> dequantized = dequantized_value(graph, index, value_name)) {
    inputs[value_position] = dequantized->quantized;
    inputs[value_position + 1] = scalar_initializer(graph, namer, dequantized->quantization.scale_name);
    inputs[value_position + 2] = scalar_initializer(graph, namer, dequantized->quantization.zero_point_name);
    return true;
  }
  if (!may_be_float(graph, value_name)) return std::nullopt;
  inputs[value_position] = value_name;
  return false;
}

// The output quantization inputs (y_scale, y_zero_point) of an absorbed Q.
void place_output_quantization(Graph& graph, UniqueNamer& namer, const TensorQuantization& quantization,
                               const std::string& base_name, std::vector<std::string>& inputs, size_t scale_position) {
  inputs[scale_position] = scalar_initializer(graph, namer, quantization.scale_name);
  inputs[scale_position + 1] = quantization.zero_point_name.empty()
                                   ? add_initializer(graph, namer, base_name + "_zero_point", Tensor::scalar<uint8_t>(0))
                                   : scalar_initializer(graph, namer, quantization.zero_point_name);
}

// The end of an element-wise op's chain: its result, or the Relu that alone reads it (when
// `allow_relu`), then the Q that alone reads that. Flags the absorbed nodes in `removed`.
struct ChainEnd {
  std::string output;                         // the value the fused node writes
  std::optional<TensorQuantization> quantization;  // of the absorbed Q
  bool relu = false;
};
ChainEnd chain_end(const Graph& graph, const GraphIndex& index, const std::string& result, bool allow_relu,
                   std::vector<bool>& removed) {
  ChainEnd end{result, std::nullopt, false};
  if (allow_relu) {
    const std::optional<size_t> consumer = index.sole_consumer(graph, result);
    if (consumer && is_op(graph.nodes[*consumer], "Relu") && graph.nodes[*consumer].outputs.size() == 1) {
      end.relu = true;
      end.output = graph.nodes[*consumer].outputs[0];
      removed[*consumer] = true;
    }
  }
  if (const auto quantize = sole_quantize_consumer(graph, index, end.output)) {
    end.quantization = quantize->second;
    end.output = graph.nodes[quantize->first].outputs[0];
    removed[quantize->first] = true;
  }
  return end;
}

// Rule 1 for graph.nodes[node_index]; false (graph unchanged) when a precondition fails.
bool quantize_binary_node(Graph& graph, const GraphIndex& index, UniqueNamer& namer, size_t node_index) {
  const Node& node = graph.nodes[node_index];
  if (!(is_op(node, "Add") || is_op(node, "Mul")) || node.inputs.size() != 2 || node.outputs.size() != 1) return false;
  // Check before adding any initializer, so that a declined pattern leaves the graph as it was.
  const bool a_dequantized = dequantized_value(graph, index, node.input(0)).has_value();
  const bool b_dequantized = dequantized_value(graph, index, node.input(1)).has_value();
  if ((!a_dequantized && !may_be_float(graph, node.input(0))) || (!b_dequantized && !may_be_float(graph, node.input(1))))
    return false;
  std::vector<bool> removed(graph.nodes.size(), false);
  const ChainEnd end = chain_end(graph, index, node.outputs[0], /*allow_relu=*/true, removed);
  if (!a_dequantized && !b_dequantized && !end.quantization) return false;

  Node fused;
  fused.name = node.name;
  fused.domain = kOctetDomain;
  fused.op_type = kQuantizedBinary;
  Attribute operation;
  operation.name = "operation";
  operation.type = AttributeType::kString;
  operation.s = node.op_type;
  fused.attributes.push_back(std::move(operation));
  if (end.relu) write_post_ops(fused, {PostOp{PostOpKind::kRelu, 0, 0}});
  fused.inputs.assign(kBinaryInputCount, "");
  place_operand(graph, index, namer, node.input(0), fused.inputs, kQBinaryA);
  place_operand(graph, index, namer, node.input(1), fused.inputs, kQBinaryB);
  if (end.quantization)
    place_output_quantization(graph, namer, *end.quantization, end.output, fused.inputs, kQBinaryYScale);
  while (!fused.inputs.empty() && fused.inputs.back().empty()) fused.inputs.pop_back();
  fused.outputs = {end.output};
  graph.nodes[node_index] = std::move(fused);  // before the Relu and Q: their readers all come later
  erase_flagged_nodes(graph, removed);
  return true;
}

// Rule 2 for graph.nodes[node_index].
bool quantize_pool_node(Graph& graph, const GraphIndex& index, UniqueNamer& namer, size_t node_index) {
  const Node& node = graph.nodes[node_index];
  if (!(is_op(node, "GlobalAveragePool") || is_op(node, "AveragePool")) || node.inputs.size() != 1 ||
      node.outputs.size() != 1)
    return false;
  const bool x_dequantized = dequantized_value(graph, index, node.input(0)).has_value();
  if (!x_dequantized && !may_be_float(graph, node.input(0))) return false;
  std::vector<bool> removed(graph.nodes.size(), false);
  const ChainEnd end = chain_end(graph, index, node.outputs[0], /*allow_relu=*/false, removed);
  if (!x_dequantized && !end.quantization) return false;

  Node fused;
  fused.name = node.name;
  fused.domain = kOctetDomain;
  fused.op_type = kQuantizedPool;
  fused.attributes = node.attributes;
  Attribute operation;
  operation.name = "operation";
  operation.type = AttributeType::kString;
  operation.s = node.op_type;
  fused.attributes.push_back(std::move(operation));
  fused.inputs.assign(kPoolInputCount, "");
  place_operand(graph, index, namer, node.input(0), fused.inputs, kQPoolX);
  if (end.quantization)
    place_output_quantization(graph, namer, *end.quantization, end.output, fused.inputs, kQPoolYScale);
  while (!fused.inputs.empty() && fused.inputs.back().empty()) fused.inputs.pop_back();
  fused.outputs = {end.output};
  graph.nodes[node_index] = std::move(fused);
  erase_flagged_nodes(graph, removed);
  return true;
}

}  // namespace

bool fuse_qdq_elementwise(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  UniqueNamer namer(graph);
  bool changed = false;
  // Each rewrite removes nodes, so the index is rebuilt after each one.
  for (bool rewrote = true; rewrote;) {
    rewrote = false;
    const GraphIndex index(graph);
    for (size_t i = 0; i < graph.nodes.size() && !rewrote; ++i)
      rewrote = quantize_binary_node(graph, index, namer, i) || quantize_pool_node(graph, index, namer, i);
    changed = changed || rewrote;
  }
  return changed;
}

}  // namespace octet
