#include "quant/smooth_quant.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "octet/status.h"
#include "passes/graph_edit.h"
#include "passes/pattern_util.h"
#include "quant/channel_statistics.h"

namespace octet {
namespace {

constexpr size_t kActivationInput = 0;
constexpr size_t kWeightInput = 1;
constexpr size_t kGemmBiasInput = 2;
constexpr size_t kLayerNormScaleInput = 1;
constexpr size_t kLayerNormBiasInput = 2;
constexpr int64_t kLastAxis = -1;
constexpr int64_t kFirstAxis = 0;

// A node whose input 0 (the activation, channels on its last axis) meets a constant weight whose
// rows (or columns when transposed) are indexed by the activation's channel.
struct SmoothingTarget {
  size_t node = 0;
  int64_t weight_channel_axis = 0;  // axis of the weight indexed by the activation channel
  int64_t channels = 0;
};

// One constant input to rescale along an axis: divided by s, or multiplied for a divisor.
struct ConstantEdit {
  size_t node = 0;
  size_t input = 0;
  int64_t axis = kLastAxis;
  bool multiply = false;
};

const Tensor* float_initializer(const Graph& graph, const std::string& value_name) {
  const Tensor* tensor = graph.find_initializer(value_name);
  return tensor && tensor->dtype() == DataType::kFloat && tensor->layout() == Layout::kPlain ? tensor : nullptr;
}

bool is_onnx_op(const Node& node, const char* op_type) { return node.domain.empty() && node.op_type == op_type; }

// MatMul(X, W[K, N]) or Gemm(X, B, C) with transA = 0: both read channel k of X against row k of
// W (column k of B when transB).
std::optional<SmoothingTarget> smoothing_target(const Graph& graph, size_t index) {
  const Node& node = graph.nodes[index];
  const bool matmul = is_onnx_op(node, "MatMul");
  const bool gemm = is_onnx_op(node, "Gemm");
  if (!matmul && !gemm) return std::nullopt;
  const std::string& activation = node.input(kActivationInput);
  if (activation.empty() || graph.find_initializer(activation)) return std::nullopt;
  const Tensor* weight = float_initializer(graph, node.input(kWeightInput));
  if (!weight || weight->rank() != 2) return std::nullopt;
  if (gemm && node.attr_int("transA", 0) != 0) return std::nullopt;
  const bool transposed = gemm && node.attr_int("transB", 0) != 0;
  const int64_t axis = transposed ? 1 : 0;
  return SmoothingTarget{index, axis, weight->dim(axis)};
}

// Whether `tensor` can be rescaled along `axis` for `channels` channels: that axis has `channels`
// elements, or (last axis only) one element or no axis at all, then broadcast to `channels`.
bool scalable_along(const Tensor& tensor, int64_t axis, int64_t channels) {
  if (axis == kLastAxis)
    return tensor.rank() == 0 || tensor.dim(tensor.rank() - 1) == channels || tensor.dim(tensor.rank() - 1) == 1;
  return tensor.rank() > axis && tensor.dim(axis) == channels;
}

// `tensor` with element [..., c, ...] (c on `axis`) divided by factor[c], or multiplied when
// `multiply`. A last axis of size 1 (or a scalar) is first broadcast to factor.size() channels.
Tensor scaled_along(const Tensor& tensor, int64_t axis, const std::vector<double>& factor, bool multiply) {
  const auto channels = static_cast<int64_t>(factor.size());
  Shape shape = tensor.shape();
  if (shape.empty()) shape.push_back(1);
  const int64_t resolved_axis = axis == kLastAxis ? static_cast<int64_t>(shape.size()) - 1 : axis;
  const int64_t source_channels = shape[static_cast<size_t>(resolved_axis)];
  shape[static_cast<size_t>(resolved_axis)] = channels;
  Tensor result(DataType::kFloat, shape);
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(resolved_axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t outer = result.element_count() / (channels * inner);
  const float* source = tensor.data<float>();
  float* destination = result.data<float>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const double value_factor = factor[static_cast<size_t>(c)];
      const int64_t source_channel = source_channels == 1 ? 0 : c;
      const float* from = source + (o * source_channels + source_channel) * inner;
      float* to = destination + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i)
        to[i] = static_cast<float>(multiply ? from[i] * value_factor : from[i] / value_factor);
    }
  }
  return result;
}

