#include "kernels/post_ops.h"

#include <algorithm>
#include <cmath>

namespace octet {
namespace {

struct PostOpName {
  PostOpKind kind;
  const char* name;
};
constexpr PostOpName kPostOpNames[] = {
    {PostOpKind::kRelu, "relu"},           {PostOpKind::kLeakyRelu, "leaky_relu"},
    {PostOpKind::kClip, "clip"},           {PostOpKind::kSigmoid, "sigmoid"},
    {PostOpKind::kTanh, "tanh"},           {PostOpKind::kHardSigmoid, "hard_sigmoid"},
    {PostOpKind::kHardSwish, "hard_swish"}, {PostOpKind::kSwish, "swish"},
    {PostOpKind::kGeluErf, "gelu_erf"},    {PostOpKind::kGeluTanh, "gelu_tanh"},
    {PostOpKind::kLinear, "linear"},       {PostOpKind::kSum, "sum"},
};

}  // namespace

std::string post_op_name(PostOpKind kind) {
  for (const auto& entry : kPostOpNames)
    if (entry.kind == kind) return entry.name;
  return "unknown";
}

std::vector<PostOp> read_post_ops(const Node& node) {
  const std::vector<std::string> names = node.attr_strings("post_ops");
  const std::vector<float> alphas = node.attr_floats("post_op_alpha", std::vector<float>(names.size(), 0.0f));
  const std::vector<float> betas = node.attr_floats("post_op_beta", std::vector<float>(names.size(), 0.0f));
  check(alphas.size() == names.size() && betas.size() == names.size(), "node ", node.describe(),
        ": post_op_alpha/post_op_beta must have one value per post-op");
  std::vector<PostOp> post_ops;
  for (size_t i = 0; i < names.size(); ++i) {
    const PostOpName* found = nullptr;
    for (const auto& entry : kPostOpNames)
      if (names[i] == entry.name) found = &entry;
    check(found != nullptr, "node ", node.describe(), ": unknown post-op '", names[i], "'");
    post_ops.push_back({found->kind, alphas[i], betas[i]});
  }
  return post_ops;
}

void write_post_ops(Node& node, const std::vector<PostOp>& post_ops) {
  Attribute names{.name = "post_ops", .type = AttributeType::kStrings};
  Attribute alphas{.name = "post_op_alpha", .type = AttributeType::kFloats};
  Attribute betas{.name = "post_op_beta", .type = AttributeType::kFloats};
  for (const auto& post_op : post_ops) {
    names.strings.push_back(post_op_name(post_op.kind));
    alphas.floats.push_back(post_op.alpha);
    betas.floats.push_back(post_op.beta);
  }
  node.set_attribute(std::move(names));
  node.set_attribute(std::move(alphas));
  node.set_attribute(std::move(betas));
}

void apply_post_op(const PostOp& post_op, float* data, int64_t count) {
  const float alpha = post_op.alpha;
  const float beta = post_op.beta;
  auto for_each = [&](auto function) {
    for (int64_t i = 0; i < count; ++i) data[i] = function(data[i]);
  };
  switch (post_op.kind) {
    case PostOpKind::kRelu: for_each([](float x) { return std::max(x, 0.0f); }); return;
    case PostOpKind::kLeakyRelu: for_each([&](float x) { return x >= 0 ? x : alpha * x; }); return;
    case PostOpKind::kClip: for_each([&](float x) { return std::min(std::max(x, alpha), beta); }); return;
    case PostOpKind::kSigmoid: for_each([](float x) { return 1.0f / (1.0f + std::exp(-x)); }); return;
    case PostOpKind::kTanh: for_each([](float x) { return std::tanh(x); }); return;
    case PostOpKind::kHardSigmoid:
      for_each([&](float x) { return std::max(0.0f, std::min(1.0f, alpha * x + beta)); });
      return;
    case PostOpKind::kHardSwish:
      for_each([](float x) { return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f)); });
      return;
    case PostOpKind::kSwish: for_each([](float x) { return x / (1.0f + std::exp(-x)); }); return;
    case PostOpKind::kGeluErf:
      for_each([](float x) { return 0.5f * x * (1.0f + std::erf(x * static_cast<float>(M_SQRT1_2))); });
      return;
    case PostOpKind::kGeluTanh:
      for_each([](float x) {
        const float inner = std::sqrt(2.0f / static_cast<float>(M_PI)) * (x + 0.044715f * x * x * x);
        return 0.5f * x * (1.0f + std::tanh(inner));
      });
      return;
    case PostOpKind::kLinear: for_each([&](float x) { return alpha * x + beta; }); return;
    case PostOpKind::kSum: throw Error("apply_post_op: 'sum' needs the extra input");
  }
}

}  // namespace octet
