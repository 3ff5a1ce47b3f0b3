// fuse_post_ops: absorbs element-wise successors into the producing Conv, ConvTranspose, MatMul or Gemm.
//
//   Conv(x, W, B) -> Relu -> Mul(., 0.5)   =>  octet.FusedConv(x, W, B; post_ops [relu, linear 0.5 0])
//   Conv(x, W, B) -> Add(., r) -> Relu     =>  octet.FusedConv(x, W, B, r; post_ops [sum, relu])
//   MatMul(a, W) -> Add(., b[N]) -> Swish  =>  octet.FusedMatMul(a, W, b; post_ops [swish])
//   ConvTranspose(x, W, B) -> Sigmoid      =>  octet.FusedConvTranspose(x, W, B; post_ops [sigmoid])
// ConvTranspose takes element-wise post-ops only (no residual sum: no model needs it yet).
//
// The successor must be the only reader of the producer's output (and not a graph output). The
// fused node takes the successor's place and output name, which keeps topological order: every
// input of the pair comes before the successor. A residual Add becomes a "sum" post-op only when
// declared shapes show both operands have the same rank and no dimension that is 1 on one side
// only (a broadcast), since the sum post-op adds elementwise.
#include <limits>

#include "passes/fusion_passes.h"
#include "passes/graph_edit.h"
#include "passes/pattern_util.h"