// Per channel k of the target's activation: max over the other axis of |W|.
std::vector<double> weight_abs_max(const Tensor& weight, int64_t channel_axis) {
  const int64_t rows = weight.dim(0), columns = weight.dim(1);
  std::vector<double> result(static_cast<size_t>(weight.dim(channel_axis)), 0.0);
  const float* values = weight.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c) {
      double& slot = result[static_cast<size_t>(channel_axis == 0 ? r : c)];
      slot = std::max(slot, static_cast<double>(std::fabs(values[r * columns + c])));
    }
  return result;
}

// numpy.quantile's default (linear interpolation between order statistics).
double linear_quantile(std::vector<double> values, double probability) {
  std::sort(values.begin(), values.end());
  const double position = probability * static_cast<double>(values.size() - 1);
  const auto below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}

struct CandidateScale {
  std::vector<double> scale;
  double evenness = 0.0;  // min / max over the smoothed channels
};

// NNCF's candidate for one target: s_k = a_k^alpha / w_k^(1 - alpha), clipped to
// [10% quantile, 100]; channels where either maximum is 0 keep 1. Nullopt when no channel qualifies.
std::optional<CandidateScale> candidate_scale(const std::vector<double>& activation_max,
                                              const std::vector<double>& weight_max, double alpha) {
  CandidateScale candidate;
  candidate.scale.assign(activation_max.size(), 1.0);
  std::vector<size_t> smoothed;
  std::vector<double> raw;
  for (size_t k = 0; k < activation_max.size(); ++k) {
    if (activation_max[k] <= 0.0 || weight_max[k] <= 0.0) continue;
    smoothed.push_back(k);
    raw.push_back(std::pow(activation_max[k], alpha) / std::pow(weight_max[k], 1.0 - alpha));
  }
  if (smoothed.empty()) return std::nullopt;
  const double low = linear_quantile(raw, kSmoothQuantMinScaleQuantile);
  const double high = std::max(low, static_cast<double>(kSmoothQuantMaxScale));
  double smallest = high, largest = low;
  for (size_t i = 0; i < smoothed.size(); ++i) {
    const double value = std::clamp(raw[i], low, high);
    candidate.scale[smoothed[i]] = value;
    smallest = std::min(smallest, value);
    largest = std::max(largest, value);
  }
  candidate.evenness = smallest / largest;
  return candidate;
}

double abs_max_ratio(const std::vector<double>& activation_max, const std::vector<double>& scale) {
  double smallest = 0.0, largest = 0.0;
  for (size_t k = 0; k < activation_max.size(); ++k) {
    const double value = activation_max[k] / scale[k];
    if (value <= 0.0) continue;
    smallest = smallest == 0.0 ? value : std::min(smallest, value);
    largest = std::max(largest, value);
  }
  return smallest > 0.0 ? largest / smallest : 1.0;
}

// Readers of `value` that use its values: Shape and Size read only the shape, which rescaling keeps.
size_t value_reader_count(const Graph& graph, const GraphIndex& index, const std::string& value) {
  const auto found = index.consumers.find(value);
  if (found == index.consumers.end()) return 0;
  return static_cast<size_t>(std::count_if(found->second.begin(), found->second.end(), [&](size_t reader) {
    const Node& node = graph.nodes[reader];
    return !is_onnx_op(node, "Shape") && !is_onnx_op(node, "Size");
  }));
}

