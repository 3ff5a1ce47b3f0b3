// Fusion passes for execution: they introduce octet-domain nodes (FusedConv, FusedMatMul,
// FusedGemm, Swish) that only octet's runtime executes, so they run in sessions, never on a model
// that is saved. Same signature and rules as the passes in passes.h.
#pragma once

#include "kernels/post_ops.h"
#include "passes/passes.h"

namespace octet {

// Rewrites multi-node hard-swish, swish and layer-normalization spellings into single nodes.
bool fuse_activation_patterns(Model& model, const PassContext& context);
// Absorbs element-wise successors (activations, scalar affine maps, a residual Add, a bias Add)
// into the producing Conv, MatMul or Gemm as oneDNN-style post-ops.
bool fuse_post_ops(Model& model, const PassContext& context);
// QDQ models: drops the Q/DQ pair between a quantized Conv/MatMul and the residual Add it alone
// feeds, and turns MatMul + Add(DequantizeLinear(int32 bias)) into FusedMatMul, so that a following
// fuse_post_ops absorbs them (the first step skips one intermediate rounding).
bool fuse_qdq_bias_and_residual(Model& model, const PassContext& context);
// QDQ models: turns DequantizeLinear -> Conv/MatMul/Gemm (fused) -> QuantizeLinear into QFusedConv /
// QFusedMatMul (kernels/quantized_ops.h), runs data movement between equal Q/DQ parameters on the
// 8-bit tensors, and folds the remaining DequantizeLinear of constants into float initializers.
bool fuse_qdq(Model& model, const PassContext& context);
// QDQ models, after fuse_qdq: absorbs the DequantizeLinear / QuantizeLinear around the float Add,
// Mul, GlobalAveragePool and AveragePool into QBinary / QPool (kernels/quantized_ops.h).
bool fuse_qdq_elementwise(Model& model, const PassContext& context);

}  // namespace octet
