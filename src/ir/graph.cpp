#include "ir/graph.h"

#include <set>

namespace octet {

std::string ValueInfo::shape_string() const {
  if (!has_shape) return "unknown";
  if (dims.empty()) return "scalar";
  std::string text;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) text += "x";
    if (dims[i].is_known()) {
      text += std::to_string(dims[i].value);
    } else {
      text += dims[i].symbol.empty() ? "?" : dims[i].symbol;
    }
  }
  return text;
}

const Attribute* Node::find_attribute(const std::string& attribute_name) const {
  for (const auto& attribute : attributes)
    if (attribute.name == attribute_name) return &attribute;
  return nullptr;
}

namespace {

const Attribute& require(const Node& node, const std::string& attribute_name, AttributeType type) {
  const Attribute* attribute = node.find_attribute(attribute_name);
  if (!attribute) throw Error(concat("node ", node.describe(), ": missing attribute '", attribute_name, "'"));
  if (attribute->type != type)
    throw Error(concat("node ", node.describe(), ": attribute '", attribute_name, "' has an unexpected type"));
  return *attribute;
}

}  // namespace

int64_t Node::attr_int(const std::string& attribute_name) const {
  return require(*this, attribute_name, AttributeType::kInt).i;
}
int64_t Node::attr_int(const std::string& attribute_name, int64_t fallback) const {
  return has_attribute(attribute_name) ? attr_int(attribute_name) : fallback;
}
float Node::attr_float(const std::string& attribute_name) const {
  return require(*this, attribute_name, AttributeType::kFloat).f;
}
float Node::attr_float(const std::string& attribute_name, float fallback) const {
  return has_attribute(attribute_name) ? attr_float(attribute_name) : fallback;
}
std::string Node::attr_string(const std::string& attribute_name) const {
  return require(*this, attribute_name, AttributeType::kString).s;
}
std::string Node::attr_string(const std::string& attribute_name, const std::string& fallback) const {
  return has_attribute(attribute_name) ? attr_string(attribute_name) : fallback;
}
std::vector<int64_t> Node::attr_ints(const std::string& attribute_name) const {
  return require(*this, attribute_name, AttributeType::kInts).ints;
}
std::vector<int64_t> Node::attr_ints(const std::string& attribute_name, const std::vector<int64_t>& fallback) const {
  return has_attribute(attribute_name) ? attr_ints(attribute_name) : fallback;
}
std::vector<float> Node::attr_floats(const std::string& attribute_name) const {
  return require(*this, attribute_name, AttributeType::kFloats).floats;
}
std::vector<float> Node::attr_floats(const std::string& attribute_name, const std::vector<float>& fallback) const {
  return has_attribute(attribute_name) ? attr_floats(attribute_name) : fallback;
}
std::vector<std::string> Node::attr_strings(const std::string& attribute_name) const {
  return require(*this, attribute_name, AttributeType::kStrings).strings;
}
const Tensor& Node::attr_tensor(const std::string& attribute_name) const {
  return *require(*this, attribute_name, AttributeType::kTensor).tensor;
}

void Node::set_attribute(Attribute attribute) {
  for (auto& existing : attributes) {
    if (existing.name == attribute.name) {
      existing = std::move(attribute);
      return;
    }
  }
  attributes.push_back(std::move(attribute));
}

void Node::remove_attribute(const std::string& attribute_name) {
  std::erase_if(attributes, [&](const Attribute& attribute) { return attribute.name == attribute_name; });
}

const std::string& Node::input(size_t index) const {
  static const std::string kEmpty;
  return index < inputs.size() ? inputs[index] : kEmpty;
}

std::string Node::describe() const {
  if (!name.empty()) return concat("'", name, "' (", op_type, ")");
  return concat("<unnamed> (", op_type, outputs.empty() ? "" : " -> " + outputs[0], ")");
}

const Tensor* Graph::find_initializer(const std::string& value_name) const {
  auto found = initializers.find(value_name);
  return found == initializers.end() ? nullptr : found->second.get();
}

