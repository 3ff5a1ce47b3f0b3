// fold_batch_norm: folds an inference BatchNormalization into the producer of its input.
//
//   before:  x -> Conv(W, b) -> y -> BatchNormalization(scale, B, mean, var, epsilon) -> z
//   after:   x -> Conv(W', b') -> z
//
// With s[c] = scale[c] / sqrt(var[c] + epsilon) for each output channel c:
//   W'[weights of channel c] = W[weights of channel c] * s[c]
//   b'[c] = (b[c] - mean[c]) * s[c] + B[c]          (b = 0 when the producer has no bias)
//
// Where the weights of output channel c sit depends on the producer:
//   Conv           W is [C_out, C_in/group, k...]: the slice W[c].
//   ConvTranspose  W is [C_in, C_out/group, k...]: W[i, j] feeds channel (i / (C_in/group)) * (C_out/group) + j.
//   Gemm           Y = alpha * A * op(B) + beta * C: column c of op(B), i.e. row c of B when transB,
//                  column c otherwise; beta * C is folded into the new bias and beta becomes 1.
//
// W' and b' are new initializers under fresh names: the old ones may be shared and are never
// changed (remove_dead_nodes drops them once unused). Only float tensors are folded.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace octet {
namespace {

constexpr float kDefaultEpsilon = 1e-5f;  // BatchNormalization's default
constexpr size_t kScaleInput = 1, kBiasInput = 2, kMeanInput = 3, kVarianceInput = 4;
constexpr size_t kBatchNormInputCount = 5;
constexpr size_t kWeightInput = 1, kProducerBiasInput = 2;

// The per-channel affine map a BatchNormalization applies at inference: y = x * multiplier + offset.
struct BatchNormParameters {
  std::vector<double> multiplier;  // s[c]
  std::vector<double> offset;      // B[c] - mean[c] * s[c]
};

const Tensor* float_initializer(const Graph& graph, const std::string& value_name) {
  const Tensor* tensor = graph.find_initializer(value_name);
  return tensor && tensor->dtype() == DataType::kFloat ? tensor : nullptr;
}

// The parameters of a BatchNormalization that computes only its normalized output (inference) from
// constant float parameters, or nullopt for any other node.
std::optional<BatchNormParameters> inference_batch_norm(const Node& node, const Graph& graph) {
  if (!node.domain.empty() || node.op_type != "BatchNormalization") return std::nullopt;
  if (node.inputs.size() != kBatchNormInputCount || node.outputs.empty() || node.outputs[0].empty())
    return std::nullopt;
  for (size_t o = 1; o < node.outputs.size(); ++o)
    if (!node.outputs[o].empty() && is_used(graph, node.outputs[o])) return std::nullopt;
  if (node.attr_int("training_mode", 0) != 0) return std::nullopt;
  if (node.attr_int("spatial", 1) == 0) return std::nullopt;  // opsets < 9: per-element statistics
  const Tensor* scale = float_initializer(graph, node.input(kScaleInput));
  const Tensor* bias = float_initializer(graph, node.input(kBiasInput));
  const Tensor* mean = float_initializer(graph, node.input(kMeanInput));
  const Tensor* variance = float_initializer(graph, node.input(kVarianceInput));
  if (!scale || !bias || !mean || !variance || scale->rank() != 1 || scale->dim(0) == 0) return std::nullopt;
  const int64_t channels = scale->dim(0);
  for (const Tensor* parameter : {bias, mean, variance})
    if (parameter->shape() != scale->shape()) return std::nullopt;
  const double epsilon = node.attr_float("epsilon", kDefaultEpsilon);
  BatchNormParameters parameters;
  for (int64_t c = 0; c < channels; ++c) {
    const double multiplier = scale->data<float>()[c] / std::sqrt(variance->data<float>()[c] + epsilon);
    parameters.multiplier.push_back(multiplier);
    parameters.offset.push_back(bias->data<float>()[c] - mean->data<float>()[c] * multiplier);
  }
  return parameters;
}

// For each weight element, the output channel it contributes to; empty when the producer's
// weights do not match `channels` output channels.
std::vector<int64_t> output_channel_of_weights(const Node& producer, const Tensor& weight, int64_t channels) {
  const int64_t count = weight.element_count();
  if (count == 0) return {};
  std::vector<int64_t> channel_of(static_cast<size_t>(count));
  if (producer.op_type == "Conv") {
    if (weight.rank() < 2 || weight.dim(0) != channels) return {};
    const int64_t per_channel = count / channels;
    for (int64_t i = 0; i < count; ++i) channel_of[static_cast<size_t>(i)] = i / per_channel;
  } else if (producer.op_type == "ConvTranspose") {
    const int64_t group = producer.attr_int("group", 1);
    if (weight.rank() < 2 || group <= 0 || weight.dim(0) % group != 0 || weight.dim(1) * group != channels) return {};
    const int64_t input_channels_per_group = weight.dim(0) / group;
    const int64_t output_channels_per_group = weight.dim(1);
    const int64_t kernel_size = count / (weight.dim(0) * weight.dim(1));
    for (int64_t i = 0; i < count; ++i) {
      const int64_t input_channel = i / (output_channels_per_group * kernel_size);
      const int64_t channel_in_group = (i / kernel_size) % output_channels_per_group;
      channel_of[static_cast<size_t>(i)] =
          (input_channel / input_channels_per_group) * output_channels_per_group + channel_in_group;
    }
  } else {  // Gemm
    const bool transposed = producer.attr_int("transB", 0) != 0;
    if (weight.rank() != 2 || weight.dim(transposed ? 0 : 1) != channels) return {};
    const int64_t columns = weight.dim(1);
    for (int64_t i = 0; i < count; ++i) channel_of[static_cast<size_t>(i)] = transposed ? i / columns : i % columns;
  }
  return channel_of;
}

// The producer's bias per output channel (already multiplied by beta for Gemm), or nullopt when
// its shape cannot be folded (a Gemm C that varies along rows).
std::optional<std::vector<double>> producer_bias(const Node& producer, const Tensor* bias, int64_t channels) {
  std::vector<double> values(static_cast<size_t>(channels), 0.0);
  if (!bias) return values;
  double factor = 1.0;
  if (producer.op_type == "Gemm") {
    factor = producer.attr_float("beta", 1.0f);
    const bool per_channel = bias->element_count() == channels && bias->rank() >= 1 &&
                             bias->dim(bias->rank() - 1) == channels && bias->rank() <= 2;
    const bool uniform = bias->element_count() == 1 && bias->rank() <= 2;
    if (!per_channel && !uniform) return std::nullopt;
    for (int64_t c = 0; c < channels; ++c)
      values[static_cast<size_t>(c)] = factor * bias->data<float>()[uniform ? 0 : c];
    return values;
  }
  if (bias->rank() != 1 || bias->dim(0) != channels) return std::nullopt;
  for (int64_t c = 0; c < channels; ++c) values[static_cast<size_t>(c)] = bias->data<float>()[c];
  return values;
}

bool is_foldable_producer(const Node& node) {
  return node.domain.empty() && node.outputs.size() == 1 &&
         (node.op_type == "Conv" || node.op_type == "ConvTranspose" || node.op_type == "Gemm");
}

}  // namespace

