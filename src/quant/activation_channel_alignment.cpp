#include "quant/activation_channel_alignment.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "octet/status.h"
#include "passes/graph_edit.h"
#include "quant/channel_statistics.h"

namespace octet {
namespace {

constexpr size_t kConvWeightInput = 1;
constexpr size_t kConvBiasInput = 2;
constexpr int64_t kConvChannelAxis = 1;
// Conv weights are [C_out, C_in / group, k...]: output channels on axis 0, input channels on axis 1.
constexpr int64_t kMinimumConvWeightRank = 3;

struct AlignmentPair {
  size_t producer = 0;  // node indices
  size_t consumer = 0;
  std::string value;  // the activation between them
  int64_t channels = 0;
};

const Tensor* float_initializer(const Graph& graph, const std::string& value_name) {
  const Tensor* tensor = graph.find_initializer(value_name);
  return tensor && tensor->dtype() == DataType::kFloat && tensor->layout() == Layout::kPlain ? tensor : nullptr;
}

bool is_onnx_conv(const Node& node) { return node.domain.empty() && node.op_type == "Conv"; }

// A Conv whose weight and bias (if any) are float constants: the weight of output channel c is
// W[c], the only parameters channel c depends on.
bool has_constant_parameters(const Node& node, const Graph& graph) {
  const Tensor* weight = float_initializer(graph, node.input(kConvWeightInput));
  if (!weight || weight->rank() < kMinimumConvWeightRank) return false;
  if (!node.has_input(kConvBiasInput)) return true;
  const Tensor* bias = float_initializer(graph, node.input(kConvBiasInput));
  return bias && bias->rank() == 1 && bias->dim(0) == weight->dim(0);
}

bool all_equal(const std::vector<int64_t>& values, int64_t expected) {
  return std::all_of(values.begin(), values.end(), [&](int64_t value) { return value == expected; });
}

// Group 1, strides 1, dilations 1 and no padding: each output reads whole windows of real input
// values of every channel, so a per-channel shift of the input moves the outputs by a constant.
bool is_plain_consumer(const Node& node, const Graph& graph) {
  if (!has_constant_parameters(node, graph)) return false;
  if (node.attr_int("group", 1) != 1) return false;
  if (!all_equal(node.attr_ints("strides", {}), 1) || !all_equal(node.attr_ints("dilations", {}), 1)) return false;
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") return all_equal(node.attr_ints("pads", {}), 0);
  if (auto_pad == "VALID") return true;
  // SAME_UPPER / SAME_LOWER pad nothing only for a kernel of one element per axis.
  const Tensor& weight = *graph.find_initializer(node.input(kConvWeightInput));
  for (int64_t d = 2; d < weight.rank(); ++d)
    if (weight.dim(d) != 1) return false;
  return true;
}

std::vector<AlignmentPair> find_alignment_pairs(const Graph& graph) {
  const std::map<std::string, size_t> producers = graph.producer_index();
  const std::map<std::string, std::vector<size_t>> consumers = graph.consumer_indices();
  std::vector<AlignmentPair> pairs;
  for (size_t consumer = 0; consumer < graph.nodes.size(); ++consumer) {
    const Node& consumer_node = graph.nodes[consumer];
    if (!is_onnx_conv(consumer_node) || !is_plain_consumer(consumer_node, graph)) continue;
    const std::string& value = consumer_node.input(0);
    const auto producer = producers.find(value);
    if (value.empty() || producer == producers.end() || graph.is_graph_output(value)) continue;
    const auto readers = consumers.find(value);
    if (readers == consumers.end() || readers->second.size() != 1) continue;
    const Node& producer_node = graph.nodes[producer->second];
    if (!is_onnx_conv(producer_node) || !has_constant_parameters(producer_node, graph)) continue;
    const int64_t channels = graph.find_initializer(producer_node.input(kConvWeightInput))->dim(0);
    if (graph.find_initializer(consumer_node.input(kConvWeightInput))->dim(1) != channels) continue;
    pairs.push_back({producer->second, consumer, value, channels});
  }
  return pairs;
}

// A plain float copy of a constant input, or zeros of `fallback_shape` when the input is absent.
Tensor constant_copy(const Graph& graph, const Node& node, size_t input, const Shape& fallback_shape) {
  if (!node.has_input(input)) return Tensor(DataType::kFloat, fallback_shape);
  return graph.find_initializer(node.input(input))->clone();
}

// Points input `input` of the node at a new initializer holding `tensor`, named after the old one.
void set_constant_input(Graph& graph, Node& node, size_t input, Tensor tensor, UniqueNamer& namer,
                        std::set<std::string>& replaced) {
  const std::string base = node.has_input(input) ? node.input(input) : concat(node.name, "_bias");
  if (node.has_input(input)) replaced.insert(node.input(input));
  const std::string name = namer.make(base + "_aligned");
  graph.initializers[name] = std::make_shared<const Tensor>(std::move(tensor));
  if (node.inputs.size() <= input) node.inputs.resize(input + 1);
  node.inputs[input] = name;
}

void drop_unused_initializers(Graph& graph, const std::set<std::string>& candidates) {
  std::set<std::string> read;
  for (const Node& node : graph.nodes) read.insert(node.inputs.begin(), node.inputs.end());
  for (const std::string& name : candidates)
    if (!read.count(name) && !graph.is_graph_output(name)) graph.initializers.erase(name);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2.0;
}

// max / min over the positive spans (1 when fewer than one is positive).
double span_ratio(const std::vector<double>& spans) {
  double smallest = 0.0, largest = 0.0;
  for (double span : spans) {
    if (span <= 0.0) continue;
    smallest = smallest == 0.0 ? span : std::min(smallest, span);
    largest = std::max(largest, span);
  }
  return smallest > 0.0 ? largest / smallest : 1.0;
}

// Applies the shift and scale of one pair (see the header for the formulas) to the current
// parameters of its two nodes; returns the summary line.
std::string align_pair(Graph& graph, const AlignmentPair& pair, const ChannelStatistics& statistics, UniqueNamer& namer,
                       std::set<std::string>& replaced) {
  const int64_t channels = pair.channels;
  std::vector<double> midpoint(static_cast<size_t>(channels)), span(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const double low = statistics.quantile(c, kAlignmentOutlierProbability);
    const double high = statistics.quantile(c, 1.0 - kAlignmentOutlierProbability);
    midpoint[static_cast<size_t>(c)] = (low + high) / 2.0;
    span[static_cast<size_t>(c)] = high - low;
  }
  std::vector<double> positive_spans;
  for (double value : span)
    if (value > 0.0) positive_spans.push_back(value);
  std::vector<double> scale(static_cast<size_t>(channels), 1.0);
  if (!positive_spans.empty()) {
    const double reference = median(positive_spans);
    for (int64_t c = 0; c < channels; ++c) {
      const double value = span[static_cast<size_t>(c)];
      if (value > 0.0)
        scale[static_cast<size_t>(c)] = std::clamp(value / reference, static_cast<double>(kAlignmentMinScale),
                                                   static_cast<double>(kAlignmentMaxScale));
    }
  }

  Node& producer = graph.nodes[pair.producer];
  Node& consumer = graph.nodes[pair.consumer];
  Tensor weight_in = graph.find_initializer(producer.input(kConvWeightInput))->clone();
  Tensor bias_in = constant_copy(graph, producer, kConvBiasInput, {channels});
  Tensor weight_out = graph.find_initializer(consumer.input(kConvWeightInput))->clone();
  const int64_t outputs = weight_out.dim(0);
  Tensor bias_out = constant_copy(graph, consumer, kConvBiasInput, {outputs});

  const int64_t kernel_size = weight_out.element_count() / (outputs * channels);
  float* weight_out_values = weight_out.data<float>();
  float* bias_out_values = bias_out.data<float>();
  for (int64_t o = 0; o < outputs; ++o) {
    double moved = 0.0;  // what the shift removes from output o, given back through its bias
    for (int64_t c = 0; c < channels; ++c) {
      const float* filter = weight_out_values + (o * channels + c) * kernel_size;
      double filter_sum = 0.0;
      for (int64_t k = 0; k < kernel_size; ++k) filter_sum += filter[k];
      moved += filter_sum * midpoint[static_cast<size_t>(c)];
    }
    bias_out_values[o] = static_cast<float>(bias_out_values[o] + moved);
  }

  const int64_t filter_size = weight_in.element_count() / channels;
  float* weight_in_values = weight_in.data<float>();
  float* bias_in_values = bias_in.data<float>();
  for (int64_t c = 0; c < channels; ++c) {
    const double channel_scale = scale[static_cast<size_t>(c)];
    bias_in_values[c] = static_cast<float>((bias_in_values[c] - midpoint[static_cast<size_t>(c)]) / channel_scale);
    float* filter = weight_in_values + c * filter_size;
    for (int64_t k = 0; k < filter_size; ++k) filter[k] = static_cast<float>(filter[k] / channel_scale);
    for (int64_t o = 0; o < outputs; ++o) {
      float* column = weight_out_values + (o * channels + c) * kernel_size;
      for (int64_t k = 0; k < kernel_size; ++k) column[k] = static_cast<float>(column[k] * channel_scale);
    }
  }

  std::vector<double> aligned_span(span);
  for (int64_t c = 0; c < channels; ++c) aligned_span[static_cast<size_t>(c)] /= scale[static_cast<size_t>(c)];
  const std::string line =
      concat(producer.describe(), " -> ", consumer.describe(), ": ", channels, " channels, channel range max/min ",
             span_ratio(span), " -> ", span_ratio(aligned_span));

  set_constant_input(graph, producer, kConvWeightInput, std::move(weight_in), namer, replaced);
  set_constant_input(graph, producer, kConvBiasInput, std::move(bias_in), namer, replaced);
  set_constant_input(graph, consumer, kConvWeightInput, std::move(weight_out), namer, replaced);
  set_constant_input(graph, consumer, kConvBiasInput, std::move(bias_out), namer, replaced);
  return line;
}

}  // namespace

std::vector<std::string> align_activation_channels(Model& model, const CalibrationData& data,
                                                   const CalibrationOptions& options) {
  Graph& graph = model.graph;
  const std::vector<AlignmentPair> pairs = find_alignment_pairs(graph);
  if (pairs.empty()) return {};

  std::map<std::string, int64_t> channel_axes;
  for (const AlignmentPair& pair : pairs) channel_axes[pair.value] = kConvChannelAxis;
  const std::map<std::string, ChannelStatistics> statistics =
      collect_channel_statistics(model, data, channel_axes, ChannelStatistics::kDefaultBinCount, options);

  // Pairs may chain (A -> B -> C): B is the consumer of one and the producer of the next. Each
  // alignment reads the parameters as the previous one left them, and the statistics stay valid
  // because an alignment leaves the consumer's output unchanged.
  UniqueNamer namer(graph);
  std::set<std::string> replaced;
  std::vector<std::string> lines;
  for (const AlignmentPair& pair : pairs) {
    const ChannelStatistics& value_statistics = statistics.at(pair.value);
    check(value_statistics.channel_count() == pair.channels, "value '", pair.value, "' of ",
          graph.nodes[pair.producer].describe(), " has ", value_statistics.channel_count(),
          " channels at run time, its weight has ", pair.channels);
    lines.push_back(align_pair(graph, pair, value_statistics, namer, replaced));
  }
  drop_unused_initializers(graph, replaced);
  return lines;
}

}  // namespace octet
