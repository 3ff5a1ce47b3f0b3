#include "onnx/opset_upgrade.h"

#include <map>
#include <set>

namespace octet {
namespace {

// IR version that introduced each opset we upgrade to (onnx/helper.py VERSION_TABLE).
int64_t ir_version_for_opset(int64_t opset) { return opset <= 13 ? 7 : 8; }

class Upgrader {
 public:
  Upgrader(Model& model, int64_t from) : model_(model), graph_(model.graph), from_(from) {
    for (const auto& input : graph_.inputs) used_names_.insert(input.name);
    for (const auto& [name, tensor] : graph_.initializers) used_names_.insert(name);
    for (const auto& node : graph_.nodes) {
      used_names_.insert(node.outputs.begin(), node.outputs.end());
      if (!node.name.empty()) used_names_.insert(node.name);
    }
  }

  // Rewrites every node; new nodes (Softmax coercion) are inserted in order.
  std::map<std::string, int> run() {
    std::vector<Node> upgraded;
    for (Node& node : graph_.nodes) {
      node.remove_attribute("consumed_inputs");  // legacy (opset < 6) in-place hint, meaningless now
      if (!node.domain.empty()) {
        upgraded.push_back(std::move(node));
        continue;
      }
      std::vector<Node> replacement = upgrade(std::move(node));
      upgraded.insert(upgraded.end(), std::make_move_iterator(replacement.begin()),
                      std::make_move_iterator(replacement.end()));
    }
    graph_.nodes = std::move(upgraded);
    return counts_;
  }

 private:
  std::string fresh_name(const std::string& base) {
    std::string candidate = base;
    for (int suffix = 1; used_names_.count(candidate); ++suffix) candidate = concat(base, "_", suffix);
    used_names_.insert(candidate);
    return candidate;
  }

  template <typename T>
  std::string add_initializer(const std::string& base, Shape shape, const std::vector<T>& values) {
    const std::string name = fresh_name(base);
    graph_.initializers[name] = std::make_shared<const Tensor>(Tensor::from_vector<T>(std::move(shape), values));
    return name;
  }

  // Moves an INTS attribute into input `index` as an int64 initializer (absent attribute: no input).
  void attribute_to_input(Node& node, const std::string& attribute, size_t index) {
    if (!node.has_attribute(attribute)) return;
    const std::vector<int64_t> values = node.attr_ints(attribute);
    node.remove_attribute(attribute);
    if (node.inputs.size() < index + 1) node.inputs.resize(index + 1);
    node.inputs[index] = add_initializer<int64_t>(node.outputs[0] + "_" + attribute,
                                                  {static_cast<int64_t>(values.size())}, values);
    trim_inputs(node);
  }

  static void trim_inputs(Node& node) {
    while (!node.inputs.empty() && node.inputs.back().empty()) node.inputs.pop_back();
  }

  std::vector<Node> upgrade(Node node) {
    const std::string op = node.op_type;  // a copy: the node is moved from below
    const auto counted = [&](std::vector<Node> nodes) {
      ++counts_[op];
      return nodes;
    };
    if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && from_ < 13) return counted(softmax(std::move(node)));
    if ((op == "Squeeze" || op == "Unsqueeze") && from_ < 13) {
      attribute_to_input(node, "axes", 1);
      return counted({std::move(node)});
    }
    if (op == "Split" && from_ < 13) {
      attribute_to_input(node, "split", 1);
      return counted({std::move(node)});
    }
    if (op == "ReduceSum" && from_ < 13) {
      attribute_to_input(node, "axes", 1);
      return counted({std::move(node)});
    }
    if (op == "Slice" && from_ < 10) {
      // Inputs: data, starts, ends, axes.
      attribute_to_input(node, "starts", 1);
      attribute_to_input(node, "ends", 2);
      attribute_to_input(node, "axes", 3);
      return counted({std::move(node)});
    }
    if (op == "TopK" && from_ < 10) {
      const int64_t k = node.attr_int("k");
      node.remove_attribute("k");
      node.inputs.resize(2);
      node.inputs[1] = add_initializer<int64_t>(node.outputs[0] + "_k", {1}, {k});
      return counted({std::move(node)});
    }
    if (op == "Clip" && from_ < 11) {
      node.inputs.resize(3);
      if (node.has_attribute("min"))
        node.inputs[1] = add_initializer<float>(node.outputs[0] + "_min", {}, {node.attr_float("min")});
      if (node.has_attribute("max"))
        node.inputs[2] = add_initializer<float>(node.outputs[0] + "_max", {}, {node.attr_float("max")});
      node.remove_attribute("min");
      node.remove_attribute("max");
      trim_inputs(node);
      return counted({std::move(node)});
    }
    if (op == "Pad" && from_ < 11) {
      const std::vector<int64_t> pads = node.attr_ints("pads");
      const float value = node.attr_float("value", 0.0f);
      node.remove_attribute("pads");
      node.remove_attribute("value");
      node.inputs.resize(3);
      node.inputs[1] = add_initializer<int64_t>(node.outputs[0] + "_pads", {static_cast<int64_t>(pads.size())}, pads);
      node.inputs[2] = add_initializer<float>(node.outputs[0] + "_value", {}, {value});
      return counted({std::move(node)});
    }
    if (op == "Upsample" || (op == "Resize" && from_ == 10)) return counted({upsample_to_resize(std::move(node))});
    if (op == "Dropout" && from_ < 12) {
      node.remove_attribute("is_test");
      node.remove_attribute("ratio");  // inference ignores the ratio
      return counted({std::move(node)});
    }
    if (op == "BatchNormalization" && from_ < 9) {
      if (node.attr_int("spatial", 1) == 0)
        throw UnsupportedError(concat("node ", node.describe(), ": BatchNormalization with spatial=0 cannot be upgraded"));
      node.remove_attribute("spatial");
      node.remove_attribute("is_test");
      return counted({std::move(node)});
    }
    if ((op == "Reshape" && from_ < 5) || (op == "Cast" && from_ < 6)) {
      throw UnsupportedError(concat("node ", node.describe(), ": upgrading ", op, " from opset ", from_,
                                    " is not supported"));
    }
    return {std::move(node)};
  }

