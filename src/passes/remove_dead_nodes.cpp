// remove_dead_nodes: removes nodes that do not contribute to any graph output, then initializers
// no remaining node reads.
//
//   before:  x -> A -> y (graph output)          after:  x -> A -> y (graph output)
//             \-> B -> unused -> C -> unused2
//
// A node is live when one of its outputs is a graph output or is read by a live node. ONNX ops have
// no side effects, so a node that is not live can go.
#include <set>

#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace octet {

bool remove_dead_nodes(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  std::set<std::string> needed;
  for (const auto& output : graph.outputs) needed.insert(output.name);
  // Nodes are in topological order, so walking backwards sees every reader before its producer.
  std::vector<bool> dead(graph.nodes.size(), true);
  for (size_t i = graph.nodes.size(); i-- > 0;) {
    const Node& node = graph.nodes[i];
    for (const auto& output : node.outputs)
      if (!output.empty() && needed.count(output)) dead[i] = false;
    if (dead[i]) continue;
    for (const auto& input : node.inputs)
      if (!input.empty()) needed.insert(input);
  }
  bool changed = std::find(dead.begin(), dead.end(), true) != dead.end();
  if (changed) erase_flagged_nodes(graph, dead);
  const size_t initializer_count = graph.initializers.size();
  std::erase_if(graph.initializers, [&](const auto& entry) { return !needed.count(entry.first); });
  changed |= graph.initializers.size() != initializer_count;
  return changed;
}

}  // namespace octet