namespace octet {
namespace {

constexpr size_t kBiasInput = 2;
constexpr size_t kSumInput = 3;

bool is_fusable_producer(const Node& node) {
  if (node.outputs.size() != 1) return false;
  if (node.domain.empty())
    return node.op_type == "Conv" || node.op_type == "ConvTranspose" || node.op_type == "MatMul" ||
           node.op_type == "Gemm";
  return node.domain == kOctetDomain && (node.op_type == "FusedConv" || node.op_type == "FusedConvTranspose" ||
                                         node.op_type == "FusedMatMul" || node.op_type == "FusedGemm");
}

// The element-wise post-op a unary successor computes, if any.
std::optional<PostOp> activation_post_op(const Graph& graph, const Node& node, int64_t opset) {
  if (node.domain == kOctetDomain && node.op_type == "Swish") return PostOp{PostOpKind::kSwish};
  if (!node.domain.empty()) return std::nullopt;
  const std::string& op = node.op_type;
  if (op == "Relu") return PostOp{PostOpKind::kRelu};
  if (op == "LeakyRelu") return PostOp{PostOpKind::kLeakyRelu, node.attr_float("alpha", 0.01f)};
  if (op == "Sigmoid") return PostOp{PostOpKind::kSigmoid};
  if (op == "Tanh") return PostOp{PostOpKind::kTanh};
  if (op == "HardSwish") return PostOp{PostOpKind::kHardSwish};
  if (op == "HardSigmoid")
    return PostOp{PostOpKind::kHardSigmoid, node.attr_float("alpha", 0.2f), node.attr_float("beta", 0.5f)};
  if (op == "Clip") {
    float low = -std::numeric_limits<float>::max();
    float high = std::numeric_limits<float>::max();
    if (opset < 11) {
      low = node.attr_float("min", low);
      high = node.attr_float("max", high);
    } else {
      if (node.has_input(1)) {
        auto value = scalar_constant(graph, node.input(1));
        if (!value) return std::nullopt;
        low = *value;
      }
      if (node.has_input(2)) {
        auto value = scalar_constant(graph, node.input(2));
        if (!value) return std::nullopt;
        high = *value;
      }
    }
    if (low == 0.0f && high == std::numeric_limits<float>::max()) return PostOp{PostOpKind::kRelu};
    return PostOp{PostOpKind::kClip, low, high};
  }
  return std::nullopt;
}

// y = alpha * x + beta for a binary node with `value_name` on one side and a scalar constant on the other.
std::optional<PostOp> linear_post_op(const Graph& graph, const Node& node, const std::string& value_name) {
  if (!node.domain.empty() || node.inputs.size() != 2) return std::nullopt;
  const bool value_first = node.inputs[0] == value_name;
  const std::string other = other_input(node, value_name);
  if (other.empty() || other == value_name) return std::nullopt;
  const std::optional<float> constant = scalar_constant(graph, other);
  if (!constant) return std::nullopt;
  const std::string& op = node.op_type;
  if (op == "Mul") return PostOp{PostOpKind::kLinear, *constant, 0.0f};
  if (op == "Add") return PostOp{PostOpKind::kLinear, 1.0f, *constant};
  if (op == "Sub") return value_first ? PostOp{PostOpKind::kLinear, 1.0f, -*constant}
                                      : PostOp{PostOpKind::kLinear, -1.0f, *constant};
  if (op == "Div" && value_first && *constant != 0.0f) return PostOp{PostOpKind::kLinear, 1.0f / *constant, 0.0f};
  return std::nullopt;
}

// Same rank, and no dimension known to be 1 on exactly one side.
bool same_shape_declared(const Graph& graph, const std::string& a, const std::string& b) {
  const std::optional<ValueInfo> first = graph.find_value_info(a);
  const std::optional<ValueInfo> second = graph.find_value_info(b);
  if (!first || !second || !first->has_shape || !second->has_shape) return false;
  if (first->dims.size() != second->dims.size()) return false;
  for (size_t i = 0; i < first->dims.size(); ++i) {
    const Dimension& x = first->dims[i];
    const Dimension& y = second->dims[i];
    if (x.is_known() && y.is_known() && x.value != y.value) return false;
    if ((x.is_known() && x.value == 1) != (y.is_known() && y.value == 1)) return false;
  }
  return true;
}

void make_fused(Node& node) {
  if (node.domain == kOctetDomain) return;
  node.domain = kOctetDomain;
  node.op_type = "Fused" + node.op_type;
  write_post_ops(node, {});
}

// oneDNN 2.6 computes a chain wrongly when one element-wise kind appears twice with different
// parameters (seen on brdgmm_dw convolutions: the second use gets the first one's constants).
bool repeats_kind_with_other_parameters(const std::vector<PostOp>& post_ops, const PostOp& next) {
  for (const auto& post_op : post_ops)
    if (post_op.kind == next.kind && (post_op.alpha != next.alpha || post_op.beta != next.beta)) return true;
  return false;
}

bool has_sum(const std::vector<PostOp>& post_ops) {
  for (const auto& post_op : post_ops)
    if (post_op.kind == PostOpKind::kSum) return true;
  return false;
}

}  // namespace

bool fuse_post_ops(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  const int64_t opset = model.opset("");
  bool changed = false;
  for (bool rewrote = true; rewrote;) {
    rewrote = false;
    const GraphIndex index(graph);
    for (size_t i = 0; i < graph.nodes.size() && !rewrote; ++i) {
      if (!is_fusable_producer(graph.nodes[i])) continue;
      const std::string output = graph.nodes[i].outputs[0];
      const std::optional<size_t> successor_index = index.sole_consumer(graph, output);
      if (!successor_index) continue;
      const Node& successor = graph.nodes[*successor_index];
      if (successor.outputs.size() != 1) continue;
      Node fused = graph.nodes[i];
      const bool is_matmul = fused.op_type == "MatMul" || fused.op_type == "FusedMatMul";
      const bool is_conv = fused.op_type == "Conv" || fused.op_type == "FusedConv";
      std::vector<PostOp> post_ops = fused.domain == kOctetDomain ? read_post_ops(fused) : std::vector<PostOp>{};

      std::optional<PostOp> post_op = activation_post_op(graph, successor, opset);
      if (!post_op) post_op = linear_post_op(graph, successor, output);
      bool took_bias = false;
      std::string sum_operand;
      if (!post_op && is_op(successor, "Add") && successor.inputs.size() == 2) {
        const std::string other = other_input(successor, output);
        const Tensor* constant = graph.find_initializer(other);
        const bool fresh_matmul = is_matmul && post_ops.empty() && !fused.has_input(kBiasInput);
        if (constant && fresh_matmul && constant->dtype() == DataType::kFloat && constant->rank() == 1) {
          took_bias = true;  // the kernel checks the length against N
        } else if (!constant && (is_conv || is_matmul) && !has_sum(post_ops) && other != output &&
                   same_shape_declared(graph, output, other)) {
          sum_operand = other;
          post_op = PostOp{PostOpKind::kSum};
        }
        if (took_bias) {
          make_fused(fused);
          fused.inputs.resize(kBiasInput + 1);
          fused.inputs[kBiasInput] = other;
        }
      }
      if (!post_op && !took_bias) continue;
      if (post_op && post_op->kind == PostOpKind::kLinear && !post_ops.empty() &&
          post_ops.back().kind == PostOpKind::kLinear) {
        // a2 * (a1 * x + b1) + b2 = (a2 * a1) * x + (a2 * b1 + b2): one post-op instead of two.
        PostOp& previous = post_ops.back();
        previous = {PostOpKind::kLinear, post_op->alpha * previous.alpha, post_op->alpha * previous.beta + post_op->beta};
      } else if (post_op) {
        if (post_op->kind != PostOpKind::kSum && repeats_kind_with_other_parameters(post_ops, *post_op)) continue;
        post_ops.push_back(*post_op);
      }
      make_fused(fused);
      if (post_op) write_post_ops(fused, post_ops);
      if (!sum_operand.empty()) {
        fused.inputs.resize(kSumInput + 1);
        fused.inputs[kSumInput] = sum_operand;
      }
      fused.outputs[0] = successor.outputs[0];
      graph.value_infos.erase(output);
      graph.nodes[*successor_index] = std::move(fused);
      std::vector<bool> removed(graph.nodes.size(), false);
      removed[i] = true;
      erase_flagged_nodes(graph, removed);
      rewrote = changed = true;
    }
  }
  return changed;
}

}  // namespace octet
