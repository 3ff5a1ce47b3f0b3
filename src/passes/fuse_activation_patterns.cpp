// fuse_activation_patterns: rewrites multi-node spellings of activations and normalizations
// (common in exported models) into single nodes that kernels and later fusions understand.
//
//   hard-swish:  v -> Add(v, 3) -> Clip(0, 6) -> Mul(v, .) -> Div(., 6)     =>  HardSwish(v)
//                (or Mul(., 1/6) last; or Mul(v, HardSigmoid(v; alpha 1/6, beta 1/2)))
//   swish:       v -> [Mul(v, 1)] -> Sigmoid -> Mul(v, .)                    =>  octet.Swish(v)
//   layer norm:  x -> ReduceMean(last) -> Sub(x, mean) = d;  d -> Pow(2) -> ReduceMean(last)
//                -> Add(eps) -> Sqrt -> Div(d, .) [-> Mul(gamma) -> Add(beta)]
//                                                                            =>  LayerNormalization(x, gamma, beta)
//
// Every interior value must be read only inside the pattern; the new node keeps the name of the
// pattern's last output, at the last node's position, so topological order holds.
#include <cmath>

#include "passes/fusion_passes.h"
#include "passes/graph_edit.h"
#include "passes/pattern_util.h"

namespace octet {
namespace {

constexpr float kSixth = 1.0f / 6.0f;
constexpr float kConstantTolerance = 1e-5f;

struct Match {
  std::vector<size_t> interior;  // nodes removed, besides the last one
  Node replacement;              // takes the last node's place
};

// The producer of `value_name` when it has the given op type and `value_name` is read only by `reader_count` nodes.
const Node* producer_of(const Graph& graph, const GraphIndex& index, const std::string& value_name, const char* op_type,
                        size_t reader_count, size_t* position) {
  if (graph.is_graph_output(value_name) || index.consumer_count(value_name) != reader_count) return nullptr;
  const std::optional<size_t> producer = index.producer(value_name);
  if (!producer || !is_op(graph.nodes[*producer], op_type)) return nullptr;
  *position = *producer;
  return &graph.nodes[*producer];
}

// Bounds of a Clip node when they are constants (attributes before opset 11, inputs after).
bool clip_bounds(const Graph& graph, const Node& clip, int64_t opset, float& low, float& high) {
  if (opset < 11) {
    low = clip.attr_float("min", -INFINITY);
    high = clip.attr_float("max", INFINITY);
    return true;
  }
  low = -INFINITY;
  high = INFINITY;
  if (clip.has_input(1)) {
    const std::optional<float> value = scalar_constant(graph, clip.input(1));
    if (!value) return false;
    low = *value;
  }
  if (clip.has_input(2)) {
    const std::optional<float> value = scalar_constant(graph, clip.input(2));
    if (!value) return false;
    high = *value;
  }
  return true;
}

Node single_input_node(const std::string& op_type, const std::string& domain, const std::string& input,
                       const Node& last) {
  Node node;
  node.name = last.name;
  node.op_type = op_type;
  node.domain = domain;
  node.inputs = {input};
  node.outputs = {last.outputs[0]};
  return node;
}

// Mul(v, c) where c is the product of the hard-swish core; returns v.
std::optional<std::string> hard_swish_core(const Graph& graph, const GraphIndex& index, const Node& mul,
                                           int64_t opset, std::vector<size_t>& interior) {
  if (!is_op(mul, "Mul") || mul.inputs.size() != 2) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    const std::string& v = mul.inputs[side];
    const std::string& gate = mul.inputs[1 - side];
    size_t position;
    if (const Node* hard_sigmoid = producer_of(graph, index, gate, "HardSigmoid", 1, &position)) {
      if (hard_sigmoid->input(0) == v && std::fabs(hard_sigmoid->attr_float("alpha", 0.2f) - kSixth) < kConstantTolerance &&
          std::fabs(hard_sigmoid->attr_float("beta", 0.5f) - 0.5f) < kConstantTolerance) {
        interior.push_back(position);
        return v;
      }
      continue;
    }
    size_t clip_position;
    const Node* clip = producer_of(graph, index, gate, "Clip", 1, &clip_position);
    float low, high;
    if (!clip || !clip_bounds(graph, *clip, opset, low, high) || low != 0.0f || high != 6.0f) continue;
    size_t add_position;
    const Node* add = producer_of(graph, index, clip->input(0), "Add", 1, &add_position);
    if (!add || other_input(*add, v).empty() || !is_scalar_constant(graph, other_input(*add, v), 3.0f)) continue;
    interior.push_back(clip_position);
    interior.push_back(add_position);
    return v;
  }
  return std::nullopt;
}

std::optional<Match> match_hard_swish(const Graph& graph, const GraphIndex& index, const Node& last, int64_t opset) {
  std::vector<size_t> interior;
  if (auto v = hard_swish_core(graph, index, last, opset, interior)) {
    // Mul(v, HardSigmoid(v)) alone is complete; the Clip form still needs its division by 6.
    if (interior.size() == 1) return Match{interior, single_input_node("HardSwish", "", *v, last)};
    return std::nullopt;
  }
  const bool divide = is_op(last, "Div") && last.inputs.size() == 2 && is_scalar_constant(graph, last.input(1), 6.0f);
  const bool multiply = is_op(last, "Mul") && last.inputs.size() == 2;
  if (!divide && !multiply) return std::nullopt;
  for (int side = 0; side < (divide ? 1 : 2); ++side) {
    const std::string& product = last.inputs[side];
    if (multiply && !is_scalar_constant(graph, last.inputs[1 - side], kSixth, kConstantTolerance)) continue;
    size_t mul_position;
    const Node* mul = producer_of(graph, index, product, "Mul", 1, &mul_position);
    if (!mul) continue;
    interior.clear();
    if (auto v = hard_swish_core(graph, index, *mul, opset, interior); v && interior.size() == 2) {
      interior.push_back(mul_position);
      return Match{interior, single_input_node("HardSwish", "", *v, last)};
    }
  }
  return std::nullopt;
}

std::optional<Match> match_swish(const Graph& graph, const GraphIndex& index, const Node& last) {
  if (!is_op(last, "Mul") || last.inputs.size() != 2) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    const std::string& v = last.inputs[side];
    size_t sigmoid_position;
    const Node* sigmoid = producer_of(graph, index, last.inputs[1 - side], "Sigmoid", 1, &sigmoid_position);
    if (!sigmoid) continue;
    std::vector<size_t> interior{sigmoid_position};
    if (sigmoid->input(0) != v) {
      size_t scale_position;
      const Node* scale = producer_of(graph, index, sigmoid->input(0), "Mul", 1, &scale_position);
      if (!scale || other_input(*scale, v).empty() || !is_scalar_constant(graph, other_input(*scale, v), 1.0f))
        continue;
      interior.push_back(scale_position);
    }
    return Match{interior, single_input_node("Swish", kOctetDomain, v, last)};
  }
  return std::nullopt;
}

