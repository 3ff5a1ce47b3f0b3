#include "runtime/model_stats.h"

#include <algorithm>
#include <functional>
#include <set>

#include "runtime/builtin_kernels.h"
#include "runtime/session.h"

namespace octet {
namespace {

// Batch size assumed for a dynamic first dimension when counting MACs without --shape.
constexpr int64_t kDefaultBatch = 1;

// The op name as shown in histograms: "Conv" for ai.onnx, "com.microsoft.QGemm" otherwise.
std::string qualified_op_type(const Node& node) {
  return node.domain.empty() ? node.op_type : node.domain + "." + node.op_type;
}

std::string node_display_name(const Node& node, size_t index) {
  return node.name.empty() ? concat("#", index, " (", node.op_type, ")") : node.name;
}

std::string input_names(const std::vector<ValueInfo>& inputs) {
  std::string names;
  for (const auto& input : inputs) names += (names.empty() ? "" : ", ") + input.name;
  return names.empty() ? "none" : names;
}

// A --shape value to suggest for an input with unknown dimensions: known ones as declared, an
// unknown first dimension (usually the batch) as 1, other unknown ones as N for the user to fill.
std::string example_shape(const ValueInfo& input) {
  if (!input.has_shape) return "DIMxDIMx...";
  std::string text;
  for (size_t i = 0; i < input.dims.size(); ++i) {
    text += i ? "x" : "";
    text += input.dims[i].is_known() ? std::to_string(input.dims[i].value) : (i == 0 ? "1" : "N");
  }
  return text;
}

// Product of dims[first..]; the element count of a weight's slice for one output channel.
int64_t product_from(const Shape& dims, size_t first) {
  int64_t product = 1;
  for (size_t i = first; i < dims.size(); ++i) product *= dims[i];
  return product;
}

// Shape of a value from what the model declares or ONNX shape inference recorded at load time,
// when every dimension is known.
std::optional<Shape> inferred_shape(const Graph& graph, const std::string& value_name) {
  if (const Tensor* constant = graph.find_initializer(value_name)) return constant->shape();
  std::optional<ValueInfo> info = graph.find_value_info(value_name);
  if (!info || !info->has_shape) return std::nullopt;
  Shape shape;
  for (const Dimension& dim : info->dims) {
    if (!dim.is_known()) return std::nullopt;
    shape.push_back(dim.value);
  }
  return shape;
}

// Runs the unoptimized model once on zero-filled inputs and returns the shape of every value it
// computes. Every node output is made a graph output so that the session keeps it.
// TODO: replace the extra outputs by a per-node observer in Session, which would not need to keep
// every intermediate tensor alive until the end of the run.
std::map<std::string, Shape> record_value_shapes(const Model& model, const std::map<std::string, Shape>& input_shapes,
                                                 int threads) {
  Model recording = model;
  Graph& graph = recording.graph;
  std::set<std::string> already_output;
  for (const auto& output : graph.outputs) already_output.insert(output.name);
  for (const Node& node : graph.nodes) {
    for (const std::string& output : node.outputs) {
      if (output.empty() || !already_output.insert(output).second) continue;
      ValueInfo info;
      info.name = output;
      graph.outputs.push_back(std::move(info));
    }
  }
  SessionOptions session_options;
  session_options.threads = threads;
  session_options.optimize = false;  // shapes of the nodes as written, not of fused ones
  Session session(std::move(recording), session_options);

  std::vector<Tensor> zero_inputs;
  zero_inputs.reserve(session.inputs().size());
  std::map<std::string, const Tensor*> feeds;
  for (const ValueInfo& input : session.inputs()) {
    const DataType dtype = input.dtype == DataType::kUndefined ? DataType::kFloat : input.dtype;
    zero_inputs.emplace_back(dtype, input_shapes.at(input.name));
    feeds[input.name] = &zero_inputs.back();
  }
  std::vector<Tensor> results = session.run(feeds);
  std::map<std::string, Shape> shapes = input_shapes;
  for (size_t i = 0; i < results.size(); ++i) shapes[session.outputs()[i].name] = results[i].shape();
  for (const auto& [name, tensor] : model.graph.initializers) shapes[name] = tensor->shape();
  return shapes;
}

using ShapeLookup = std::function<std::optional<Shape>(const std::string& value_name)>;

// Fills the per-node MAC counts from `shape_of`; returns false when some counted node lacks a shape.
bool count_macs(const Graph& graph, const ShapeLookup& shape_of, ModelStats& stats) {
  stats.node_macs.clear();
  stats.macs_by_op.clear();
  stats.total_macs = 0;
  bool complete = true;
  for (size_t index = 0; index < graph.nodes.size(); ++index) {
    const Node& node = graph.nodes[index];
    if (!counts_macs(node)) continue;
    std::vector<std::optional<Shape>> input_shapes;
    for (const std::string& input : node.inputs)
      input_shapes.push_back(input.empty() ? std::nullopt : shape_of(input));
    const std::optional<Shape> output_shape = node.outputs.empty() ? std::nullopt : shape_of(node.outputs[0]);
    const std::optional<int64_t> macs = node_macs(node, input_shapes, output_shape);
    if (!macs) {
      complete = false;
      continue;
    }
    stats.node_macs.push_back({node_display_name(node, index), node.op_type, *macs});
    stats.macs_by_op[node.op_type] += *macs;
    stats.total_macs += *macs;
  }
  return complete;
}

void compute_macs(const Model& model, const ModelStatsOptions& options, ModelStats& stats) {
  const Graph& graph = model.graph;
  const bool has_counted_node =
      std::any_of(graph.nodes.begin(), graph.nodes.end(), [](const Node& node) { return counts_macs(node); });
  stats.mac_input_shapes = resolve_input_shapes(graph.inputs, options.input_shapes, std::nullopt, false);
  if (!has_counted_node) {
    stats.macs_complete = true;
    return;
  }
  const bool declared_shapes = options.input_shapes.empty();
  const ShapeLookup from_inference = [&graph](const std::string& name) { return inferred_shape(graph, name); };
  // Shapes inferred at load time describe the declared input shapes only.
  if (declared_shapes && count_macs(graph, from_inference, stats)) {
    stats.shape_source = "ONNX shape inference";
    stats.macs_complete = true;
    return;
  }

  std::string no_run_reason;
  std::vector<std::string> batch_defaulted;
  for (const ValueInfo& input : graph.inputs) {
    if (stats.mac_input_shapes.count(input.name) || !input.has_shape || input.dims.empty()) continue;
    const bool only_batch_unknown = std::all_of(input.dims.begin() + 1, input.dims.end(),
                                                [](const Dimension& dim) { return dim.is_known(); });
    if (!only_batch_unknown) continue;
    Shape shape{kDefaultBatch};
    for (size_t i = 1; i < input.dims.size(); ++i) shape.push_back(input.dims[i].value);
    stats.mac_input_shapes[input.name] = shape;
    batch_defaulted.push_back(input.name);
  }
  for (const ValueInfo& input : graph.inputs) {
    if (!stats.mac_input_shapes.count(input.name)) {
      no_run_reason = concat("input '", input.name, "' has shape ", input.shape_string(),
                             " with unknown dimensions: give its shape with --shape ", input.name, "=",
                             example_shape(input));
      break;
    }
  }
  if (no_run_reason.empty() && !stats.unsupported_ops.empty())
    no_run_reason = concat("cannot run the model: ", stats.unsupported_ops.front().reason);
  if (no_run_reason.empty()) {
    try {
      const std::map<std::string, Shape> shapes = record_value_shapes(model, stats.mac_input_shapes, options.threads);
      const ShapeLookup from_run = [&shapes](const std::string& name) -> std::optional<Shape> {
        auto found = shapes.find(name);
        if (found == shapes.end()) return std::nullopt;
        return found->second;
      };
      stats.shape_source = "inference run";
      stats.macs_complete = count_macs(graph, from_run, stats);
      if (!stats.macs_complete) stats.macs_note = "some nodes' shapes were not produced by the inference run";
      if (!batch_defaulted.empty()) {
        std::string names;
        for (const std::string& name : batch_defaulted) names += (names.empty() ? "'" : ", '") + name + "'";
        stats.macs_note += concat(stats.macs_note.empty() ? "" : "; ", "dynamic dimension 0 of ", names,
                                  " taken as ", kDefaultBatch, " (--shape sets it)");
      }
      return;
    } catch (const std::exception& error) {
      no_run_reason = concat("the shape-recording inference run failed: ", error.what());
    }
  }
  stats.macs_note = no_run_reason;
  stats.macs_complete = false;
  for (const std::string& name : batch_defaulted) stats.mac_input_shapes.erase(name);  // not what was counted
  if (declared_shapes) {
    stats.shape_source = "ONNX shape inference";
    count_macs(graph, from_inference, stats);
  } else {
    stats.node_macs.clear();
    stats.macs_by_op.clear();
    stats.total_macs = 0;
  }
}

void find_unsupported_ops(const Model& model, ModelStats& stats) {
  const KernelRegistry& registry = builtin_kernel_registry();
  const Graph& graph = model.graph;
  auto find_constant = [&graph](const std::string& value_name) { return graph.find_initializer(value_name); };
  std::map<std::pair<std::string, std::string>, size_t> entry_of_op;
  for (size_t index = 0; index < graph.nodes.size(); ++index) {
    const Node& node = graph.nodes[index];
    std::string reason;
    try {
      KernelCreateInfo info{node, model.opset(node.domain), find_constant};
      KernelChoice choice = registry.create(info);
      ++stats.implementation_histogram[choice.implementation];
      continue;
    } catch (const std::exception& error) {
      // UnsupportedError: no kernel or all candidates declined; Error: attributes the kernel rejects.
      // Either way the node cannot run.
      reason = error.what();
    }
    auto [entry, inserted] = entry_of_op.try_emplace({node.domain, node.op_type}, stats.unsupported_ops.size());
    if (inserted) stats.unsupported_ops.push_back({node.domain, node.op_type, {}, reason});
    stats.unsupported_ops[entry->second].node_names.push_back(node_display_name(node, index));
  }
}

}  // namespace

std::map<std::string, Shape> resolve_input_shapes(const std::vector<ValueInfo>& inputs,
                                                  const std::map<std::string, Shape>& overrides,
                                                  std::optional<int64_t> batch, bool require_all) {
  for (const auto& [name, shape] : overrides) {
    auto declared = std::find_if(inputs.begin(), inputs.end(), [&](const ValueInfo& input) { return input.name == name; });
    check(declared != inputs.end(), "the model has no input named '", name, "' (inputs: ", input_names(inputs), ")");
    check(!declared->has_shape || declared->dims.size() == shape.size(), "shape ", shape_to_string(shape),
          " for input '", name, "' has rank ", shape.size(), ", but the input has rank ", declared->dims.size(), " (",
          declared->shape_string(), ")");
  }
  if (batch) check(*batch > 0, "batch size must be positive, got ", *batch);
  std::map<std::string, Shape> resolved;
  for (const ValueInfo& input : inputs) {
    Shape shape;
    auto override_entry = overrides.find(input.name);
    if (override_entry != overrides.end()) {
      shape = override_entry->second;
    } else {
      bool known = input.has_shape;
      for (size_t i = 0; known && i < input.dims.size(); ++i) {
        const bool batch_replaces_it = batch && i == 0;
        if (!input.dims[i].is_known() && !batch_replaces_it) known = false;
        shape.push_back(input.dims[i].value);
      }
      if (!known) {
        if (!require_all) continue;
        throw Error(concat("input '", input.name, "' has shape ", input.shape_string(),
                           " with unknown dimensions: give its shape with --shape ", input.name, "=",
                           example_shape(input)));
      }
    }
    if (batch && !shape.empty()) shape[0] = *batch;
    element_count(shape);  // rejects overflowing shapes here, naming them
    resolved[input.name] = std::move(shape);
  }
  return resolved;
}

bool counts_macs(const Node& node) {
  if (!node.domain.empty()) return false;
  return node.op_type == "Conv" || node.op_type == "ConvTranspose" || node.op_type == "MatMul" ||
         node.op_type == "Gemm";
}

std::optional<int64_t> node_macs(const Node& node, const std::vector<std::optional<Shape>>& input_shapes,
                                 const std::optional<Shape>& output_shape) {
  if (!counts_macs(node) || input_shapes.size() < 2 || !input_shapes[0] || !input_shapes[1] || !output_shape)
    return std::nullopt;
  const Shape& data = *input_shapes[0];
  const Shape& weight = *input_shapes[1];
  const int64_t output_elements = element_count(*output_shape);
  if (node.op_type == "Conv") {
    // Weight [M, C/group, k1, k2, ...]: each output element sums C/group * k1 * k2 * ... products.
    if (weight.size() < 2) return std::nullopt;
    return output_elements * product_from(weight, 1);
  }
  if (node.op_type == "ConvTranspose") {
    // Weight [C, M/group, k1, ...]: each input element is scattered into M/group * k1 * ... outputs.
    if (weight.size() < 2) return std::nullopt;
    return element_count(data) * product_from(weight, 1);
  }
  if (node.op_type == "MatMul") {
    // [..., M, K] x [..., K, N] (a rank-1 operand has the K dimension only).
    if (data.empty()) return std::nullopt;
    return output_elements * data.back();
  }
  // Gemm: A is [M, K], or [K, M] with transA.
  if (data.size() != 2) return std::nullopt;
  const int64_t inner = node.attr_int("transA", 0) ? data[0] : data[1];
  return output_elements * inner;
}

bool is_quantizable(const Node& node, const Graph& graph) {
  if (!counts_macs(node) || !node.has_input(1)) return false;
  const std::string& weight = node.input(1);
  if (graph.find_initializer(weight)) return true;
  for (const Node& producer : graph.nodes) {
    if (producer.op_type == "Constant" && producer.domain.empty() && !producer.outputs.empty() &&
        producer.outputs[0] == weight)
      return true;
  }
  return false;
}

// One optimized inference on zero inputs at the shapes the MAC count used: the runtime's own
// liveness-based release decides the peak, so this is what a real run holds at once.
void measure_peak_activations(const Model& model, const ModelStatsOptions& options, ModelStats& stats) {
  if (stats.mac_input_shapes.size() != model.graph.inputs.size() || !stats.unsupported_ops.empty()) return;
  try {
    SessionOptions session_options;
    session_options.threads = options.threads;
    Session session(model, session_options);
    std::vector<Tensor> zero_inputs;
    zero_inputs.reserve(session.inputs().size());
    std::map<std::string, const Tensor*> feeds;
    for (const ValueInfo& input : session.inputs()) {
      const DataType dtype = input.dtype == DataType::kUndefined ? DataType::kFloat : input.dtype;
      zero_inputs.emplace_back(dtype, stats.mac_input_shapes.at(input.name));
      feeds[input.name] = &zero_inputs.back();
    }
    session.run(feeds);
    stats.peak_activation_bytes = session.last_peak_activation_bytes();
  } catch (const std::exception&) {
    stats.peak_activation_bytes = -1;  // the MAC note already explains a failing run
  }
}

ModelStats compute_model_stats(const Model& model, const ModelStatsOptions& options) {
  const Graph& graph = model.graph;
  ModelStats stats;
  stats.inputs = graph.inputs;
  stats.outputs = graph.outputs;
  stats.opset_imports = model.opset_imports;
  stats.node_count = static_cast<int64_t>(graph.nodes.size());
  for (const Node& node : graph.nodes) ++stats.op_histogram[qualified_op_type(node)];
  for (const auto& [name, tensor] : graph.initializers) {
    ++stats.initializer_count;
    stats.parameter_count += tensor->element_count();
    stats.parameter_bytes += static_cast<int64_t>(tensor->byte_size());
  }
  for (const Node& node : graph.nodes) {
    const Attribute* value = node.op_type == "Constant" && node.domain.empty() ? node.find_attribute("value") : nullptr;
    if (!value || !value->tensor) continue;
    ++stats.constant_node_count;
    stats.parameter_count += value->tensor->element_count();
    stats.parameter_bytes += static_cast<int64_t>(value->tensor->byte_size());
  }
  for (size_t index = 0; index < graph.nodes.size(); ++index) {
    const Node& node = graph.nodes[index];
    if (is_quantizable(node, graph))
      stats.quantizable_nodes.push_back({node_display_name(node, index), node.op_type, node.input(1)});
  }
  find_unsupported_ops(model, stats);
  compute_macs(model, options, stats);
  measure_peak_activations(model, options, stats);
  return stats;
}

}  // namespace octet
