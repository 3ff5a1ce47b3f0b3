// Octet's in-memory model: a graph of nodes connected by value names, as in ONNX.
//
// Values are identified by name (the empty name marks an omitted optional input). Initializer
// tensors are immutable and held by shared_ptr so that copies of a graph (passes, accuracy-aware
// search) share weights instead of duplicating them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "octet/tensor.h"

namespace octet {

// One dimension of a declared shape: a number, or a symbol ("batch"), or unknown.
struct Dimension {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // set when the dimension is symbolic

  bool is_known() const { return value >= 0; }
};

// Type and (possibly partial) shape of a named value, as declared or inferred.
struct ValueInfo {
  std::string name;
  DataType dtype = DataType::kUndefined;
  bool has_shape = false;  // false: rank unknown
  std::vector<Dimension> dims;

  // "1x3xHxW", "?" for unknown dims, "unknown" when the rank is unknown.
  std::string shape_string() const;
};

enum class AttributeType { kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings, kTensors, kGraphs,
                           kSparseTensor, kTypeProto, kUnsupported };

struct Attribute {
  std::string name;
  AttributeType type = AttributeType::kUnsupported;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::shared_ptr<const Tensor> tensor;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" is the default ONNX domain
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;

  const Attribute* find_attribute(const std::string& attribute_name) const;
  bool has_attribute(const std::string& attribute_name) const { return find_attribute(attribute_name); }
  // Typed getters. The one-argument forms throw Error naming the node when the attribute is absent;
  // all throw when it has another type.
  int64_t attr_int(const std::string& attribute_name) const;
  int64_t attr_int(const std::string& attribute_name, int64_t fallback) const;
  float attr_float(const std::string& attribute_name) const;
  float attr_float(const std::string& attribute_name, float fallback) const;
  std::string attr_string(const std::string& attribute_name) const;
  std::string attr_string(const std::string& attribute_name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& attribute_name) const;
  std::vector<int64_t> attr_ints(const std::string& attribute_name, const std::vector<int64_t>& fallback) const;
  std::vector<float> attr_floats(const std::string& attribute_name) const;
  std::vector<float> attr_floats(const std::string& attribute_name, const std::vector<float>& fallback) const;
  std::vector<std::string> attr_strings(const std::string& attribute_name) const;
  const Tensor& attr_tensor(const std::string& attribute_name) const;
  void set_attribute(Attribute attribute);
  void remove_attribute(const std::string& attribute_name);

  // Input i, or "" when absent or omitted.
  const std::string& input(size_t index) const;
  bool has_input(size_t index) const { return index < inputs.size() && !inputs[index].empty(); }
  // "'name' (OpType)", or "#index (OpType)" style for unnamed nodes: used in every error message.
  std::string describe() const;
};

class Graph {
 public:
  std::string name;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;   // runtime inputs (initializers excluded)
  std::vector<ValueInfo> outputs;
  std::map<std::string, std::shared_ptr<const Tensor>> initializers;
  std::map<std::string, ValueInfo> value_infos;  // declared or inferred intermediate types/shapes

  const Tensor* find_initializer(const std::string& value_name) const;
  bool is_graph_input(const std::string& value_name) const;
  bool is_graph_output(const std::string& value_name) const;
  // Type/shape for any value known to the graph: inputs, outputs, value_infos, initializers.
  std::optional<ValueInfo> find_value_info(const std::string& value_name) const;

  // Orders nodes so that every node comes after the producers of its inputs. Throws Error naming
  // the node and input when an input has no producer, or when the graph has a cycle.
  void topological_sort();
  // Checks structural invariants: unique value producers, every input defined, outputs produced.
  // Throws Error naming the culprit.
  void verify() const;
  // Index of the node producing each value; consumers of each value (node indices).
  std::map<std::string, size_t> producer_index() const;
  std::map<std::string, std::vector<size_t>> consumer_indices() const;
};

struct Model {
  int64_t ir_version = 8;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::map<std::string, int64_t> opset_imports;  // domain ("" = ai.onnx) -> version
  std::vector<std::pair<std::string, std::string>> metadata_props;
  Graph graph;

  // Opset version for a domain ("" and "ai.onnx" are the same); 0 if not imported.
  int64_t opset(const std::string& op_domain) const;
};

}  // namespace octet
