#include "quant/quantization_plan.h"

#include <algorithm>
#include <numeric>

#include "octet/status.h"

namespace octet {
namespace {

// Ops that move 8-bit values without arithmetic: with the same scale and zero point on input and
// output they map quantized values to themselves, so int8 flows through them.
const std::set<std::string> kValuePreservingOps = {"MaxPool", "Reshape", "Transpose", "Flatten", "Squeeze",
                                                   "Unsqueeze", "Slice", "Resize", "Concat"};

// Ops without arithmetic on their data that the FP32 list need not mention.
const std::set<std::string> kDataMovementOps = {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze",
                                                "Slice", "Concat", "Split", "Gather", "Shape", "Identity",
                                                "Constant", "Cast", "Expand", "Tile", "Pad"};

// Union-find over value names: values tied by data movement share a quantizer.
class ValueUnion {
 public:
  void add(const std::string& value) { parent_.try_emplace(value, value); }
  std::string find(const std::string& value) {
    std::string root = value;
    while (parent_.at(root) != root) root = parent_.at(root);
    return root;
  }
  void unite(const std::string& a, const std::string& b) {
    const std::string root_a = find(a);
    const std::string root_b = find(b);
    // The smaller name becomes the root: the grouping does not depend on the order of unions.
    if (root_a < root_b) parent_[root_b] = root_a;
    else if (root_b < root_a) parent_[root_a] = root_b;
  }
  const std::map<std::string, std::string>& parents() const { return parent_; }

 private:
  std::map<std::string, std::string> parent_;
};

class Planner {
 public:
  Planner(const Graph& graph, const PlanOptions& options) : graph_(graph), options_(options) {
    for (size_t i = 0; i < graph.nodes.size(); ++i) node_index_[graph.nodes[i].name] = i;
    producers_ = graph.producer_index();
  }

  QuantizationPlan run() {
    check_ignored_entries();
    for (const Node& node : graph_.nodes) plan_node(node);
    resolve_adds();
    propagate_through_data_movement();
    build_quantizers();
    list_fp32_nodes();
    return std::move(plan_);
  }

 private:
  bool is_ignored(const Node& node) const {
    return options_.ignored.count(node.name) || options_.ignored.count(node.op_type);
  }

  void check_ignored_entries() const {
    for (const std::string& entry : options_.ignored) {
      const bool matches = std::any_of(graph_.nodes.begin(), graph_.nodes.end(), [&](const Node& node) {
        return node.name == entry || node.op_type == entry;
      });
      check(matches, "ignored scope entry '", entry, "' matches no node name or op type of the model");
    }
  }

  const Tensor* float_initializer(const std::string& value) const {
    const Tensor* tensor = graph_.find_initializer(value);
    return tensor && tensor->dtype() == DataType::kFloat ? tensor : nullptr;
  }

  // A float value computed at run time (graph input or node output), known to be float.
  bool is_float_activation(const std::string& value) const {
    if (value.empty() || graph_.find_initializer(value)) return false;
    const auto info = graph_.find_value_info(value);
    return info && info->dtype == DataType::kFloat;
  }

  void keep(const Node& node, const std::string& reason) { plan_.kept_fp32[node.name] = reason; }

  void quantize_edge(const Node& node, size_t input_index) {
    plan_.quantized_edges[node.input(input_index)].push_back({node.name, input_index});
    values_.add(node.input(input_index));
  }

  void plan_node(const Node& node) {
    const std::string& op = node.op_type;
    if (!node.domain.empty() && node.domain != "ai.onnx") return;
    const bool weighted = op == "Conv" || op == "ConvTranspose" || op == "MatMul" || op == "Gemm";
    if (!weighted && op != "Add") return;
    if (is_ignored(node)) return keep(node, "ignored scope");
    if (!is_float_activation(node.input(0))) return keep(node, "input 0 is not a float tensor computed at run time");
    if (op == "Add") return plan_add(node);

    QuantizedWeightedOp weighted_op;
    weighted_op.node_name = node.name;
    weighted_op.activation = node.input(0);
    weighted_op.weight = node.input(1);
    const Tensor* weight = float_initializer(node.input(1));
    if (op == "MatMul" && !weight && is_float_activation(node.input(1))) return plan_activation_matmul(node);
    if (!weight) return keep(node, "weight (input 1) is not a constant float tensor");

    if (op == "Conv" || op == "ConvTranspose") {
      if (weight->rank() < 3) return keep(node, "weight rank below 3");
      if (node.has_input(2) && !float_initializer(node.input(2))) return keep(node, "bias is not a constant");
      weighted_op.kind = op == "Conv" ? WeightedOpKind::kConv : WeightedOpKind::kConvTranspose;
      // ConvTranspose weights are [C_in, C_out / group, k...]: axis 1 is the output channel only for group 1.
      if (op == "ConvTranspose" && node.attr_int("group", 1) != 1)
        return keep(node, "grouped ConvTranspose (no per-output-channel weight axis)");
      weighted_op.weight_axis = op == "Conv" ? 0 : 1;
      weighted_op.bias = node.input(2);
    } else if (op == "MatMul") {
      if (weight->rank() != 2) return keep(node, "MatMul weight is not a matrix");
      weighted_op.kind = WeightedOpKind::kMatMul;
      weighted_op.weight_axis = 1;  // [K, N]: one scale per output column
    } else {  // Gemm
      if (node.attr_int("transA", 0) != 0) return keep(node, "Gemm with transA");
      if (node.has_input(2)) {
        const Tensor* bias = float_initializer(node.input(2));
        if (!bias || bias->rank() != 1) return keep(node, "Gemm C is not a constant vector");
        if (node.attr_float("beta", 1.0f) != 1.0f) return keep(node, "Gemm with beta != 1");
      }
      if (node.attr_float("alpha", 1.0f) != 1.0f) return keep(node, "Gemm with alpha != 1");
      weighted_op.kind = WeightedOpKind::kGemm;
      weighted_op.weight_axis = node.attr_int("transB", 0) ? 0 : 1;
      weighted_op.bias = node.input(2);
    }
    plan_.weighted_ops.push_back(weighted_op);
    plan_.quantized_nodes.insert(node.name);
    quantize_edge(node, 0);
  }

