// SmoothQuant (NNCF), applied to transformer-style MatMuls before quantization: moves the
// activation's outlier channels into the weights, which are quantized per channel and absorb them
// better. An FP32 rewrite: the model computes the same function afterwards (up to float rounding).
//
// Targets: MatMul(X, W) with W a constant float matrix [K, N], and Gemm(X, B[, C]) with B constant
// and transA = 0; X is an activation whose channel axis is the last one (K), usually
// [batch, tokens, channels]. Nodes reading the same X form one group and share one scale (the
// activation is divided once): per member the candidate scale per input channel k is
//     s_k = max|X_k|^alpha / max_n |W_kn|^(1 - alpha)
// (channels where either max is 0 keep s_k = 1), clipped as NNCF does to [10% quantile of the
// member's scales, 100]; the group takes the candidate with the most even scales (largest
// min/max ratio, NNCF's choice). Then every member's weight row k is multiplied by s_k and X is
// divided by s:
//   - folded into X's producer when X has no reader outside the group (Shape and Size, which
//     read only the shape, do not count), is not a graph output or input, and the producer is
//     per-channel scalable along the last axis: MatMul (weight columns), Gemm (columns of op(B),
//     and C), LayerNormalization over the last axis (scale and bias), Mul or Div by a constant
//     (the constant), or Add / Sub of a constant whose other input can itself be folded (the
//     decomposed LayerNorm ending in Mul(gamma) -> Add(beta), a MatMul followed by its bias Add);
//   - otherwise a new Mul(X, 1/s) node is inserted in front of the group (costs one elementwise
//     pass at run time, so folding is always tried first).
// Changed constants become new initializers with new unique names (old ones are never modified:
// other nodes may share them) and are dropped once nothing reads them.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/calibration.h"

namespace octet {

// NNCF's default alpha for MatMul (it leaves convolutions alone by default).
inline constexpr float kDefaultSmoothQuantAlpha = 0.95f;
// NNCF's clipping of the scales: at most 100, at least their 10% quantile.
inline constexpr float kSmoothQuantMaxScale = 1e2f;
inline constexpr double kSmoothQuantMinScaleQuantile = 0.1;

// Smooths every matching group of `model` (FP32, opset >= 13) with statistics (per-channel abs-max
// of each X) from one unoptimized run over `data`; options as for collect_statistics. Returns one
// line per smoothed group for the summary, e.g.
//   "MatMul 'fc1' (1 node) on 'ln_out': 64 channels, activation abs-max max/min 180 -> 3.2, folded into Add 'ln_beta'"
// Throws Error for alpha outside [0, 1], and as collect_statistics does.
std::vector<std::string> apply_smooth_quant(Model& model, const CalibrationData& data,
                                            float alpha = kDefaultSmoothQuantAlpha,
                                            const CalibrationOptions& options = {});

}  // namespace octet
