#include "quant/bias_correction.h"

#include <cmath>

#include "octet/status.h"
#include "quant/qdq_writer.h"

namespace octet {
namespace {

double norm(const std::vector<double>& values) {
  double sum = 0.0;
  for (const double value : values) sum += value * value;
  return std::sqrt(sum);
}

// shift[m] for a Conv weight [M, C / group, k...] with `group` groups.
std::vector<double> conv_shift(const Tensor& weight, const Tensor& dequantized, int64_t group,
                               const std::vector<double>& means, const std::vector<double>& quantized_means) {
  const int64_t outputs = weight.dim(0);
  const int64_t group_channels = weight.dim(1);
  const int64_t taps = weight.element_count() / (outputs * group_channels);
  const float* w = weight.data<float>();
  const float* w_q = dequantized.data<float>();
  std::vector<double> shift(static_cast<size_t>(outputs), 0.0);
  for (int64_t m = 0; m < outputs; ++m) {
    const int64_t first_channel = m / (outputs / group) * group_channels;
    double sum = 0.0;
    for (int64_t c = 0; c < group_channels; ++c) {
      const auto channel = static_cast<size_t>(first_channel + c);
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t index = (m * group_channels + c) * taps + t;
        sum += static_cast<double>(w[index]) * means[channel] - static_cast<double>(w_q[index]) * quantized_means[channel];
      }
    }
    shift[static_cast<size_t>(m)] = sum;
  }
  return shift;
}

// shift[n] for a matrix weight, [K, N] (axis 1) or [N, K] (axis 0).
std::vector<double> matrix_shift(const Tensor& weight, const Tensor& dequantized, int64_t output_axis,
                                 const std::vector<double>& means, const std::vector<double>& quantized_means) {
  const int64_t outputs = weight.dim(output_axis);
  const int64_t depth = weight.dim(1 - output_axis);
  const float* w = weight.data<float>();
  const float* w_q = dequantized.data<float>();
  std::vector<double> shift(static_cast<size_t>(outputs), 0.0);
  for (int64_t n = 0; n < outputs; ++n) {
    double sum = 0.0;
    for (int64_t k = 0; k < depth; ++k) {
      const int64_t index = output_axis == 1 ? k * outputs + n : n * depth + k;
      sum += static_cast<double>(w[index]) * means[static_cast<size_t>(k)] -
             static_cast<double>(w_q[index]) * quantized_means[static_cast<size_t>(k)];
    }
    shift[static_cast<size_t>(n)] = sum;
  }
  return shift;
}

}  // namespace

std::map<std::string, std::vector<float>> bias_correction(const Model& fp32_model, const QuantizationPlan& plan,
                                                          const std::vector<QuantizationParameters>& activation_parameters,
                                                          std::map<std::string, std::vector<float>> biases,
                                                          const CalibrationData& data, const CalibrationOptions& options,
                                                          const BiasCorrectionProgress& progress) {
  const Graph& graph = fp32_model.graph;
  // Layers in graph (topological) order, each with its output value (the same name in both models).
  std::vector<std::pair<std::string, std::string>> layers;
  CalibrationRequest reference_request;
  for (const Node& node : graph.nodes) {
    for (const QuantizedWeightedOp& op : plan.weighted_ops) {
      if (op.node_name != node.name || op.bias.empty() || op.kind == WeightedOpKind::kConvTranspose) continue;
      layers.push_back({op.node_name, node.outputs.at(0)});
      reference_request.channel_mean_axes[node.outputs.at(0)] = op.kind == WeightedOpKind::kConv ? 1 : -1;
      if (!biases.count(op.node_name)) {
        const Tensor& bias = *graph.find_initializer(op.bias);
        biases[op.node_name].assign(bias.data<float>(), bias.data<float>() + bias.element_count());
      }
    }
  }
  const std::map<std::string, std::vector<double>> reference =
      calibrate(fp32_model, data, reference_request, options).channel_means;
  // One layer at a time, as POT does: correcting all layers from one measurement overshoots, since
  // each later layer's error already contains its inputs' errors that the earlier corrections remove
  // (measured on PP-OCRv4 rec: the errors grew tenfold in a second simultaneous pass).
  for (size_t index = 0; index < layers.size(); ++index) {
    const auto& [name, output] = layers[index];
    Model quantized = fp32_model;
    write_qdq(quantized, plan, activation_parameters, biases);
    CalibrationRequest request;
    request.channel_mean_axes[output] = reference_request.channel_mean_axes.at(output);
    CalibrationOptions layer_options = options;
    layer_options.progress = {};
    const std::vector<double> measured = calibrate(std::move(quantized), data, request, layer_options).channel_means.at(output);
    const std::vector<double>& expected = reference.at(output);
    std::vector<float>& bias = biases.at(name);
    if (expected.size() == bias.size() && measured.size() == bias.size()) {
      for (size_t c = 0; c < bias.size(); ++c) bias[c] += static_cast<float>(expected[c] - measured[c]);
    }
    if (progress) progress(index + 1, layers.size());
  }
  return biases;
}

