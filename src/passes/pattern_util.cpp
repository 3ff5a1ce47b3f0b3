#include "passes/pattern_util.h"

#include <cmath>

namespace octet {

std::optional<float> scalar_constant(const Graph& graph, const std::string& value_name) {
  const Tensor* tensor = graph.find_initializer(value_name);
  if (!tensor || tensor->dtype() != DataType::kFloat || tensor->element_count() != 1) return std::nullopt;
  return tensor->data<float>()[0];
}

bool is_scalar_constant(const Graph& graph, const std::string& value_name, float expected, float tolerance) {
  const std::optional<float> value = scalar_constant(graph, value_name);
  return value && std::fabs(*value - expected) <= tolerance;
}

std::optional<size_t> GraphIndex::sole_consumer(const Graph& graph, const std::string& value_name) const {
  if (graph.is_graph_output(value_name)) return std::nullopt;
  auto found = consumers.find(value_name);
  if (found == consumers.end() || found->second.size() != 1) return std::nullopt;
  return found->second[0];
}

size_t GraphIndex::consumer_count(const std::string& value_name) const {
  auto found = consumers.find(value_name);
  return found == consumers.end() ? 0 : found->second.size();
}

std::optional<size_t> GraphIndex::producer(const std::string& value_name) const {
  auto found = producers.find(value_name);
  if (found == producers.end()) return std::nullopt;
  return found->second;
}

std::string other_input(const Node& node, const std::string& value_name) {
  if (node.inputs.size() != 2) return "";
  if (node.inputs[0] == value_name) return node.inputs[1];
  if (node.inputs[1] == value_name) return node.inputs[0];
  return "";
}

bool is_op(const Node& node, const char* op_type) { return node.domain.empty() && node.op_type == op_type; }

}  // namespace octet