// ReduceMean over the last axis only, keeping dims.
bool is_last_axis_mean(const Graph& graph, const Node& node, int64_t opset) {
  if (!is_op(node, "ReduceMean") || node.attr_int("keepdims", 1) != 1) return false;
  std::vector<int64_t> axes;
  if (opset >= 18) {
    const Tensor* tensor = node.has_input(1) ? graph.find_initializer(node.input(1)) : nullptr;
    if (!tensor) return false;
    axes = tensor->to_int64_vector();
  } else {
    axes = node.attr_ints("axes", {});
  }
  if (axes.size() != 1) return false;
  if (axes[0] == -1) return true;
  const std::optional<ValueInfo> info = graph.find_value_info(node.input(0));
  return info && info->has_shape && axes[0] == static_cast<int64_t>(info->dims.size()) - 1;
}

std::optional<Match> match_layer_norm(Graph& graph, const GraphIndex& index, const Node& last, int64_t opset,
                                      UniqueNamer& namer) {
  // Find the Div(d, Sqrt(...)) at the core, possibly followed by Mul(gamma) and Add(beta).
  const Node* add_beta = nullptr;
  const Node* mul_gamma = nullptr;
  const Node* div = &last;
  std::vector<size_t> interior;
  if (is_op(last, "Add") && last.inputs.size() == 2) {
    for (int side = 0; side < 2 && !mul_gamma; ++side) {
      size_t position = 0;
      const Node* mul = producer_of(graph, index, last.inputs[side], "Mul", 1, &position);
      const Tensor* beta = graph.find_initializer(last.inputs[1 - side]);
      if (!mul || !beta || beta->dtype() != DataType::kFloat || beta->rank() != 1) continue;
      for (int mul_side = 0; mul_side < 2; ++mul_side) {
        size_t div_position = 0;
        const Node* candidate = producer_of(graph, index, mul->inputs[mul_side], "Div", 1, &div_position);
        const Tensor* gamma = graph.find_initializer(mul->inputs[1 - mul_side]);
        if (!candidate || !gamma || gamma->dtype() != DataType::kFloat || gamma->shape() != beta->shape()) continue;
        add_beta = &last;
        mul_gamma = mul;
        div = candidate;
        interior = {position, div_position};
        break;
      }
    }
    if (!mul_gamma) return std::nullopt;
  }
  if (!is_op(*div, "Div") || div->inputs.size() != 2) return std::nullopt;
  const std::string& d = div->input(0);
  size_t sqrt_position, add_position, variance_position, pow_position, sub_position, mean_position;
  const Node* sqrt = producer_of(graph, index, div->input(1), "Sqrt", 1, &sqrt_position);
  if (!sqrt) return std::nullopt;
  const Node* add_epsilon = producer_of(graph, index, sqrt->input(0), "Add", 1, &add_position);
  if (!add_epsilon || add_epsilon->inputs.size() != 2) return std::nullopt;
  std::optional<float> epsilon = scalar_constant(graph, add_epsilon->input(1));
  const std::string variance_name = add_epsilon->input(0);
  if (!epsilon) return std::nullopt;
  const Node* variance = producer_of(graph, index, variance_name, "ReduceMean", 1, &variance_position);
  if (!variance || !is_last_axis_mean(graph, *variance, opset)) return std::nullopt;
  const Node* pow = producer_of(graph, index, variance->input(0), "Pow", 1, &pow_position);
  if (!pow || pow->input(0) != d || !is_scalar_constant(graph, pow->input(1), 2.0f)) return std::nullopt;
  const Node* sub = producer_of(graph, index, d, "Sub", 2, &sub_position);
  if (!sub) return std::nullopt;
  const std::string& x = sub->input(0);
  const Node* mean = producer_of(graph, index, sub->input(1), "ReduceMean", 1, &mean_position);
  if (!mean || mean->input(0) != x || !is_last_axis_mean(graph, *mean, opset)) return std::nullopt;
  if (!mul_gamma && div != &last) return std::nullopt;

  interior.insert(interior.end(), {sqrt_position, add_position, variance_position, pow_position, sub_position,
                                   mean_position});
  Node replacement = single_input_node("LayerNormalization", "", x, last);
  std::string gamma_name, beta_name;
  if (mul_gamma) {
    gamma_name = mul_gamma->inputs[0] == div->outputs[0] ? mul_gamma->inputs[1] : mul_gamma->inputs[0];
    beta_name = add_beta->inputs[0] == mul_gamma->outputs[0] ? add_beta->inputs[1] : add_beta->inputs[0];
  } else {
    // Without an affine tail, scale by ones; the width comes from the declared shape.
    const std::optional<ValueInfo> info = graph.find_value_info(x);
    if (!info || !info->has_shape || info->dims.empty() || !info->dims.back().is_known()) return std::nullopt;
    Tensor ones(DataType::kFloat, {info->dims.back().value});
    for (int64_t i = 0; i < ones.element_count(); ++i) ones.data<float>()[i] = 1.0f;
    gamma_name = namer.make(last.outputs[0] + "_layer_norm_scale");
    graph.initializers[gamma_name] = std::make_shared<const Tensor>(std::move(ones));
  }
  replacement.inputs = {x, gamma_name};
  if (!beta_name.empty()) replacement.inputs.push_back(beta_name);
  Attribute axis{.name = "axis", .type = AttributeType::kInt, .i = -1};
  Attribute epsilon_attribute{.name = "epsilon", .type = AttributeType::kFloat, .f = *epsilon};
  replacement.attributes = {axis, epsilon_attribute};
  return Match{interior, replacement};
}

}  // namespace

bool fuse_activation_patterns(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  const int64_t opset = model.opset("");
  UniqueNamer namer(graph);
  bool changed = false;
  for (bool rewrote = true; rewrote;) {
    rewrote = false;
    const GraphIndex index(graph);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& last = graph.nodes[i];
      if (last.outputs.size() != 1) continue;
      std::optional<Match> match = match_hard_swish(graph, index, last, opset);
      if (!match) match = match_swish(graph, index, last);
      if (!match) match = match_layer_norm(graph, index, last, opset, namer);
      if (!match) continue;
      graph.nodes[i] = std::move(match->replacement);
      std::vector<bool> removed(graph.nodes.size(), false);
      for (size_t position : match->interior) removed[position] = true;
      erase_flagged_nodes(graph, removed);
      rewrote = changed = true;
      break;  // indices moved: rebuild the index
    }
  }
  return changed;
}

}  // namespace octet
