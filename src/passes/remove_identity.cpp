// remove_identity: drops nodes that copy their input at inference time.
//
//   before:  producer -> a -> Identity -> b -> consumers        after:  producer -> a -> consumers
//
// When `b` is a graph output its name must survive, so the producer is renamed instead:
//
//   before:  producer -> a -> Identity -> b (graph output)      after:  producer -> b (graph output)
//                         \-> other                                               \-> other
//
// and when `a` has no producer to rename (a graph input or an initializer) or is itself a graph
// output, the node stays.
#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace octet {
namespace {

constexpr size_t kDropoutMaskOutput = 1;
constexpr size_t kDropoutTrainingModeInput = 2;  // opset 12+

// True for Identity, and for Dropout when it is known to run in inference mode and its mask is unused.
bool copies_input(const Node& node, const Graph& graph) {
  if (!node.domain.empty() || !node.has_input(0) || node.outputs.empty() || node.outputs[0].empty()) return false;
  if (node.op_type == "Identity") return node.outputs.size() == 1;
  if (node.op_type != "Dropout") return false;
  if (node.outputs.size() > kDropoutMaskOutput && !node.outputs[kDropoutMaskOutput].empty() &&
      is_used(graph, node.outputs[kDropoutMaskOutput]))
    return false;
  // A training_mode that is not a constant false could switch dropout on; keep such nodes.
  if (node.has_input(kDropoutTrainingModeInput)) {
    const Tensor* training_mode = graph.find_initializer(node.input(kDropoutTrainingModeInput));
    if (!training_mode || training_mode->element_count() != 1 || training_mode->value_as_int64(0) != 0) return false;
  }
  return true;
}

// Index of the node producing `value_name`, or nodes.size() when none does.
size_t find_producer(const Graph& graph, const std::string& value_name) {
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& output : graph.nodes[i].outputs)
      if (output == value_name) return i;
  return graph.nodes.size();
}

}  // namespace

bool remove_identity(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  bool changed = false;
  size_t i = 0;
  while (i < graph.nodes.size()) {
    const Node& node = graph.nodes[i];
    if (!copies_input(node, graph)) {
      ++i;
      continue;
    }
    const std::string source = node.inputs[0];
    const std::string result = node.outputs[0];
    if (graph.is_graph_output(result)) {
      if (graph.is_graph_output(source)) {
        ++i;
        continue;
      }
      const size_t producer = find_producer(graph, source);
      if (producer == graph.nodes.size()) {  // a graph input or an initializer
        ++i;
        continue;
      }
      for (auto& output : graph.nodes[producer].outputs)
        if (output == source) output = result;
      graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i));
      replace_input_uses(graph, source, result);
      graph.value_infos.erase(source);
    } else {
      graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i));
      replace_input_uses(graph, result, source);
      graph.value_infos.erase(result);
    }
    changed = true;
  }
  return changed;
}

}  // namespace octet