bool fold_batch_norm(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  const std::map<std::string, size_t> producers = graph.producer_index();
  const std::map<std::string, std::vector<size_t>> consumers = graph.consumer_indices();
  UniqueNamer namer(graph);
  std::vector<bool> removed(graph.nodes.size(), false);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& batch_norm = graph.nodes[i];
    if (batch_norm.op_type != "BatchNormalization" || !batch_norm.has_input(0)) continue;
    const std::string& conv_output = batch_norm.inputs[0];
    auto producer_entry = producers.find(conv_output);
    if (producer_entry == producers.end() || graph.is_graph_output(conv_output)) continue;
    if (consumers.at(conv_output).size() != 1) continue;
    Node& producer = graph.nodes[producer_entry->second];
    if (!is_foldable_producer(producer)) continue;
    const std::optional<BatchNormParameters> parameters = inference_batch_norm(batch_norm, graph);
    if (!parameters) continue;
    const int64_t channels = static_cast<int64_t>(parameters->multiplier.size());

    const Tensor* weight = float_initializer(graph, producer.input(kWeightInput));
    if (!weight) continue;
    const Tensor* bias = nullptr;
    if (producer.has_input(kProducerBiasInput)) {
      bias = float_initializer(graph, producer.input(kProducerBiasInput));
      if (!bias) continue;
    }
    const std::vector<int64_t> channel_of = output_channel_of_weights(producer, *weight, channels);
    const std::optional<std::vector<double>> old_bias = producer_bias(producer, bias, channels);
    if (channel_of.empty() || !old_bias) continue;

    Tensor new_weight(DataType::kFloat, weight->shape());
    const float* src = weight->data<float>();
    float* dst = new_weight.data<float>();
    for (int64_t e = 0; e < weight->element_count(); ++e) {
      const size_t channel = static_cast<size_t>(channel_of[static_cast<size_t>(e)]);
      dst[e] = static_cast<float>(src[e] * parameters->multiplier[channel]);
    }
    Tensor new_bias(DataType::kFloat, {channels});
    for (int64_t c = 0; c < channels; ++c) {
      const size_t index = static_cast<size_t>(c);
      new_bias.data<float>()[c] =
          static_cast<float>((*old_bias)[index] * parameters->multiplier[index] + parameters->offset[index]);
    }

    const std::string weight_name = namer.make(producer.input(kWeightInput) + "_bn_folded");
    const std::string bias_name = namer.make(
        (bias ? producer.input(kProducerBiasInput) : producer.outputs[0] + "_bias") + "_bn_folded");
    graph.initializers[weight_name] = std::make_shared<const Tensor>(std::move(new_weight));
    graph.initializers[bias_name] = std::make_shared<const Tensor>(std::move(new_bias));
    producer.inputs.resize(std::max(producer.inputs.size(), kProducerBiasInput + 1));
    producer.inputs[kWeightInput] = weight_name;
    producer.inputs[kProducerBiasInput] = bias_name;
    if (producer.op_type == "Gemm") {
      Attribute beta;
      beta.name = "beta";
      beta.type = AttributeType::kFloat;
      beta.f = 1.0f;  // beta * C is part of the new bias
      producer.set_attribute(std::move(beta));
    }
    graph.value_infos.erase(conv_output);
    producer.outputs[0] = batch_norm.outputs[0];
    removed[i] = true;
  }
  const bool changed = std::find(removed.begin(), removed.end(), true) != removed.end();
  if (changed) erase_flagged_nodes(graph, removed);
  return changed;
}

}  // namespace octet
