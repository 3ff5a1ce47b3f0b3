// fuse_qdq: runs a QDQ model's quantized ops in int8, so that activations stay 8-bit from one
// quantized op to the next. Three rewrites, in this order (fuse_qdq_bias_and_residual and
// fuse_post_ops have already folded biases, activations and residual Adds into Fused nodes):
//
// 1. Quantized compute: Conv, ConvTranspose, MatMul, Gemm or their Fused forms with quantized
//    operands (quantized_compute_operands) become QFusedConv / QFusedConvTranspose / QFusedMatMul
//    (quantized_ops.h):
//      before:  xq -> DQ(sx, zx) -> x        Wq (int8) -> DQ(sw[M], 0) -> W      Bq (int32) -> DQ(sx * sw) -> B
//               FusedConv(x, W, B, DQ(rq; sr, zr); post_ops [sum, relu]) -> y -> Q(sy, zy) -> yq
//      after:   QFusedConv(xq, sx, zx, Wq, sw, Bq, rq, sr, zr, sy, zy; post_ops [sum, relu]) -> yq
//    The Q is absorbed when it is y's only reader (per tensor); otherwise the node writes float y.
//    A bias whose scales are not exactly float(sx * sw[m]), or a float one, is requantized to
//    int32 with those scales (saturate_to_int32). A sum operand that is not a per-tensor 8-bit DQ
//    output stays a float Sum. Gemm: transB = 1 weights are transposed to [K, N], alpha is folded
//    into sw and beta into the bias. MatMul's W may be a run-time int8 value with zero point 0
//    (attention: both operands computed). ConvTranspose (W int8 [C_in, C_out, k...], per-channel
//    scales along axis 1, as octet's quantizer writes them) takes the same inputs:
//      before:  DQ(xq) -> FusedConvTranspose(x, DQ(Wq; axis 1), DQ(Bq); post_ops [relu]) -> Q(sy, zy) -> yq
//      after:   QFusedConvTranspose(xq, sx, zx, Wq, sw, Bq, sy, zy; post_ops [relu]) -> yq
//    (the PP-OCR detector's DB head; its final Sigmoid fuses the same way, with a float output).
//
// 2. Data movement between a DQ and a Q with equal parameters runs on the 8-bit tensor:
//      before:  aq -> DQ(s, z) -> MaxPool -> Q(s, z) -> bq      after:  aq -> MaxPool -> bq
//    Exact: these ops copy or select elements (MaxPool selects the largest, and dequantization with
//    a positive scale is monotonic), and Q(DQ(q)) = q for every 8-bit q, since (q - z) * s / s lies
//    within a few float ulps of the integer q - z. The DQ stays for its other readers, which still
//    see the same values. Every output must be read only by such a Q.
//
// 3. A DequantizeLinear of constants that nothing absorbed is folded into a float initializer (as
//    fold_constants folds other constant nodes), so that the float op reading it does not
//    dequantize on every run:
//      before:  Wq (int8) -> DQ -> W -> ConvTranspose          after:  W (float initializer) -> ConvTranspose
//
// Whatever else stays (QuantizeLinear before a float op, DequantizeLinear after one) remains as
// standalone nodes, visible in profiles. Dead DQ nodes are left to remove_dead_nodes.
#include <algorithm>
#include <set>

#include "core/thread_pool.h"
#include "kernels/quantized_ops.h"
#include "passes/fuse_qdq_operands.h"
#include "passes/fusion_passes.h"

