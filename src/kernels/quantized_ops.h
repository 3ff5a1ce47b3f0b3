// Octet's integer fused ops: what a QDQ pattern becomes when the runtime executes it in int8.
//
// A quantized model (QDQ form) says "DequantizeLinear -> Conv -> [activations, residual Add] ->
// QuantizeLinear". The execution pass fuse_qdq turns such a chain into one node of domain "octet"
// that reads the 8-bit tensor directly and writes an 8-bit (or float) result, so activations stay
// int8 from one quantized op to the next.
//
// QFusedConv (Conv attributes: kernel_shape, strides, pads, dilations, group, auto_pad) and
// QFusedMatMul (MatMul semantics, B constant [K, N]) share one input list:
//    0 X             uint8 or int8 activation
//    1 x_scale       float scalar
//    2 x_zero_point  scalar of X's type
//    3 W             int8: Conv, a constant [M, C/group, k...]; MatMul, a constant [K, N], or a
//                    run-time int8 tensor [..., K, N] (attention MatMuls: both operands computed)
//    4 w_scale       float, [M] / [N] (one per output channel; constants only) or a scalar
//    5 B             optional int32 constant [M]: bias in accumulator units (scale x_scale * w_scale[m])
//    6 Sum           optional residual with the output's shape: uint8/int8 (dequantized with 7, 8)
//                    or float (added as is)
//    7 sum_scale     float scalar, when Sum is 8-bit
//    8 sum_zero_point scalar of Sum's type, when Sum is 8-bit
//    9 y_scale       optional float scalar: when present with 10, the output is quantized
//   10 y_zero_point  optional uint8/int8 scalar: the output's type
// Attributes (besides the base op's): post_ops / post_op_alpha / post_op_beta as in post_ops.h,
// applied to the real-valued result in order; a "sum" post-op adds the (dequantized) Sum input.
// Weight zero points are 0 (symmetric int8 weights), which is what octet's quantizer writes.
//
// Semantics (the reference kernel computes exactly this, in this order, in float):
//   acc[m]      = sum over the window of (X - x_zero_point) * W   (exact int32)
//   multiplier  = float(x_scale * w_scale[m])                      (float product)
//   real        = (float(acc[m]) + float(B[m])) * multiplier
//   real        = post-ops(real)        sum: real += (float(Sum) - sum_zero_point) * sum_scale
//   quantized:  Y = saturate(round_half_to_even(real * (1 / y_scale)) + y_zero_point)
//   float:      Y = real
// This matches oneDNN's int8 arithmetic (s32 accumulator + bias, per-channel output scale, post-ops,
// final linear scale, saturating round-to-nearest-even conversion). Optimized kernels may still
// differ by one step where `real * (1 / y_scale)` lies within float rounding of a .5 tie (fused
// multiply-add): tests allow that and nothing else.
#pragma once

namespace octet {

inline constexpr const char* kQuantizedFusedConv = "QFusedConv";
inline constexpr const char* kQuantizedFusedMatMul = "QFusedMatMul";

// Input positions of QFusedConv and QFusedMatMul.
enum QuantizedFusedInput : int {
  kQInputX = 0,
  kQInputXScale = 1,
  kQInputXZeroPoint = 2,
  kQInputW = 3,
  kQInputWScale = 4,
  kQInputBias = 5,
  kQInputSum = 6,
  kQInputSumScale = 7,
  kQInputSumZeroPoint = 8,
  kQInputYScale = 9,
  kQInputYZeroPoint = 10,
};

}  // namespace octet
