#include "quant/qdq_writer.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "kernels/reference/quantize_math.h"
#include "octet/status.h"
#include "passes/graph_edit.h"

namespace octet {
namespace {

// Per-axis QuantizeLinear / DequantizeLinear appeared in opset 13.
constexpr int64_t kQdqOpset = 13;

// Elements of `shape` after `axis`: channel of flat index i is (i / inner) % shape[axis].
int64_t inner_size(const Shape& shape, int64_t axis) {
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  return inner;
}

int64_t checked_axis(const Tensor& tensor, int64_t axis) {
  check(axis >= 0 && axis < tensor.rank(), "weight axis ", axis, " is out of range for shape ",
        shape_to_string(tensor.shape()));
  return axis;
}

class QdqWriter {
 public:
  QdqWriter(Model& model, const QuantizationPlan& plan, const std::vector<QuantizationParameters>& parameters,
            const std::map<std::string, std::vector<float>>& bias_overrides)
      : model_(model), graph_(model.graph), plan_(plan), parameters_(parameters), bias_overrides_(bias_overrides),
        namer_(model.graph) {
    for (size_t i = 0; i < graph_.nodes.size(); ++i) node_index_[graph_.nodes[i].name] = i;
  }

  void run() {
    check(parameters_.size() == plan_.quantizers.size(), "write_qdq: ", parameters_.size(), " parameter sets for ",
          plan_.quantizers.size(), " quantizers");
    // Weights first: their bias needs the activation scale, read from the plan before edges move.
    for (const QuantizedWeightedOp& op : plan_.weighted_ops) write_weighted_op(op);
    for (size_t q = 0; q < plan_.quantizers.size(); ++q)
      for (const std::string& value : plan_.quantizers[q].values) write_activation_quantizer(value, parameters_[q]);
    graph_.nodes.insert(graph_.nodes.end(), std::make_move_iterator(new_nodes_.begin()),
                        std::make_move_iterator(new_nodes_.end()));
    remove_unused_initializers();
    // Declared shapes of the FP32 graph: shape inference recomputes them for the new graph on load,
    // and stale or partial ones would only cost bytes.
    graph_.value_infos.clear();
    graph_.topological_sort();
    int64_t& opset = model_.opset_imports[""];
    opset = std::max(opset, kQdqOpset);
    model_.ir_version = std::max<int64_t>(model_.ir_version, 7);
  }

 private:
  Node& node(const std::string& name) { return graph_.nodes.at(node_index_.at(name)); }

  std::string add_initializer(const std::string& base, Tensor tensor) {
    const std::string name = namer_.make(base);
    graph_.initializers[name] = std::make_shared<const Tensor>(std::move(tensor));
    return name;
  }

  Tensor zero_point_tensor(const QuantizationParameters& parameters) {
    if (parameters.type == QuantizedType::kUint8) return Tensor::scalar<uint8_t>(static_cast<uint8_t>(parameters.zero_point));
    return Tensor::scalar<int8_t>(static_cast<int8_t>(parameters.zero_point));
  }

  Node make_node(const std::string& op_type, const std::string& base_name, std::vector<std::string> inputs,
                 std::vector<std::string> outputs) {
    Node node;
    node.op_type = op_type;
    node.name = namer_.make(base_name);
    node.inputs = std::move(inputs);
    node.outputs = std::move(outputs);
    return node;
  }

  // x -> Q -> DQ, and every quantized edge of x reads the DQ output.
  void write_activation_quantizer(const std::string& value, const QuantizationParameters& parameters) {
    const std::string scale = add_initializer(value + "_scale", Tensor::scalar<float>(parameters.scale));
    const std::string zero_point = add_initializer(value + "_zp", zero_point_tensor(parameters));
    const std::string quantized = namer_.make(value + "_q");
    const std::string dequantized = namer_.make(value + "_dq");
    new_nodes_.push_back(make_node("QuantizeLinear", value + "_Q", {value, scale, zero_point}, {quantized}));
    new_nodes_.push_back(
        make_node("DequantizeLinear", value + "_DQ", {quantized, scale, zero_point}, {dequantized}));
    const auto edges = plan_.quantized_edges.find(value);
    if (edges == plan_.quantized_edges.end()) return;
    for (const auto& [node_name, input_index] : edges->second) node(node_name).inputs.at(input_index) = dequantized;
  }

  // DQ(int) -> consumer input `input_index`, per channel along `axis`. Names derive from the
  // consumer's ("<node>_w_q", "<node>_b_scale"): shorter than the folded FP32 initializers' names,
  // and they say what the tensor is for. The zero point input is
  // omitted: its default is 0 of the integer's type, which is what weights and biases use (and a
  // zero-point tensor per channel would cost up to a third of a depthwise layer's bytes).
  void write_dequantized_constant(Node& consumer, size_t input_index, const std::string& base, Tensor values,
                                  Tensor scales, int64_t axis) {
    const std::string values_name = add_initializer(base + "_q", std::move(values));
    const std::string scales_name = add_initializer(base + "_scale", std::move(scales));
    const std::string dequantized = namer_.make(base + "_dq");
    // Unnamed: constants' dequantizers are never referred to by name (and names cost file size).
    Node dequantize;
    dequantize.op_type = "DequantizeLinear";
    dequantize.inputs = {values_name, scales_name};
    dequantize.outputs = {dequantized};
    Attribute axis_attribute;
    axis_attribute.name = "axis";
    axis_attribute.type = AttributeType::kInt;
    axis_attribute.i = axis;
    dequantize.set_attribute(axis_attribute);
    consumer.inputs.at(input_index) = dequantized;
    new_nodes_.push_back(std::move(dequantize));
  }