  // Attention: both operands computed. The second one takes the weight side (signed symmetric).
  void plan_activation_matmul(const Node& node) {
    plan_.quantized_nodes.insert(node.name);
    quantize_edge(node, 0);
    quantize_edge(node, 1);
    signed_values_.insert(node.input(1));
  }

  void plan_add(const Node& node) {
    if (!is_float_activation(node.input(1))) return keep(node, "element-wise with a constant, not after a quantized op: runs in FP32");
    candidate_adds_.insert(node.name);
  }

  // Whether every reader of `value` would read it quantized: activation inputs of weighted ops,
  // candidate Adds, and value-preserving ops whose own output is read that way.
  bool read_only_quantized(const std::string& value, int depth = 0) const {
    constexpr int kMaxDepth = 16;
    if (depth > kMaxDepth || graph_.is_graph_output(value)) return false;
    const auto found = consumers_.find(value);
    if (found == consumers_.end()) return false;
    for (const size_t index : found->second) {
      const Node& consumer = graph_.nodes[index];
      if (planned_activation_edges_.count({consumer.name, value})) continue;
      if (candidate_adds_.count(consumer.name)) continue;
      if (kValuePreservingOps.count(consumer.op_type) && consumer.outputs.size() == 1 &&
          read_only_quantized(consumer.outputs[0], depth + 1))
        continue;
      return false;
    }
    return true;
  }

  // An Add pays off in int8 only when both inputs are int8 anyway: then the runtime adds 8-bit
  // tensors or fuses the Add into the convolution before it. When an input is also read by FP32 ops
  // (a squeeze-excitation branch, a LayerNorm), quantizing the Add only adds quantize steps and
  // rounding, so it stays FP32. Dropping one Add can disqualify another: iterate to a fixed point.
  void resolve_adds() {
    consumers_ = graph_.consumer_indices();
    for (const QuantizedWeightedOp& op : plan_.weighted_ops) planned_activation_edges_.insert({op.node_name, op.activation});
    for (const auto& [value, edges] : plan_.quantized_edges)
      for (const auto& edge : edges) planned_activation_edges_.insert({edge.first, value});
    bool changed = true;
    while (changed) {
      changed = false;
      for (auto it = candidate_adds_.begin(); it != candidate_adds_.end();) {
        const Node& add = graph_.nodes[node_index_.at(*it)];
        if (read_only_quantized(add.input(0)) && read_only_quantized(add.input(1))) {
          ++it;
          continue;
        }
        keep(add, "an input is also read by FP32 ops (quantizing the Add would only add quantize steps)");
        it = candidate_adds_.erase(it);
        changed = true;
      }
    }
    for (const std::string& name : candidate_adds_) {
      const Node& add = graph_.nodes[node_index_.at(name)];
      plan_.quantized_nodes.insert(name);
      quantize_edge(add, 0);
      quantize_edge(add, 1);
    }
  }

  // The data-movement producer of `value` whose input can share its quantizer, or nullptr.
  const Node* tied_producer(const std::string& value) const {
    const auto found = producers_.find(value);
    if (found == producers_.end()) return nullptr;
    const Node& producer = graph_.nodes[found->second];
    if (!kValuePreservingOps.count(producer.op_type) || !producer.domain.empty()) return nullptr;
    if (producer.outputs.size() != 1 || is_ignored(producer)) return nullptr;
    // Interpolation computes new values: only nearest-neighbour resizing preserves them.
    if (producer.op_type == "Resize" && producer.attr_string("mode", "nearest") != "nearest") return nullptr;
    return &producer;
  }

