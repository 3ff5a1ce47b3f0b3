#include "inspection.h"

#include <filesystem>
#include <memory>
#include <set>

#include "onnx/onnx_io.h"
#include "runtime/model_stats.h"
#include "runtime/session.h"

namespace octet::workbench {

namespace {

// How far past a removed node we look for the fused node that took over its output
// (Relu -> QuantizeLinear -> the int8 convolution's output is two steps; a decomposed hard-swish,
// Add -> Clip -> Div -> Mul -> QuantizeLinear, five).
constexpr int kMaxFusionSearchDepth = 6;

Json dims_json(const ValueInfo& value) {
  if (!value.has_shape) return nullptr;
  Json dims = Json::array();
  for (const Dimension& dim : value.dims) {
    if (dim.is_known()) {
      dims.push_back(dim.value);
    } else if (!dim.symbol.empty()) {
      dims.push_back(dim.symbol);
    } else {
      dims.push_back(nullptr);
    }
  }
  return dims;
}

Json values_json(const std::vector<ValueInfo>& values) {
  Json list = Json::array();
  for (const ValueInfo& value : values)
    list.push_back({{"name", value.name}, {"dtype", dtype_name(value.dtype)}, {"shape", dims_json(value)}});
  return list;
}

bool is_quantize_boundary(const std::string& op_type) {
  return op_type == "QuantizeLinear" || op_type == "DequantizeLinear";
}

bool is_compute_op(const std::string& op_type) {
  return op_type == "Conv" || op_type == "ConvTranspose" || op_type == "MatMul" || op_type == "Gemm";
}

// The optimized graph a Session runs, indexed by node name and by produced value.
struct OptimizedGraph {
  struct Entry {
    std::string name;
    std::string op_type;
    std::string implementation;
  };
  std::vector<Entry> nodes;
  std::map<std::string, size_t> by_name;
  std::map<std::string, size_t> by_output;
};

OptimizedGraph optimized_graph(const Session& session) {
  OptimizedGraph graph;
  std::map<std::string, std::string> implementation_of;
  for (const NodePlacement& placement : session.placements())
    implementation_of[placement.node_name] = placement.implementation;
  for (const Node& node : session.model().graph.nodes) {
    const size_t index = graph.nodes.size();
    const std::string op_type = node.domain.empty() ? node.op_type : node.domain + "." + node.op_type;
    graph.nodes.push_back({node.name, op_type, implementation_of.count(node.name) ? implementation_of[node.name] : ""});
    if (!node.name.empty()) graph.by_name[node.name] = index;
    for (const std::string& output : node.outputs)
      if (!output.empty()) graph.by_output[output] = index;
  }
  return graph;
}

// The optimized node that took over a node absent from the optimized graph: the producer of one of
// its outputs, or of an output of the absent nodes after it (a fused chain). -1 when none: the node
// was folded away (constants, Identity, shape computations).
int64_t fusion_target(const Graph& graph, size_t node_index, const OptimizedGraph& optimized,
                      const std::map<std::string, std::vector<size_t>>& consumers) {
  std::vector<size_t> frontier = {node_index};
  std::set<size_t> seen = {node_index};
  for (int depth = 0; depth < kMaxFusionSearchDepth && !frontier.empty(); ++depth) {
    std::vector<size_t> next;
    for (const size_t index : frontier) {
      for (const std::string& output : graph.nodes[index].outputs) {
        const auto produced = optimized.by_output.find(output);
        if (produced != optimized.by_output.end()) return static_cast<int64_t>(produced->second);
        const auto readers = consumers.find(output);
        if (readers == consumers.end()) continue;
        for (const size_t reader : readers->second) {
          const Node& consumer = graph.nodes[reader];
          const bool absent = consumer.name.empty() || !optimized.by_name.count(consumer.name);
          if (absent && seen.insert(reader).second) next.push_back(reader);
        }
      }
    }
    frontier = std::move(next);
  }
  return -1;
}

// A node the file itself quantizes: fed by a DequantizeLinear, and either a compute op (its
// weight dequantized) or writing only into QuantizeLinear nodes (int8 data movement in QDQ form).
bool quantized_in_file(const Graph& graph, const Node& node, const std::map<std::string, size_t>& producers,
                       const std::map<std::string, std::vector<size_t>>& consumers) {
  bool dequantized_input = false;
  for (const std::string& input : node.inputs) {
    const auto producer = producers.find(input);
    if (producer != producers.end() && graph.nodes[producer->second].op_type == "DequantizeLinear")
      dequantized_input = true;
  }
  if (!dequantized_input) return false;
  if (is_compute_op(node.op_type)) return true;
  for (const std::string& output : node.outputs) {
    const auto readers = consumers.find(output);
    if (readers == consumers.end() || readers->second.empty() || graph.is_graph_output(output)) return false;
    for (const size_t reader : readers->second)
      if (graph.nodes[reader].op_type != "QuantizeLinear") return false;
  }
  return true;
}

}  // namespace

bool is_int8_op_type(const std::string& op_type) {
  const size_t dot = op_type.rfind('.');
  const std::string op = dot == std::string::npos ? op_type : op_type.substr(dot + 1);
  return op.starts_with("Q") || op == "DequantizeLinear" || op == "DynamicQuantizeLinear" || op.ends_with("Integer") ||
         op == "MatMulIntegerToFloat";
}

Json inspect_model(const std::string& path, const std::map<std::string, Shape>& input_shapes,
                   const std::map<std::string, std::string>& fp32_reasons) {
  const Model model = load_model(path);
  ModelStatsOptions stats_options;
  stats_options.input_shapes = input_shapes;
  const ModelStats stats = compute_model_stats(model, stats_options);

  // The Session shows what runs where; a model it cannot prepare (an unsupported op) is still inspected.
  OptimizedGraph optimized;
  std::string session_error;
  try {
    const Session session(model);
    optimized = optimized_graph(session);
  } catch (const Error& error) {
    session_error = error.what();
  }

  const Graph& graph = model.graph;
  const auto producers = graph.producer_index();
  const auto consumers = graph.consumer_indices();
  bool file_is_quantized = false;
  for (const Node& node : graph.nodes) file_is_quantized = file_is_quantized || is_quantize_boundary(node.op_type);
  std::set<std::string> quantizable;
  for (const QuantizableNode& node : stats.quantizable_nodes) quantizable.insert(node.node_name);
  std::map<std::string, std::string> unsupported_reason;
  for (const UnsupportedOp& op : stats.unsupported_ops)
    for (const std::string& name : op.node_names) unsupported_reason[name] = op.reason;

  Json nodes = Json::array();
  Json fp32_nodes = Json::array();
  int64_t int8_count = 0;
  for (size_t index = 0; index < graph.nodes.size(); ++index) {
    const Node& node = graph.nodes[index];
    const std::string op_type = node.domain.empty() ? node.op_type : node.domain + "." + node.op_type;
    std::string precision = "fp32";
    std::string kernel;
    std::string note;
    const auto same = node.name.empty() ? optimized.by_name.end() : optimized.by_name.find(node.name);
    const bool in_file = quantized_in_file(graph, node, producers, consumers);
    if (same != optimized.by_name.end()) {
      const OptimizedGraph::Entry& runs_as = optimized.nodes[same->second];
      kernel = runs_as.implementation;
      if (is_int8_op_type(runs_as.op_type)) {
        precision = "int8";
        if (runs_as.op_type != op_type) note = concat("runs as ", runs_as.op_type);
      } else if (in_file) {
        precision = "int8";
        note = concat("quantized in the file, but runs as a float ", runs_as.op_type,
                      " between DequantizeLinear and QuantizeLinear (no int8 kernel fused it)");
      } else if (runs_as.op_type != op_type) {
        note = concat("runs as ", runs_as.op_type);
      }
    } else if (is_quantize_boundary(node.op_type)) {
      precision = "int8";
      const int64_t target = fusion_target(graph, index, optimized, consumers);
      note = target >= 0 ? concat("folded into ", optimized.nodes[static_cast<size_t>(target)].op_type, " '",
                                  optimized.nodes[static_cast<size_t>(target)].name, "'")
                         : "folded into the int8 kernels around it";
    } else if (!optimized.nodes.empty()) {
      const int64_t target = fusion_target(graph, index, optimized, consumers);
      if (target >= 0) {
        const OptimizedGraph::Entry& into = optimized.nodes[static_cast<size_t>(target)];
        kernel = into.implementation;
        precision = is_int8_op_type(into.op_type) ? "fused" : "fp32";
        note = concat("fused into ", into.op_type, " '", into.name, "'");
      } else {
        precision = "folded";
        note = node.op_type == "Constant" ? "constant" : "removed by graph optimization (folded or a no-op)";
      }
    }
    if (precision == "fp32") {
      const auto reason = fp32_reasons.find(node.name);
      const auto unsupported = unsupported_reason.find(node.name);
      std::string why;
      if (unsupported != unsupported_reason.end()) {
        why = "unsupported: " + unsupported->second;
      } else if (reason != fp32_reasons.end()) {
        why = reason->second;
      } else if (quantizable.count(node.name)) {
        why = file_is_quantized ? "not quantized in this file" : "FP32 model (not quantized yet)";
      }
      if (!why.empty()) {
        note = note.empty() ? why : note + "; " + why;
        fp32_nodes.push_back({{"node", node.name}, {"op_type", op_type}, {"reason", why}});
      }
    } else if (precision == "int8") {
      ++int8_count;
    }
    nodes.push_back({{"name", node.name.empty() ? concat("#", index) : node.name},
                     {"op_type", op_type},
                     {"inputs", node.inputs},
                     {"outputs", node.outputs},
                     {"precision", precision},
                     {"kernel", kernel},
                     {"note", note}});
  }

  Json unsupported = Json::array();
  for (const UnsupportedOp& op : stats.unsupported_ops)
    for (const std::string& name : op.node_names)
      unsupported.push_back({{"node", name},
                             {"op_type", op.domain.empty() ? op.op_type : op.domain + "." + op.op_type},
                             {"reason", op.reason}});
  Json mac_shapes = Json::object();
  for (const auto& [name, shape] : stats.mac_input_shapes) mac_shapes[name] = shape;
  Json opsets = Json::object();
  for (const auto& [domain, version] : stats.opset_imports) opsets[domain.empty() ? "ai.onnx" : domain] = version;

  Json json;
  json["inputs"] = values_json(stats.inputs);
  json["outputs"] = values_json(stats.outputs);
  json["opset_imports"] = opsets;
  json["node_count"] = stats.node_count;
  json["op_histogram"] = stats.op_histogram;
  json["parameters"] = stats.parameter_count;
  json["parameter_bytes"] = stats.parameter_bytes;
  json["macs"] = stats.total_macs;
  json["macs_complete"] = stats.macs_complete;
  json["macs_by_op"] = stats.macs_by_op;
  json["macs_note"] = stats.macs_note;
  json["mac_input_shapes"] = mac_shapes;
  json["peak_activation_bytes"] = stats.peak_activation_bytes >= 0 ? Json(stats.peak_activation_bytes) : Json(nullptr);
  json["size_bytes"] = static_cast<int64_t>(std::filesystem::file_size(path));
  json["precision"] = file_is_quantized ? "int8" : "fp32";
  json["int8_nodes"] = int8_count;
  json["quantizable_nodes"] = static_cast<int64_t>(stats.quantizable_nodes.size());
  json["implementations"] = stats.implementation_histogram;
  json["session_error"] = session_error;
  json["nodes"] = nodes;
  json["unsupported"] = unsupported;
  json["fp32_nodes"] = fp32_nodes;
  return json;
}

}  // namespace octet::workbench
