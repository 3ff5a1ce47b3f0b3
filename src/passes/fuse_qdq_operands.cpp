#include "passes/fuse_qdq_operands.h"

#include <cmath>
#include <cstring>

#include "kernels/post_ops.h"
#include "kernels/reference/quantize_math.h"

namespace octet {
namespace {

bool is_8bit(DataType dtype) { return dtype == DataType::kUint8 || dtype == DataType::kInt8; }

// Opset 21's blocked quantization (block_size > 0) is not what the int8 ops compute.
bool is_blocked(const Node& node) { return node.attr_int("block_size", 0) != 0; }

// The elements of a float initializer, or nullopt when `value_name` is not one.
std::optional<std::vector<float>> float_constant(const Graph& graph, const std::string& value_name) {
  const Tensor* tensor = graph.find_initializer(value_name);
  if (!tensor || tensor->dtype() != DataType::kFloat || tensor->element_count() == 0) return std::nullopt;
  const float* values = tensor->data<float>();
  return std::vector<float>(values, values + tensor->element_count());
}

bool all_positive_and_finite(const std::vector<float>& values) {
  for (float value : values)
    if (!(value > 0.0f) || !std::isfinite(value)) return false;
  return true;
}

// True when the optional zero point `value_name` is absent, or an initializer of `dtype` holding zeros only.
bool is_zero_constant_or_absent(const Graph& graph, const std::string& value_name, DataType dtype) {
  if (value_name.empty()) return true;
  const Tensor* tensor = graph.find_initializer(value_name);
  if (!tensor || tensor->dtype() != dtype) return false;
  for (int64_t i = 0; i < tensor->element_count(); ++i)
    if (tensor->value_as_int64(i) != 0) return false;
  return true;
}

// The DequantizeLinear node producing `value_name`, or nullptr.
const Node* dequantize_producer(const Graph& graph, const GraphIndex& index, const std::string& value_name) {
  const std::optional<size_t> producer = index.producer(value_name);
  if (!producer) return nullptr;
  const Node& node = graph.nodes[*producer];
  if (!is_op(node, "DequantizeLinear") || node.outputs.size() != 1 || is_blocked(node)) return nullptr;
  return &node;
}

// The DQ's scale axis, normalized against `rank`; nullopt when out of range.
std::optional<int64_t> dequantize_axis(const Node& node, int64_t rank) {
  int64_t axis = node.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return std::nullopt;
  return axis;
}

// Conv, MatMul or Gemm (`op_type`), or octet's fused form of it.
bool is_compute_op(const Node& node, const std::string& op_type) {
  if (node.domain.empty()) return node.op_type == op_type;
  return node.domain == kOctetDomain && node.op_type == "Fused" + op_type;
}

// The bias shapes QFusedConv / QFusedMatMul accept: [channels]; Gemm's C may also be [1, channels].
bool is_bias_shape(const Shape& shape, int64_t channels, bool is_gemm) {
  const int64_t count = element_count(shape);
  if (channels >= 0 && count != channels) return false;
  return shape.size() == 1 || (is_gemm && shape.size() == 2 && shape[0] == 1);
}

}  // namespace

std::optional<TensorQuantization> per_tensor_quantization(const Graph& graph, const Node& node) {
  const bool is_quantize = is_op(node, "QuantizeLinear");
  if ((!is_quantize && !is_op(node, "DequantizeLinear")) || is_blocked(node)) return std::nullopt;
  const std::optional<float> scale = scalar_constant(graph, node.input(1));
  if (!scale || !(*scale > 0.0f) || !std::isfinite(*scale)) return std::nullopt;
  TensorQuantization quantization;
  quantization.scale = *scale;
  quantization.scale_name = node.input(1);
  if (node.has_input(2)) {
    const Tensor* zero_point = graph.find_initializer(node.input(2));
    if (!zero_point || zero_point->element_count() != 1 || !is_8bit(zero_point->dtype())) return std::nullopt;
    quantization.dtype = zero_point->dtype();
    quantization.zero_point = static_cast<int32_t>(zero_point->value_as_int64(0));
    quantization.zero_point_name = node.input(2);
    return quantization;
  }
  // Without a zero point, QuantizeLinear writes uint8 (unless opset 21's output_dtype says
  // otherwise); DequantizeLinear's input type would have to be inferred, which octet does not do.
  const int64_t output_dtype = node.attr_int("output_dtype", 0);
  if (!is_quantize || (output_dtype != 0 && output_dtype != static_cast<int64_t>(DataType::kUint8)))
    return std::nullopt;
  quantization.dtype = DataType::kUint8;
  return quantization;
}

std::optional<DequantizedValue> dequantized_value(const Graph& graph, const GraphIndex& index,
                                                  const std::string& value_name) {
  const Node* node = dequantize_producer(graph, index, value_name);
  if (!node) return std::nullopt;
  const std::optional<TensorQuantization> quantization = per_tensor_quantization(graph, *node);
  if (!quantization) return std::nullopt;
  return DequantizedValue{*index.producer(value_name), node->input(0), *quantization};
}

std::optional<SymmetricWeights> symmetric_weights(const Graph& graph, const GraphIndex& index,
                                                  const std::string& value_name, int64_t channel_axis,
                                                  bool allow_run_time) {
  const Node* node = dequantize_producer(graph, index, value_name);
  if (!node) return std::nullopt;
  std::optional<std::vector<float>> scales = float_constant(graph, node->input(1));
  if (!scales || !all_positive_and_finite(*scales)) return std::nullopt;
  if (!is_zero_constant_or_absent(graph, node->input(2), DataType::kInt8)) return std::nullopt;
  SymmetricWeights weights;
  weights.quantized = node->input(0);
  weights.constant = graph.find_initializer(weights.quantized);
  weights.scale_name = node->input(1);
  const Tensor* scale_tensor = graph.find_initializer(weights.scale_name);
  if (!weights.constant) {
    // A run-time operand's type is only known from its zero point, which must then be present.
    if (!allow_run_time || !node->has_input(2) || scales->size() != 1) return std::nullopt;
  } else {
    if (weights.constant->dtype() != DataType::kInt8) return std::nullopt;
    if (channel_axis < 0 || channel_axis >= weights.constant->rank()) return std::nullopt;
    if (scales->size() > 1 || scale_tensor->rank() > 1) {
      const std::optional<int64_t> axis = dequantize_axis(*node, weights.constant->rank());
      if (scale_tensor->rank() != 1 || axis != channel_axis ||
          static_cast<int64_t>(scales->size()) != weights.constant->dim(channel_axis))
        return std::nullopt;
    }
  }
  weights.scales = std::move(*scales);
  return weights;
}

std::optional<ConstantBias> constant_bias(const Graph& graph, const GraphIndex& index, const std::string& value_name) {
  ConstantBias bias;
  if (std::optional<std::vector<float>> values = float_constant(graph, value_name)) {
    bias.shape = graph.find_initializer(value_name)->shape();
    bias.values.assign(values->begin(), values->end());
    return bias;
  }
  const Node* node = dequantize_producer(graph, index, value_name);
  if (!node) return std::nullopt;
  const Tensor* quantized = graph.find_initializer(node->input(0));
  const std::optional<std::vector<float>> scales = float_constant(graph, node->input(1));
  if (!quantized || quantized->dtype() != DataType::kInt32 || !scales) return std::nullopt;
  if (!is_zero_constant_or_absent(graph, node->input(2), DataType::kInt32)) return std::nullopt;
  const int64_t count = quantized->element_count();
  if (scales->size() != 1) {
    // Per channel: one scale per element of a vector, along axis 0.
    if (quantized->rank() != 1 || dequantize_axis(*node, 1) != 0 || static_cast<int64_t>(scales->size()) != count)
      return std::nullopt;
  }
  bias.shape = quantized->shape();
  bias.int32_name = node->input(0);
  const int32_t* values = quantized->data<int32_t>();
  for (int64_t i = 0; i < count; ++i) {
    const float scale = (*scales)[scales->size() == 1 ? 0 : static_cast<size_t>(i)];
    bias.int32_scales.push_back(scale);
    // Computed as DequantizeLinear does: the int32 converted to float, times the scale in float.
    bias.values.push_back(static_cast<double>(static_cast<float>(values[i]) * scale));
  }
  return bias;
}

std::optional<QuantizedComputeOperands> quantized_compute_operands(const Graph& graph, const GraphIndex& index,
                                                                   const Node& node) {
  const bool is_conv_transpose = is_compute_op(node, "ConvTranspose");
  const bool is_conv = is_compute_op(node, "Conv") || is_conv_transpose;
  const bool is_matmul = is_compute_op(node, "MatMul");
  const bool is_gemm = is_compute_op(node, "Gemm");
  if ((!is_conv && !is_matmul && !is_gemm) || node.outputs.size() != 1 || !node.has_input(1)) return std::nullopt;
  if (is_conv_transpose && (node.has_attribute("output_shape") ||
                            (node.attr_string("auto_pad", "NOTSET") != "NOTSET" &&
                             node.attr_string("auto_pad", "NOTSET") != "VALID")))
    return std::nullopt;
  QuantizedComputeOperands operands;
  operands.is_conv = is_conv;
  operands.is_conv_transpose = is_conv_transpose;
  std::optional<DequantizedValue> x = dequantized_value(graph, index, node.input(0));
  if (!x) return std::nullopt;
  operands.x = std::move(*x);

  // Conv W [M, C/group, k...], ConvTranspose W [C, M/group, k...], MatMul W [K, N]
  int64_t channel_axis = is_conv && !is_conv_transpose ? 0 : 1;
  if (is_gemm) {
    if (node.attr_int("transA", 0) != 0) return std::nullopt;
    operands.transpose_weights = node.attr_int("transB", 0) != 0;
    channel_axis = operands.transpose_weights ? 0 : 1;
    operands.weight_factor = node.attr_float("alpha", 1.0f);
    operands.bias_factor = node.attr_float("beta", 1.0f);
    // A positive alpha keeps the folded weight scales positive, as the int8 ops expect.
    if (!(operands.weight_factor > 0.0f) || !std::isfinite(operands.weight_factor) ||
        !std::isfinite(operands.bias_factor))
      return std::nullopt;
  }
  std::optional<SymmetricWeights> w = symmetric_weights(graph, index, node.input(1), channel_axis, is_matmul);
  if (!w) return std::nullopt;
  if (w->constant) {
    const int64_t rank = w->constant->rank();
    if (is_conv ? rank < 3 : rank != 2) return std::nullopt;
    operands.channels = w->constant->dim(channel_axis);
    if (is_conv_transpose) {
      // Per-channel scales run along axis 1, which holds one group's output channels.
      const int64_t group = node.attr_int("group", 1);
      if (group < 1 || w->constant->dim(0) % group != 0 || (group > 1 && w->scales.size() != 1)) return std::nullopt;
      operands.channels *= group;
    }
  }
  operands.w = std::move(*w);

  if (node.has_input(2)) {  // Conv B, FusedMatMul's bias, Gemm C
    operands.bias = constant_bias(graph, index, node.input(2));
    if (!operands.bias || !is_bias_shape(operands.bias->shape, operands.channels, is_gemm)) return std::nullopt;
  }
  return operands;
}

std::string accumulator_bias(Graph& graph, UniqueNamer& namer, const ConstantBias& bias,
                             const std::vector<float>& multipliers, double factor, const std::string& base_name) {
  const auto multiplier = [&](size_t channel) { return multipliers[multipliers.size() == 1 ? 0 : channel]; };
  const Tensor* int32 = bias.int32_name.empty() ? nullptr : graph.find_initializer(bias.int32_name);
  bool reusable = int32 && int32->rank() == 1 && factor == 1.0;
  for (size_t channel = 0; reusable && channel < bias.values.size(); ++channel)
    reusable = bias.int32_scales[channel] == multiplier(channel);
  if (reusable) return bias.int32_name;
  std::vector<int32_t> quantized(bias.values.size());
  for (size_t channel = 0; channel < quantized.size(); ++channel)
    quantized[channel] = saturate_to_int32(factor * bias.values[channel] / static_cast<double>(multiplier(channel)));
  const int64_t count = static_cast<int64_t>(quantized.size());
  return add_initializer(graph, namer, base_name, Tensor::from_vector<int32_t>({count}, quantized));
}

std::string scalar_initializer(Graph& graph, UniqueNamer& namer, const std::string& source) {
  const Tensor* tensor = graph.find_initializer(source);
  check(tensor && tensor->element_count() == 1, "scalar_initializer: '", source, "' is not a one-element initializer");
  if (tensor->rank() == 0) return source;
  Tensor scalar(tensor->dtype(), {});
  std::memcpy(scalar.raw_data(), tensor->raw_data(), tensor->byte_size());
  return add_initializer(graph, namer, source + "_scalar", std::move(scalar));
}

std::string add_initializer(Graph& graph, UniqueNamer& namer, const std::string& base_name, Tensor tensor) {
  const std::string name = namer.make(base_name);
  graph.initializers[name] = std::make_shared<const Tensor>(std::move(tensor));
  return name;
}

bool same_shape_declared(const Graph& graph, const std::string& a, const std::string& b) {
  const std::optional<ValueInfo> first = graph.find_value_info(a);
  const std::optional<ValueInfo> second = graph.find_value_info(b);
  if (!first || !second || !first->has_shape || !second->has_shape) return false;
  if (first->dims.size() != second->dims.size()) return false;
  for (size_t i = 0; i < first->dims.size(); ++i) {
    const Dimension& x = first->dims[i];
    const Dimension& y = second->dims[i];
    if (x.is_known() && y.is_known() && x.value != y.value) return false;
    if ((x.is_known() && x.value == 1) != (y.is_known() && y.value == 1)) return false;
  }
  return true;
}

}  // namespace octet