  void propagate_through_data_movement() {
    std::vector<std::string> pending;
    for (const auto& [value, edges] : plan_.quantized_edges) pending.push_back(value);
    std::set<std::string> visited;
    while (!pending.empty()) {
      const std::string value = pending.back();
      pending.pop_back();
      if (!visited.insert(value).second) continue;
      const Node* producer = tied_producer(value);
      if (!producer) continue;
      // Concat ties every input; the other ops tie their data input (the rest are shapes, axes...).
      const size_t data_inputs = producer->op_type == "Concat" ? producer->inputs.size() : 1;
      bool all_activations = true;
      for (size_t i = 0; i < data_inputs; ++i) all_activations &= is_float_activation(producer->input(i));
      if (!all_activations) continue;
      plan_.quantized_nodes.insert(producer->name);
      for (size_t i = 0; i < data_inputs; ++i) {
        quantize_edge(*producer, i);
        values_.unite(producer->input(i), value);
        pending.push_back(producer->input(i));
      }
    }
  }

  void build_quantizers() {
    std::map<std::string, std::vector<std::string>> members;
    for (const auto& [value, parent] : values_.parents()) members[values_.find(value)].push_back(value);
    for (auto& [root, values] : members) {
      ActivationQuantizer quantizer;
      std::sort(values.begin(), values.end());
      for (const std::string& value : values) quantizer.signed_symmetric |= signed_values_.count(value) > 0;
      quantizer.values = std::move(values);
      plan_.quantizers.push_back(std::move(quantizer));
    }
  }

  // Element-wise activations computed from one quantized op's output alone (Relu, Clip, a hard-swish
  // spelled as x * Clip(x + 3) / 6, an affine by constants): int8 runtimes fuse them into that op's
  // kernel, so they are not FP32 islands. Maps each such node to the op it belongs to.
  std::map<std::string, std::string> fused_activations() const {
    static const std::set<std::string> kActivationOps = {"Relu", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish",
                                                         "Sigmoid", "Tanh", "Add", "Mul", "Div", "Sub"};
    std::map<std::string, std::string> root_of_value;  // value -> weighted op it is computed from
    for (const QuantizedWeightedOp& op : plan_.weighted_ops)
      for (const std::string& output : graph_.nodes[node_index_.at(op.node_name)].outputs) root_of_value[output] = op.node_name;
    std::map<std::string, std::string> fused;
    for (const Node& node : graph_.nodes) {
      if (!kActivationOps.count(node.op_type) || !node.domain.empty() || plan_.quantized_nodes.count(node.name)) continue;
      std::string root;
      bool from_one_root = true;
      for (const std::string& input : node.inputs) {
        if (input.empty() || graph_.find_initializer(input)) continue;
        const auto found = root_of_value.find(input);
        from_one_root &= found != root_of_value.end() && (root.empty() || root == found->second);
        if (found != root_of_value.end()) root = found->second;
      }
      if (!from_one_root || root.empty()) continue;
      fused[node.name] = root;
      for (const std::string& output : node.outputs) root_of_value[output] = root;
    }
    return fused;
  }

  void list_fp32_nodes() {
    const std::map<std::string, std::string> fused = fused_activations();
    for (const Node& node : graph_.nodes) {
      if (plan_.quantized_nodes.count(node.name)) continue;
      if (fused.count(node.name)) {
        plan_.kept_fp32.erase(node.name);
        plan_.fused_activations[node.name] = fused.at(node.name);
        continue;
      }
      if (plan_.kept_fp32.count(node.name)) continue;
      if (kDataMovementOps.count(node.op_type) && node.domain.empty()) continue;
      if (node.op_type == "MaxPool" || node.op_type == "Resize") {
        keep(node, "its output feeds no quantized op");
      } else {
        keep(node, "no int8 form in the pattern table: runs in FP32 between DequantizeLinear and QuantizeLinear");
      }
    }
  }

  const Graph& graph_;
  const PlanOptions& options_;
  std::map<std::string, size_t> node_index_;
  std::map<std::string, size_t> producers_;
  ValueUnion values_;
  std::set<std::string> signed_values_;
  std::set<std::string> candidate_adds_;
  std::map<std::string, std::vector<size_t>> consumers_;
  std::set<std::pair<std::string, std::string>> planned_activation_edges_;  // (node name, value)
  QuantizationPlan plan_;
};

}  // namespace

int QuantizationPlan::quantizer_of(const std::string& value) const {
  for (size_t i = 0; i < quantizers.size(); ++i) {
    const auto& values = quantizers[i].values;
    if (std::binary_search(values.begin(), values.end(), value)) return static_cast<int>(i);
  }
  return -1;
}

void name_unnamed_nodes(Graph& graph) {
  std::set<std::string> used;
  for (const Node& node : graph.nodes)
    if (!node.name.empty()) used.insert(node.name);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& node = graph.nodes[i];
    if (!node.name.empty()) continue;
    std::string name = concat(node.op_type, "_", i);
    for (int suffix = 1; used.count(name); ++suffix) name = concat(node.op_type, "_", i, "_", suffix);
    used.insert(name);
    node.name = name;
  }
}

QuantizationPlan plan_quantization(const Graph& graph, const PlanOptions& options) {
  for (const Node& node : graph.nodes) check(!node.name.empty(), "plan_quantization needs named nodes");
  return Planner(graph, options).run();
}

}  // namespace octet