namespace octet {
namespace {

constexpr size_t kFusedSumInput = 3;  // FusedConv, FusedMatMul, FusedGemm: the "sum" post-op's operand
constexpr size_t kQuantizedInputCount = kQInputYZeroPoint + 1;

// Conv / ConvTranspose attributes QFusedConv / QFusedConvTranspose keep (the post-op attributes are rewritten).
const std::set<std::string> kConvAttributes = {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"};
const std::set<std::string> kConvTransposeAttributes = {"kernel_shape", "strides",        "pads",    "dilations",
                                                        "group",        "output_padding", "auto_pad"};

// Folded constants are computed by the reference kernels, as in fold_constants.
const std::string kFoldingImplementation = "reference";

bool has_sum(const std::vector<PostOp>& post_ops) {
  return std::any_of(post_ops.begin(), post_ops.end(), [](const PostOp& op) { return op.kind == PostOpKind::kSum; });
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

// [N, K] int8 -> [K, N].
Tensor transposed_weights(const Tensor& weights) {
  const int64_t rows = weights.dim(0);
  const int64_t columns = weights.dim(1);
  Tensor transposed(DataType::kInt8, {columns, rows});
  const int8_t* src = weights.data<int8_t>();
  int8_t* dst = transposed.data<int8_t>();
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t column = 0; column < columns; ++column) dst[column * rows + row] = src[row * columns + column];
  return transposed;
}

// The zero point initializer of a quantization, a new uint8 zero when the Q omitted it.
std::string zero_point_initializer(Graph& graph, UniqueNamer& namer, const TensorQuantization& quantization,
                                   const std::string& base_name) {
  if (!quantization.zero_point_name.empty()) return scalar_initializer(graph, namer, quantization.zero_point_name);
  return add_initializer(graph, namer, base_name, Tensor::scalar<uint8_t>(0));
}

// Rule 1 for graph.nodes[node_index]; false (graph unchanged) when a precondition fails.
bool quantize_compute_node(Graph& graph, const GraphIndex& index, UniqueNamer& namer, size_t node_index) {
  const std::optional<QuantizedComputeOperands> operands = quantized_compute_operands(graph, index, graph.nodes[node_index]);
  if (!operands) return false;
  const Node node = graph.nodes[node_index];
  const std::vector<PostOp> post_ops = node.domain == kOctetDomain ? read_post_ops(node) : std::vector<PostOp>{};
  if (has_sum(post_ops) && !node.has_input(kFusedSumInput)) return false;
  const std::string& y = node.outputs[0];
  const auto output_quantize = sole_quantize_consumer(graph, index, y);

  Node fused;
  fused.name = node.name;
  fused.domain = kOctetDomain;
  fused.op_type = operands->is_conv_transpose ? kQuantizedFusedConvTranspose
                  : operands->is_conv         ? kQuantizedFusedConv
                                              : kQuantizedFusedMatMul;
  const std::set<std::string>& kept_attributes = operands->is_conv_transpose ? kConvTransposeAttributes : kConvAttributes;
  if (operands->is_conv)
    for (const auto& attribute : node.attributes)
      if (kept_attributes.count(attribute.name)) fused.attributes.push_back(attribute);
  write_post_ops(fused, post_ops);
  std::vector<std::string>& inputs = fused.inputs;
  inputs.assign(kQuantizedInputCount, "");

  const TensorQuantization& x = operands->x.quantization;
  inputs[kQInputX] = operands->x.quantized;
  inputs[kQInputXScale] = scalar_initializer(graph, namer, x.scale_name);
  inputs[kQInputXZeroPoint] = scalar_initializer(graph, namer, x.zero_point_name);

  const SymmetricWeights& w = operands->w;
  inputs[kQInputW] = operands->transpose_weights
                         ? add_initializer(graph, namer, w.quantized + "_transposed", transposed_weights(*w.constant))
                         : w.quantized;
  std::vector<float> weight_scales = w.scales;
  for (float& scale : weight_scales) scale *= operands->weight_factor;
  if (operands->weight_factor != 1.0f) {
    const Shape shape = weight_scales.size() == 1 ? Shape{} : Shape{static_cast<int64_t>(weight_scales.size())};
    inputs[kQInputWScale] = add_initializer(graph, namer, w.scale_name + "_alpha", Tensor::from_vector(shape, weight_scales));
  } else {
    inputs[kQInputWScale] = weight_scales.size() == 1 ? scalar_initializer(graph, namer, w.scale_name) : w.scale_name;
  }

  if (operands->bias) {
    std::vector<float> multipliers;  // the contract's float(x_scale * w_scale[m])
    for (float scale : weight_scales) multipliers.push_back(x.scale * scale);
    inputs[kQInputBias] =
        accumulator_bias(graph, namer, *operands->bias, multipliers, operands->bias_factor, node.name + "_bias_int32");
  }

  if (has_sum(post_ops)) {
    const std::string& sum = node.input(kFusedSumInput);
    if (const std::optional<DequantizedValue> dequantized = dequantized_value(graph, index, sum)) {
      inputs[kQInputSum] = dequantized->quantized;
      inputs[kQInputSumScale] = scalar_initializer(graph, namer, dequantized->quantization.scale_name);
      inputs[kQInputSumZeroPoint] = scalar_initializer(graph, namer, dequantized->quantization.zero_point_name);
    } else {
      inputs[kQInputSum] = sum;
    }
  }

  fused.outputs = {y};
  std::vector<bool> removed(graph.nodes.size(), false);
  if (output_quantize) {
    const auto& [quantize_index, y_quantization] = *output_quantize;
    inputs[kQInputYScale] = scalar_initializer(graph, namer, y_quantization.scale_name);
    inputs[kQInputYZeroPoint] = zero_point_initializer(graph, namer, y_quantization, y + "_zero_point");
    fused.outputs = {graph.nodes[quantize_index].outputs[0]};
    removed[quantize_index] = true;
  }
  while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  graph.nodes[node_index] = std::move(fused);  // before the Q: the Q's readers all come later
  erase_flagged_nodes(graph, removed);
  return true;
}

// Rule 2: ops that only copy, move or select elements, so that they compute the same on 8-bit values.
bool is_data_movement(const Node& node) {
  static const std::set<std::string> kOps = {"MaxPool", "Resize",    "Reshape", "Transpose", "Flatten",
                                             "Squeeze", "Unsqueeze", "Slice",   "Concat",    "Split"};
  if (!node.domain.empty() || !kOps.count(node.op_type)) return false;
  if (node.op_type == "MaxPool") return node.outputs.size() == 1;  // no Indices output
  if (node.op_type == "Resize") {
    // Nearest picks input elements. tf_crop_and_resize would write extrapolation_value, a real
    // number, into the 8-bit tensor.
    return node.attr_string("mode", "nearest") == "nearest" &&
           node.attr_string("coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize";
  }
  return true;
}

bool run_data_movement_on_8bit(Graph& graph, const GraphIndex& index, size_t node_index) {
  const Node& node = graph.nodes[node_index];
  if (!is_data_movement(node) || node.inputs.empty()) return false;
  const size_t data_inputs = node.op_type == "Concat" ? node.inputs.size() : 1;
  std::vector<std::string> quantized_inputs;
  std::optional<TensorQuantization> quantization;
  for (size_t i = 0; i < data_inputs; ++i) {
    const std::optional<DequantizedValue> dequantized = dequantized_value(graph, index, node.input(i));
    if (!dequantized || (quantization && !quantization->same_parameters(dequantized->quantization))) return false;
    quantization = dequantized->quantization;
    quantized_inputs.push_back(dequantized->quantized);
  }
  std::vector<bool> removed(graph.nodes.size(), false);
  std::vector<std::string> quantized_outputs;
  for (const auto& output : node.outputs) {
    const auto quantize = output.empty() ? std::nullopt : sole_quantize_consumer(graph, index, output);
    if (!quantize || !quantize->second.same_parameters(*quantization)) return false;
    removed[quantize->first] = true;
    quantized_outputs.push_back(graph.nodes[quantize->first].outputs[0]);
  }
  Node& rewritten = graph.nodes[node_index];
  std::copy(quantized_inputs.begin(), quantized_inputs.end(), rewritten.inputs.begin());
  rewritten.outputs = std::move(quantized_outputs);
  erase_flagged_nodes(graph, removed);
  return true;
}

// Rule 3: the value of a DequantizeLinear whose inputs are all initializers, computed once.
std::optional<Tensor> dequantize_constant(const Node& node, const Model& model, const PassContext& context,
                                          ThreadPool& pool) {
  const Graph& graph = model.graph;
  std::vector<const Tensor*> inputs;
  for (const auto& input : node.inputs) {
    if (input.empty()) break;  // only the optional zero point can be omitted, and it is last
    inputs.push_back(graph.find_initializer(input));
    if (!inputs.back()) return std::nullopt;
  }
  std::vector<Tensor> outputs(1);
  try {
    KernelCreateInfo info{node, model.opset(node.domain),
                          [&graph](const std::string& value_name) { return graph.find_initializer(value_name); },
                          &context.registry};
    KernelChoice choice = context.registry.create(info, kFoldingImplementation);
    KernelContext kernel_context(inputs, outputs, pool);
    choice.kernel->run(kernel_context);
  } catch (const Error&) {
    return std::nullopt;  // a malformed DQ: the runtime reports it, naming the node, if it is run
  }
  return std::move(outputs[0]);
}

bool fold_constant_dequantization(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  const GraphIndex index(graph);
  ThreadPool pool(1);  // folding runs once per model; keep it off the session's threads
  std::vector<bool> folded(graph.nodes.size(), false);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    if (!is_op(node, "DequantizeLinear") || node.outputs.size() != 1 || !graph.find_initializer(node.input(0))) continue;
    const std::string& output = node.outputs[0];
    if (index.consumer_count(output) == 0 && !graph.is_graph_output(output)) continue;  // dead: left to remove_dead_nodes
    std::optional<Tensor> value = dequantize_constant(node, model, context, pool);
    if (!value) continue;
    graph.initializers[output] = std::make_shared<const Tensor>(std::move(*value));
    folded[i] = true;
  }
  const bool changed = std::find(folded.begin(), folded.end(), true) != folded.end();
  if (changed) erase_flagged_nodes(graph, folded);
  return changed;
}

// Applies `rewrite` at each node in turn until it applies nowhere; the index is rebuilt after each
// change, since a rewrite removes nodes.
template <typename Rewrite>
bool rewrite_to_fixed_point(Graph& graph, Rewrite&& rewrite) {
  bool changed = false;
  for (bool rewrote = true; rewrote;) {
    rewrote = false;
    const GraphIndex index(graph);
    for (size_t i = 0; i < graph.nodes.size() && !rewrote; ++i) rewrote = rewrite(index, i);
    changed = changed || rewrote;
  }
  return changed;
}

}  // namespace

bool fuse_qdq(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  UniqueNamer namer(graph);
  const bool quantized = rewrite_to_fixed_point(
      graph, [&](const GraphIndex& index, size_t i) { return quantize_compute_node(graph, index, namer, i); });
  const bool moved = rewrite_to_fixed_point(
      graph, [&](const GraphIndex& index, size_t i) { return run_data_movement_on_8bit(graph, index, i); });
  const bool folded = fold_constant_dequantization(model, context);
  return quantized || moved || folded;
}

}  // namespace octet