  void write_weighted_op(const QuantizedWeightedOp& op) {
    Node& consumer = node(op.node_name);
    const Tensor* weight = graph_.find_initializer(op.weight);
    check(weight != nullptr, op.node_name, ": weight '", op.weight, "' is not an initializer");
    ChannelQuantizedWeight quantized = quantize_weight_per_channel(*weight, op.weight_axis);
    const size_t channels = quantized.scales.size();
    const std::vector<float> scales = quantized.scales;
    write_dequantized_constant(consumer, 1, op.node_name + "_w", std::move(quantized.values),
                               Tensor::from_vector<float>({static_cast<int64_t>(channels)}, scales), op.weight_axis);
    if (op.bias.empty()) return;

    const int activation_quantizer = plan_.quantizer_of(op.activation);
    check(activation_quantizer >= 0, op.node_name, ": activation '", op.activation, "' has no quantizer");
    const float activation_scale = parameters_[static_cast<size_t>(activation_quantizer)].scale;
    std::vector<float> bias;
    const auto override_found = bias_overrides_.find(op.node_name);
    if (override_found != bias_overrides_.end()) {
      bias = override_found->second;
    } else {
      const Tensor* bias_tensor = graph_.find_initializer(op.bias);
      check(bias_tensor != nullptr && bias_tensor->dtype() == DataType::kFloat, op.node_name, ": bias '", op.bias,
            "' is not a float initializer");
      bias.assign(bias_tensor->data<float>(), bias_tensor->data<float>() + bias_tensor->element_count());
    }
    check(bias.size() == channels, op.node_name, ": bias has ", bias.size(), " elements for ", channels,
          " output channels");
    std::vector<float> bias_scales(channels);
    std::vector<int32_t> bias_values(channels);
    for (size_t c = 0; c < channels; ++c) {
      bias_scales[c] = activation_scale * scales[c];
      bias_values[c] = saturate_to_int32(static_cast<double>(bias[c]) / static_cast<double>(bias_scales[c]));
    }
    const auto count = static_cast<int64_t>(channels);
    const size_t bias_input = 2;
    write_dequantized_constant(consumer, bias_input, op.node_name + "_b", Tensor::from_vector<int32_t>({count}, bias_values),
                               Tensor::from_vector<float>({count}, bias_scales), 0);
  }

  void remove_unused_initializers() {
    std::set<std::string> used;
    for (const Node& node : graph_.nodes) used.insert(node.inputs.begin(), node.inputs.end());
    for (const ValueInfo& output : graph_.outputs) used.insert(output.name);
    std::erase_if(graph_.initializers, [&](const auto& entry) { return !used.count(entry.first); });
  }

  Model& model_;
  Graph& graph_;
  const QuantizationPlan& plan_;
  const std::vector<QuantizationParameters>& parameters_;
  const std::map<std::string, std::vector<float>>& bias_overrides_;
  UniqueNamer namer_;
  std::map<std::string, size_t> node_index_;
  std::vector<Node> new_nodes_;
};

}  // namespace

ChannelQuantizedWeight quantize_weight_per_channel(const Tensor& weight, int64_t axis) {
  check(weight.dtype() == DataType::kFloat, "weights to quantize must be float, got ", dtype_name(weight.dtype()));
  checked_axis(weight, axis);
  const int64_t channels = weight.dim(axis);
  const int64_t inner = inner_size(weight.shape(), axis);
  const float* values = weight.data<float>();
  std::vector<float> abs_max(static_cast<size_t>(channels), 0.0f);
  for (int64_t i = 0; i < weight.element_count(); ++i) {
    float& channel_max = abs_max[static_cast<size_t>((i / inner) % channels)];
    channel_max = std::max(channel_max, std::fabs(values[i]));
  }
  ChannelQuantizedWeight result;
  std::vector<QuantizationParameters> parameters;
  for (const float channel_max : abs_max) {
    parameters.push_back(compute_quantization_parameters(-channel_max, channel_max, QuantizedType::kInt8,
                                                         RangeMode::kSymmetric));
    result.scales.push_back(parameters.back().scale);
  }
  result.values = Tensor(DataType::kInt8, weight.shape());
  int8_t* quantized = result.values.data<int8_t>();
  for (int64_t i = 0; i < weight.element_count(); ++i)
    quantized[i] = static_cast<int8_t>(quantize_value(values[i], parameters[static_cast<size_t>((i / inner) % channels)]));
  return result;
}

Tensor dequantize_weight(const ChannelQuantizedWeight& weight, int64_t axis) {
  checked_axis(weight.values, axis);
  const int64_t channels = weight.values.dim(axis);
  const int64_t inner = inner_size(weight.values.shape(), axis);
  Tensor result(DataType::kFloat, weight.values.shape());
  const int8_t* values = weight.values.data<int8_t>();
  float* dequantized = result.data<float>();
  for (int64_t i = 0; i < result.element_count(); ++i)
    dequantized[i] = static_cast<float>(values[i]) * weight.scales[static_cast<size_t>((i / inner) % channels)];
  return result;
}

void write_qdq(Model& model, const QuantizationPlan& plan,
               const std::vector<QuantizationParameters>& activation_parameters,
               const std::map<std::string, std::vector<float>>& bias_overrides) {
  QdqWriter(model, plan, activation_parameters, bias_overrides).run();
}

}  // namespace octet