// Plans dividing `value` (channels on its last axis) by s inside its producer; appends the edits
// and returns true when the producer can absorb it (see the header for the ops).
bool plan_fold(const Graph& graph, const GraphIndex& index, const std::string& value, int64_t channels,
               std::vector<ConstantEdit>& edits) {
  if (graph.is_graph_input(value) || graph.is_graph_output(value)) return false;
  const std::optional<size_t> producer_index = index.producer(value);
  if (!producer_index) return false;
  const size_t producer = *producer_index;
  const Node& node = graph.nodes[producer];
  if (node.outputs.empty() || node.outputs[0] != value) return false;

  if (is_onnx_op(node, "MatMul")) {
    const Tensor* weight = float_initializer(graph, node.input(kWeightInput));
    if (!weight || weight->rank() != 2 || weight->dim(1) != channels) return false;
    edits.push_back({producer, kWeightInput, kLastAxis, false});
    return true;
  }
  if (is_onnx_op(node, "Gemm")) {
    const Tensor* weight = float_initializer(graph, node.input(kWeightInput));
    if (!weight || weight->rank() != 2) return false;
    const int64_t column_axis = node.attr_int("transB", 0) != 0 ? kFirstAxis : 1;
    if (weight->dim(column_axis) != channels) return false;
    if (node.has_input(kGemmBiasInput)) {
      const Tensor* bias = float_initializer(graph, node.input(kGemmBiasInput));
      if (!bias || !scalable_along(*bias, kLastAxis, channels)) return false;
      edits.push_back({producer, kGemmBiasInput, kLastAxis, false});
    }
    edits.push_back({producer, kWeightInput, column_axis == kFirstAxis ? kFirstAxis : kLastAxis, false});
    return true;
  }
  if (is_onnx_op(node, "LayerNormalization")) {
    const Tensor* scale = float_initializer(graph, node.input(kLayerNormScaleInput));
    if (!scale || scale->rank() != 1 || scale->dim(0) != channels || node.attr_int("axis", -1) != -1) return false;
    if (node.has_input(kLayerNormBiasInput)) {
      const Tensor* bias = float_initializer(graph, node.input(kLayerNormBiasInput));
      if (!bias || bias->rank() != 1 || bias->dim(0) != channels) return false;
      edits.push_back({producer, kLayerNormBiasInput, kLastAxis, false});
    }
    edits.push_back({producer, kLayerNormScaleInput, kLastAxis, false});
    return true;
  }
  const bool add = is_onnx_op(node, "Add") || is_onnx_op(node, "Sub");
  const bool mul = is_onnx_op(node, "Mul");
  const bool div = is_onnx_op(node, "Div");
  if ((!add && !mul && !div) || node.inputs.size() != 2) return false;
  // Div only by a constant: (y / c) / s = y / (c * s).
  std::optional<size_t> constant_input;
  if (float_initializer(graph, node.inputs[1])) {
    constant_input = 1;
  } else if (!div && float_initializer(graph, node.inputs[0])) {
    constant_input = 0;
  } else {
    return false;
  }
  const Tensor& constant = *graph.find_initializer(node.inputs[*constant_input]);
  const std::string& other = node.inputs[1 - *constant_input];
  if (other.empty() || graph.find_initializer(other) || !scalable_along(constant, kLastAxis, channels)) return false;
  edits.push_back({producer, *constant_input, kLastAxis, div});
  if (!add) return true;
  // (y + c) / s = y / s + c / s: y must be divided too, and nothing else may read it.
  if (value_reader_count(graph, index, other) != 1) return false;
  return plan_fold(graph, index, other, channels, edits);
}

// Points input `input` of the node at a new initializer holding `tensor`, named after the old one.
void set_constant_input(Graph& graph, Node& node, size_t input, Tensor tensor, UniqueNamer& namer,
                        std::set<std::string>& replaced) {
  replaced.insert(node.input(input));
  const std::string name = namer.make(node.input(input) + "_smoothed");
  graph.initializers[name] = std::make_shared<const Tensor>(std::move(tensor));
  node.inputs[input] = name;
}

void rescale_constant(Graph& graph, const ConstantEdit& edit, const std::vector<double>& scale, UniqueNamer& namer,
                      std::set<std::string>& replaced) {
  Node& node = graph.nodes[edit.node];
  Tensor rescaled = scaled_along(*graph.find_initializer(node.input(edit.input)), edit.axis, scale, edit.multiply);
  set_constant_input(graph, node, edit.input, std::move(rescaled), namer, replaced);
}

void drop_unused_initializers(Graph& graph, const std::set<std::string>& candidates) {
  std::set<std::string> read;
  for (const Node& node : graph.nodes) read.insert(node.inputs.begin(), node.inputs.end());
  for (const std::string& name : candidates)
    if (!read.count(name) && !graph.is_graph_output(name)) graph.initializers.erase(name);
}

}  // namespace

