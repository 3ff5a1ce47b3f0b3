// Operations fused after a Conv/MatMul/Gemm ("post-ops", as oneDNN calls them).
//
// Fusion passes replace e.g. Conv -> Add(residual) -> Relu by one node of domain "octet" and op
// type FusedConv (FusedMatMul, FusedGemm) that carries the ONNX op's attributes plus:
//   post_ops      STRINGS  kinds in application order: "relu", "sum", "hardswish", ...
//   post_op_alpha FLOATS   one per post-op (meaning depends on the kind; 0 when unused)
//   post_op_beta  FLOATS   one per post-op
// A "sum" post-op adds input 3 elementwise (FusedMatMul takes a bias vector as input 2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace octet {

inline constexpr const char* kOctetDomain = "octet";

enum class PostOpKind {
  kRelu,         // max(x, 0)
  kLeakyRelu,    // x >= 0 ? x : alpha * x
  kClip,         // min(max(x, alpha), beta)
  kSigmoid,      // 1 / (1 + exp(-x))
  kTanh,
  kHardSigmoid,  // max(0, min(1, alpha * x + beta))
  kHardSwish,    // x * max(0, min(1, x / 6 + 1 / 2))
  kSwish,        // x * sigmoid(x)
  kGeluErf,      // 0.5 x (1 + erf(x / sqrt 2))
  kGeluTanh,     // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
  kLinear,       // alpha * x + beta
  kSum,          // x + extra input (same shape as the output)
};

struct PostOp {
  PostOpKind kind = PostOpKind::kRelu;
  float alpha = 0;
  float beta = 0;
};

std::string post_op_name(PostOpKind kind);
// Reads the post-op attributes of a fused node; throws Error naming the node on malformed ones.
std::vector<PostOp> read_post_ops(const Node& node);
// Writes `post_ops` as the node's post-op attributes (replacing existing ones).
void write_post_ops(Node& node, const std::vector<PostOp>& post_ops);
// Applies one element-wise post-op (not kSum) in place: the scalar reference.
void apply_post_op(const PostOp& post_op, float* data, int64_t count);

}  // namespace octet