int64_t activation_channel_axis(WeightedOpKind kind) {
  return kind == WeightedOpKind::kConv || kind == WeightedOpKind::kConvTranspose ? 1 : -1;
}

BiasCorrectionResult fast_bias_correction(const Graph& graph, const QuantizationPlan& plan,
                                          const std::vector<QuantizationParameters>& activation_parameters,
                                          const std::map<std::string, std::vector<double>>& input_channel_means) {
  BiasCorrectionResult result;
  std::map<std::string, const Node*> nodes;
  for (const Node& node : graph.nodes) nodes[node.name] = &node;
  for (const QuantizedWeightedOp& op : plan.weighted_ops) {
    if (op.bias.empty()) continue;
    if (op.kind == WeightedOpKind::kConvTranspose) {
      result.skipped.push_back(concat(op.node_name, ": ConvTranspose (not corrected)"));
      continue;
    }
    const auto means_found = input_channel_means.find(op.activation);
    const int quantizer = plan.quantizer_of(op.activation);
    if (means_found == input_channel_means.end() || quantizer < 0) continue;
    const std::vector<double>& means = means_found->second;
    const Tensor& weight = *graph.find_initializer(op.weight);
    const Tensor& bias_tensor = *graph.find_initializer(op.bias);
    const float* bias = bias_tensor.data<float>();
    const int64_t depth_axis = op.kind == WeightedOpKind::kConv ? 1 : 1 - op.weight_axis;
    const int64_t expected_channels = op.kind == WeightedOpKind::kConv
                                          ? weight.dim(1) * nodes.at(op.node_name)->attr_int("group", 1)
                                          : weight.dim(depth_axis);
    if (static_cast<int64_t>(means.size()) != expected_channels) {
      result.skipped.push_back(concat(op.node_name, ": input has ", means.size(), " channels, weight expects ",
                                      expected_channels));
      continue;
    }
    // The quantized layer sees fq(x), whose mean is the FP32 mean for data spread over many
    // quantization steps: E[fq(x)] ~ E[x], not fq(E[x]). Rounding the mean itself (as running the
    // layer on a mean-filled tensor does) would add a systematic error of up to half a step per
    // channel that the real data does not have, so the input side uses the FP32 means.
    const std::vector<double>& quantized_means = means;
    const Tensor dequantized = dequantize_weight(quantize_weight_per_channel(weight, op.weight_axis), op.weight_axis);
    const std::vector<double> shift =
        op.kind == WeightedOpKind::kConv
            ? conv_shift(weight, dequantized, nodes.at(op.node_name)->attr_int("group", 1), means, quantized_means)
            : matrix_shift(weight, dequantized, op.weight_axis, means, quantized_means);

    std::vector<double> old_bias(bias, bias + bias_tensor.element_count());
    bool has_zero = false;
    for (const double value : old_bias) has_zero |= value == 0.0;
    if (has_zero) {
      result.skipped.push_back(concat(op.node_name, ": bias has a zero element"));
      continue;
    }
    const double relative_shift = norm(shift) / norm(old_bias);
    if (relative_shift > kMaxRelativeBiasShift) {
      result.skipped.push_back(concat(op.node_name, ": correction is ", relative_shift, "x the bias"));
      continue;
    }
    std::vector<float> corrected(old_bias.size());
    for (size_t m = 0; m < corrected.size(); ++m) corrected[m] = static_cast<float>(old_bias[m] + shift[m]);
    result.biases[op.node_name] = std::move(corrected);
  }
  return result;
}

}  // namespace octet
