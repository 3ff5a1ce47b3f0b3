// fold_conv_affine: folds a per-channel (or scalar) multiply or add by a constant into the Conv or
// ConvTranspose that produces its input.
//
//   before:  x -> Conv(W, b) -> y -> Mul(y, s)  -> z        (or Div(y, s), Add(y, t), Sub(y, t))
//   after:   x -> Conv(W', b') -> z
//
//   Mul: W'[weights of c] = W[weights of c] * s[c], b'[c] = b[c] * s[c];   Div: the same with 1 / s[c]
//   Add: b'[c] = b[c] + t[c];                                              Sub (y - t): b'[c] = b[c] - t[c]
//
// The weights of output channel c are the slice W[c] for Conv ([C_out, C_in/group, k...]); for
// ConvTranspose ([C_in, C_out/group, k...]) W[i, j] feeds channel (i / (C_in/group)) * (C_out/group) + j.
// The constant must broadcast per output channel: a scalar, or shape [C, 1, ...] / [1, C, 1, ...]
// right-aligned against the output. Exported models (PP-OCRv4's learnable affine blocks, frozen
// scale layers, Paddle's ConvTranspose bias written as a separate Add before a BatchNormalization)
// put such ops after many convolutions; folded, they cost nothing and leave the batch norm or
// activation that follows free to fold or fuse.
#include "passes/graph_edit.h"
#include "passes/passes.h"
#include "passes/pattern_util.h"

namespace octet {
namespace {

constexpr size_t kWeightInput = 1;
constexpr size_t kBiasInput = 2;

// Per-channel values of `constant` broadcast against a Conv output of `rank` dims and `channels`
// channels; empty when it varies along any other axis.
std::vector<float> per_channel_values(const Tensor& constant, size_t rank, int64_t channels) {
  if (constant.dtype() != DataType::kFloat || static_cast<size_t>(constant.rank()) > rank) return {};
  const Shape& shape = constant.shape();
  const size_t offset = rank - shape.size();
  bool varies_by_channel = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const size_t axis = i + offset;
    if (shape[i] == 1) continue;
    if (axis != 1 || shape[i] != channels) return {};
    varies_by_channel = true;
  }
  std::vector<float> values(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) values[static_cast<size_t>(c)] = constant.data<float>()[varies_by_channel ? c : 0];
  return values;
}

// The number of output channels of a Conv / ConvTranspose with weights `weight`, or -1 when the
// weights do not split into its groups.
int64_t output_channels(const Node& conv, const Tensor& weight) {
  if (conv.op_type == "Conv") return weight.dim(0);
  const int64_t group = conv.attr_int("group", 1);
  if (group <= 0 || weight.dim(0) % group != 0) return -1;
  return weight.dim(1) * group;
}

// The output channel weight element `index` contributes to.
int64_t output_channel_of_weight(const Node& conv, const Tensor& weight, int64_t channels, int64_t index) {
  if (conv.op_type == "Conv") return index / (weight.element_count() / channels);
  const int64_t group = conv.attr_int("group", 1);
  const int64_t input_channels_per_group = weight.dim(0) / group;
  const int64_t output_channels_per_group = weight.dim(1);
  const int64_t kernel_size = weight.element_count() / (weight.dim(0) * weight.dim(1));
  const int64_t input_channel = index / (output_channels_per_group * kernel_size);
  return (input_channel / input_channels_per_group) * output_channels_per_group +
         (index / kernel_size) % output_channels_per_group;
}

}  // namespace

bool fold_conv_affine(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  bool changed = false;
  for (bool rewrote = true; rewrote;) {
    rewrote = false;
    const GraphIndex index(graph);
    UniqueNamer namer(graph);
    for (size_t i = 0; i < graph.nodes.size() && !rewrote; ++i) {
      Node& conv = graph.nodes[i];
      if ((!is_op(conv, "Conv") && !is_op(conv, "ConvTranspose")) || conv.outputs.size() != 1) continue;
      const Tensor* weight = graph.find_initializer(conv.input(kWeightInput));
      const Tensor* bias = conv.has_input(kBiasInput) ? graph.find_initializer(conv.input(kBiasInput)) : nullptr;
      if (!weight || weight->dtype() != DataType::kFloat || weight->rank() < 3) continue;
      if (conv.has_input(kBiasInput) && (!bias || bias->dtype() != DataType::kFloat)) continue;
      const std::string output = conv.outputs[0];
      const std::optional<size_t> successor_index = index.sole_consumer(graph, output);
      if (!successor_index) continue;
      const Node& successor = graph.nodes[*successor_index];
      const std::string& op = successor.op_type;
      if (!successor.domain.empty() || successor.inputs.size() != 2 || successor.outputs.size() != 1) continue;
      if (op != "Mul" && op != "Div" && op != "Add" && op != "Sub") continue;
      const bool conv_first = successor.inputs[0] == output;
      if ((op == "Div" || op == "Sub") && !conv_first) continue;
      const Tensor* constant = graph.find_initializer(other_input(successor, output));
      if (!constant) continue;
      const int64_t channels = output_channels(conv, *weight);
      if (channels <= 0 || (bias && bias->element_count() != channels)) continue;
      std::vector<float> values = per_channel_values(*constant, static_cast<size_t>(weight->rank()), channels);
      if (values.empty()) continue;
      if (op == "Div") {
        bool has_zero = false;
        for (float& value : values) {
          has_zero |= value == 0.0f;
          value = 1.0f / value;
        }
        if (has_zero) continue;
      }

      const bool scales = op == "Mul" || op == "Div";
      Tensor new_bias(DataType::kFloat, {channels});
      for (int64_t c = 0; c < channels; ++c) {
        const float old_bias = bias ? bias->data<float>()[c] : 0.0f;
        const float value = values[static_cast<size_t>(c)];
        new_bias.data<float>()[c] = scales ? old_bias * value : op == "Add" ? old_bias + value : old_bias - value;
      }
      if (scales) {
        Tensor new_weight(DataType::kFloat, weight->shape());
        for (int64_t e = 0; e < weight->element_count(); ++e) {
          const int64_t channel = output_channel_of_weight(conv, *weight, channels, e);
          new_weight.data<float>()[e] = weight->data<float>()[e] * values[static_cast<size_t>(channel)];
        }
        const std::string weight_name = namer.make(conv.input(kWeightInput) + "_scaled");
        graph.initializers[weight_name] = std::make_shared<const Tensor>(std::move(new_weight));
        conv.inputs[kWeightInput] = weight_name;
      }
      const std::string bias_name = namer.make((bias ? conv.input(kBiasInput) : output + "_bias") + "_affine");
      graph.initializers[bias_name] = std::make_shared<const Tensor>(std::move(new_bias));
      conv.inputs.resize(kBiasInput + 1);
      conv.inputs[kBiasInput] = bias_name;
      graph.value_infos.erase(output);
      // The Conv takes the successor's output name and place: the successor came later, so every
      // reader of its output still follows.
      conv.outputs[0] = successor.outputs[0];
      std::swap(graph.nodes[i], graph.nodes[*successor_index]);
      std::vector<bool> removed(graph.nodes.size(), false);
      removed[i] = true;
      erase_flagged_nodes(graph, removed);
      rewrote = changed = true;
    }
  }
  return changed;
}

}  // namespace octet
