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

}  // namespace octet