std::vector<std::string> apply_smooth_quant(Model& model, const CalibrationData& data, float alpha,
                                            const CalibrationOptions& options) {
  check(alpha >= 0.0f && alpha <= 1.0f, "SmoothQuant alpha must be in [0, 1], got ", alpha);
  Graph& graph = model.graph;

  // Targets grouped by the activation they read, in node order.
  std::map<std::string, std::vector<SmoothingTarget>> groups;
  std::vector<std::string> group_order;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const std::optional<SmoothingTarget> target = smoothing_target(graph, n);
    if (!target) continue;
    const std::string& activation = graph.nodes[n].input(kActivationInput);
    if (!groups.count(activation)) group_order.push_back(activation);
    groups[activation].push_back(*target);
  }
  if (groups.empty()) return {};

  std::map<std::string, int64_t> channel_axes;
  for (const std::string& activation : group_order) channel_axes[activation] = kLastAxis;
  const std::map<std::string, ChannelStatistics> statistics =
      collect_channel_statistics(model, data, channel_axes, /*bin_count=*/0, options);

  const GraphIndex index(graph);
  UniqueNamer namer(graph);
  std::set<std::string> replaced;
  std::vector<Node> inserted;
  std::vector<std::string> lines;
  for (const std::string& activation : group_order) {
    const std::vector<SmoothingTarget>& targets = groups.at(activation);
    const ChannelStatistics& activation_statistics = statistics.at(activation);
    const int64_t channels = activation_statistics.channel_count();
    // Members must all read the activation's last axis against their weight's channel axis; a
    // mismatch means the MatMul broadcasts (a vector input) and is left alone.
    const bool consistent = std::all_of(targets.begin(), targets.end(),
                                        [&](const SmoothingTarget& target) { return target.channels == channels; });
    if (!consistent) continue;

    std::vector<double> activation_max(static_cast<size_t>(channels));
    for (int64_t k = 0; k < channels; ++k) activation_max[static_cast<size_t>(k)] = activation_statistics.abs_max(k);
    std::optional<CandidateScale> best;
    for (const SmoothingTarget& target : targets) {
      const Node& node = graph.nodes[target.node];
      const std::vector<double> weight_max =
          weight_abs_max(*graph.find_initializer(node.input(kWeightInput)), target.weight_channel_axis);
      std::optional<CandidateScale> candidate = candidate_scale(activation_max, weight_max, alpha);
      if (candidate && (!best || candidate->evenness > best->evenness)) best = std::move(candidate);
    }
    if (!best) continue;
    const std::vector<double>& scale = best->scale;

    for (const SmoothingTarget& target : targets) {
      ConstantEdit weight_edit{target.node, kWeightInput, target.weight_channel_axis == 0 ? kFirstAxis : kLastAxis,
                               /*multiply=*/true};
      rescale_constant(graph, weight_edit, scale, namer, replaced);
    }

    std::vector<ConstantEdit> fold;
    const bool group_reads_all = value_reader_count(graph, index, activation) == targets.size();
    std::string placement;
    if (group_reads_all && plan_fold(graph, index, activation, channels, fold)) {
      std::set<size_t> folded_nodes;
      for (const ConstantEdit& edit : fold) {
        rescale_constant(graph, edit, scale, namer, replaced);
        folded_nodes.insert(edit.node);
      }
      placement = "folded into";
      for (size_t node : folded_nodes) placement += " " + graph.nodes[node].describe();
    } else {
      std::vector<double> inverse(scale.size());
      for (size_t k = 0; k < scale.size(); ++k) inverse[k] = 1.0 / scale[k];
      std::vector<float> inverse_values(inverse.begin(), inverse.end());
      Node multiply;
      multiply.name = namer.make(activation + "_smooth_quant");
      multiply.op_type = "Mul";
      const std::string factor_name = namer.make(activation + "_smooth_quant_scale");
      graph.initializers[factor_name] =
          std::make_shared<const Tensor>(Tensor::from_vector<float>({channels}, inverse_values));
      const std::string smoothed = namer.make(activation + "_smoothed");
      multiply.inputs = {activation, factor_name};
      multiply.outputs = {smoothed};
      for (const SmoothingTarget& target : targets) graph.nodes[target.node].inputs[kActivationInput] = smoothed;
      if (const auto info = graph.find_value_info(activation); info && !graph.is_graph_input(activation)) {
        ValueInfo smoothed_info = *info;
        smoothed_info.name = smoothed;
        graph.value_infos[smoothed] = smoothed_info;
      }
      placement = concat("inserted Mul '", multiply.name, "'");
      inserted.push_back(std::move(multiply));
    }
    const Node& first = graph.nodes[targets.front().node];
    lines.push_back(concat(first.describe(), " (", targets.size(), targets.size() == 1 ? " node" : " nodes", ") on '",
                           activation, "': ", channels, " channels, activation abs-max max/min ",
                           abs_max_ratio(activation_max, std::vector<double>(scale.size(), 1.0)), " -> ",
                           abs_max_ratio(activation_max, scale), ", ", placement));
  }
  if (!inserted.empty()) {
    for (Node& node : inserted) graph.nodes.push_back(std::move(node));
    graph.topological_sort();
  }
  drop_unused_initializers(graph, replaced);
  return lines;
}

}  // namespace octet
