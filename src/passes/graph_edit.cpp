#include "passes/graph_edit.h"

namespace octet {

bool has_subgraph(const Node& node) {
  for (const auto& attribute : node.attributes)
    if (attribute.type == AttributeType::kGraph || attribute.type == AttributeType::kGraphs) return true;
  return false;
}

UniqueNamer::UniqueNamer(const Graph& graph) {
  for (const auto& input : graph.inputs) used_.insert(input.name);
  for (const auto& output : graph.outputs) used_.insert(output.name);
  for (const auto& [value_name, tensor] : graph.initializers) used_.insert(value_name);
  for (const auto& [value_name, info] : graph.value_infos) used_.insert(value_name);
  for (const auto& node : graph.nodes) {
    used_.insert(node.inputs.begin(), node.inputs.end());
    used_.insert(node.outputs.begin(), node.outputs.end());
  }
}

std::string UniqueNamer::make(const std::string& base) {
  std::string candidate = base;
  for (int suffix = 1; used_.count(candidate); ++suffix) candidate = concat(base, "_", suffix);
  used_.insert(candidate);
  return candidate;
}

void replace_input_uses(Graph& graph, const std::string& from, const std::string& to) {
  for (auto& node : graph.nodes)
    for (auto& input : node.inputs)
      if (input == from) input = to;
}

bool is_used(const Graph& graph, const std::string& value_name) {
  if (graph.is_graph_output(value_name)) return true;
  for (const auto& node : graph.nodes)
    for (const auto& input : node.inputs)
      if (input == value_name) return true;
  return false;
}

void erase_flagged_nodes(Graph& graph, const std::vector<bool>& remove) {
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (!remove[i]) kept.push_back(std::move(graph.nodes[i]));
  graph.nodes = std::move(kept);
}

}  // namespace octet