bool Graph::is_graph_input(const std::string& value_name) const {
  for (const auto& input : inputs)
    if (input.name == value_name) return true;
  return false;
}

bool Graph::is_graph_output(const std::string& value_name) const {
  for (const auto& output : outputs)
    if (output.name == value_name) return true;
  return false;
}

std::optional<ValueInfo> Graph::find_value_info(const std::string& value_name) const {
  for (const auto& input : inputs)
    if (input.name == value_name) return input;
  for (const auto& output : outputs)
    if (output.name == value_name && (output.has_shape || output.dtype != DataType::kUndefined)) return output;
  if (auto found = value_infos.find(value_name); found != value_infos.end()) return found->second;
  if (const Tensor* initializer = find_initializer(value_name)) {
    ValueInfo info;
    info.name = value_name;
    info.dtype = initializer->dtype();
    info.has_shape = true;
    for (int64_t dim : initializer->shape()) info.dims.push_back({dim, ""});
    return info;
  }
  return std::nullopt;
}

void Graph::topological_sort() {
  std::set<std::string> available;
  for (const auto& input : inputs) available.insert(input.name);
  for (const auto& [value_name, tensor] : initializers) available.insert(value_name);

  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& output : nodes[i].outputs)
      if (!output.empty()) producer[output] = i;

  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  std::vector<int> state(nodes.size(), 0);  // 0 = unvisited, 1 = on stack, 2 = done
  // Iterative depth-first search, keeping the original order where it is already valid.
  for (size_t root = 0; root < nodes.size(); ++root) {
    if (state[root]) continue;
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [index, next_input] = stack.back();
      const Node& node = nodes[index];
      if (next_input < node.inputs.size()) {
        const std::string& input = node.inputs[next_input++];
        if (input.empty() || available.count(input)) continue;
        auto found = producer.find(input);
        if (found == producer.end())
          throw Error(concat("node ", node.describe(), ": input '", input,
                             "' is not a graph input, an initializer or any node's output"));
        if (state[found->second] == 1) throw Error(concat("graph has a cycle through node ", node.describe()));
        if (state[found->second] == 0) {
          state[found->second] = 1;
          stack.push_back({found->second, 0});
        }
        continue;
      }
      state[index] = 2;
      sorted.push_back(std::move(nodes[index]));
      stack.pop_back();
    }
  }
  nodes = std::move(sorted);
}

void Graph::verify() const {
  std::set<std::string> defined;
  for (const auto& input : inputs) {
    check(!input.name.empty(), "graph input with an empty name");
    check(defined.insert(input.name).second, "value '", input.name, "' is defined twice");
  }
  for (const auto& [value_name, tensor] : initializers) defined.insert(value_name);
  for (const auto& node : nodes) {
    for (const auto& input : node.inputs)
      if (!input.empty() && !defined.count(input))
        throw Error(concat("node ", node.describe(), ": input '", input, "' is not defined before use"));
    for (const auto& output : node.outputs)
      if (!output.empty() && !defined.insert(output).second)
        throw Error(concat("node ", node.describe(), ": output '", output, "' is produced twice"));
  }
  for (const auto& output : outputs)
    check(defined.count(output.name), "graph output '", output.name, "' is not produced by any node");
}

std::map<std::string, size_t> Graph::producer_index() const {
  std::map<std::string, size_t> result;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& output : nodes[i].outputs)
      if (!output.empty()) result[output] = i;
  return result;
}

std::map<std::string, std::vector<size_t>> Graph::consumer_indices() const {
  std::map<std::string, std::vector<size_t>> result;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& input : nodes[i].inputs)
      if (!input.empty()) result[input].push_back(i);
  return result;
}

int64_t Model::opset(const std::string& op_domain) const {
  const std::string key = op_domain == "ai.onnx" ? "" : op_domain;
  auto found = opset_imports.find(key);
  return found == opset_imports.end() ? 0 : found->second;
}

}  // namespace octet