  // Before opset 13 these ops flattened the input to 2-D at `axis` (default 1). When that axis is
  // the last one the meaning is unchanged; otherwise Flatten -> op(axis=-1) -> Reshape(Shape(x))
  // spells the old semantics exactly.
  std::vector<Node> softmax(Node node) {
    const int64_t axis = node.attr_int("axis", 1);
    const std::optional<ValueInfo> info = graph_.find_value_info(node.input(0));
    const bool last_axis = axis == -1 || (info && info->has_shape && axis == static_cast<int64_t>(info->dims.size()) - 1);
    Attribute axis_attribute{.name = "axis", .type = AttributeType::kInt, .i = -1};
    if (last_axis) {
      node.set_attribute(axis_attribute);
      return {std::move(node)};
    }
    const std::string input = node.input(0);
    const std::string output = node.outputs[0];
    Node flatten{.name = fresh_name(node.name + "_flatten"), .op_type = "Flatten", .inputs = {input},
                 .outputs = {fresh_name(output + "_flat")}};
    flatten.set_attribute({.name = "axis", .type = AttributeType::kInt, .i = axis});
    Node shape{.name = fresh_name(node.name + "_shape"), .op_type = "Shape", .inputs = {input},
               .outputs = {fresh_name(output + "_shape")}};
    Node reshape{.name = fresh_name(node.name + "_reshape"), .op_type = "Reshape",
                 .inputs = {fresh_name(output + "_2d"), shape.outputs[0]}, .outputs = {output}};
    node.inputs = {flatten.outputs[0]};
    node.outputs = {reshape.inputs[0]};
    node.set_attribute(axis_attribute);
    return {std::move(flatten), std::move(shape), std::move(node), std::move(reshape)};
  }

  // Upsample (opset 7: scales attribute; 9: scales input) and Resize-10 (scales input) become
  // Resize-13 with "asymmetric" coordinates and floor rounding, what they computed.
  Node upsample_to_resize(Node node) {
    std::string scales_name;
    if (node.has_attribute("scales")) {
      const std::vector<float> scales = node.attr_floats("scales");
      scales_name = add_initializer<float>(node.outputs[0] + "_scales", {static_cast<int64_t>(scales.size())}, scales);
      node.remove_attribute("scales");
    } else {
      scales_name = node.input(1);
    }
    check(!scales_name.empty(), "node ", node.describe(), ": no scales");
    const std::string mode = node.attr_string("mode", "nearest");
    node.op_type = "Resize";
    node.inputs = {node.input(0), "", scales_name};
    node.attributes.clear();
    node.set_attribute({.name = "mode", .type = AttributeType::kString, .s = mode == "bilinear" ? "linear" : mode});
    node.set_attribute({.name = "coordinate_transformation_mode", .type = AttributeType::kString, .s = "asymmetric"});
    if (mode == "nearest") node.set_attribute({.name = "nearest_mode", .type = AttributeType::kString, .s = "floor"});
    return node;
  }

  Model& model_;
  Graph& graph_;
  int64_t from_;
  std::set<std::string> used_names_;
  std::map<std::string, int> counts_;
};

}  // namespace

std::vector<std::string> upgrade_opset(Model& model, int64_t target_opset) {
  check(target_opset >= 13 && target_opset <= 17, "opset upgrade target must be 13 to 17, got ", target_opset);
  const int64_t from = model.opset("");
  if (from >= target_opset) return {};
  check(from >= 7, "cannot upgrade a model from opset ", from, " (octet reads opset 7 and newer)");
  Upgrader upgrader(model, from);
  std::vector<std::string> report;
  for (const auto& [op, count] : upgrader.run()) report.push_back(concat(op, ": ", count, count == 1 ? " node" : " nodes"));
  model.opset_imports[""] = target_opset;
  model.ir_version = std::max(model.ir_version, ir_version_for_opset(target_opset));
  return report;
}

}  // namespace octet
