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

// QFusedConvTranspose (ConvTranspose attributes: kernel_shape, strides, pads, dilations, group,
// output_padding, auto_pad NOTSET or VALID; no output_shape) takes QFusedConv's input list with
//    3 W             int8 constant [C_in, C_out/group, k...] (ONNX ConvTranspose layout)
//    4 w_scale       float, [C_out] along W's axis 1 (group 1 only) or a scalar
//    5 B             optional int32 constant [C_out], scale x_scale * w_scale[m]
// and the same semantics: acc[m] sums (X - x_zero_point) * W over every (input position, kernel
// element) the transposed convolution maps onto output position (m, ...), exact in int32; then the
// float steps above in the same order. A Sum residual has the output's shape, as for QFusedConv.
namespace octet {

inline constexpr const char* kQuantizedFusedConvTranspose = "QFusedConvTranspose";

}  // namespace octet

// QBinary: an element-wise Add or Mul that stays float in a quantized model, with the
// DequantizeLinear of each 8-bit operand and the QuantizeLinear of its result absorbed (execution
// pass fuse_qdq_elementwise), so that the float tensors between them are never written out:
//    0 A             uint8, int8 or float
//    1 a_scale       float scalar when A is 8-bit; omitted ("") when A is float
//    2 a_zero_point  scalar of A's type when A is 8-bit; omitted when A is float
//    3 B             uint8, int8 or float
//    4 b_scale       as a_scale, for B
//    5 b_zero_point  as a_zero_point, for B
//    6 y_scale       optional float scalar: when present with 7, the output is quantized
//    7 y_zero_point  optional uint8/int8 scalar: the output's type
// Attributes: operation STRING "Add" or "Mul"; optional post_ops / post_op_alpha / post_op_beta as
// in post_ops.h (element-wise kinds only, no "sum"), applied to the real-valued result in order.
// A and B broadcast multidirectionally, as ONNX Add and Mul (e.g. an SE block's [N, C, H, W] times
// [N, C, 1, 1]); either may be channels-last.
//
// Semantics: exactly the QDQ graph it replaces, element by element in float:
//   a      = A 8-bit ? float(int32(A) - a_zero_point) * a_scale : A     (DequantizeLinear)
//   b      = likewise
//   real   = post-ops(a + b)  or  post-ops(a * b)
//   quantized:  Y = saturate(round_half_to_even(real / y_scale) + y_zero_point)   (QuantizeLinear)
//   float:      Y = real
// Unlike QFusedConv there is no accumulator to rescale, so the quantization divides by y_scale as
// QuantizeLinear does, and optimized kernels are bit-identical to the reference.
//
// QPool: GlobalAveragePool or AveragePool reading an 8-bit or float X and writing an 8-bit or
// float Y, with the DequantizeLinear before it and the QuantizeLinear after it absorbed:
//    0 X             uint8, int8 or float
//    1 x_scale       float scalar when X is 8-bit; omitted when X is float
//    2 x_zero_point  scalar of X's type when X is 8-bit; omitted when X is float
//    3 y_scale       optional float scalar: when present with 4, the output is quantized
//    4 y_zero_point  optional uint8/int8 scalar: the output's type
// Attributes: operation STRING "GlobalAveragePool" or "AveragePool", plus the pooling op's own.
// Semantics: Y = QuantizeLinear(pool(DequantizeLinear(X))), the pool computed in float by the
// float pooling op's kernel (the reference pool for the reference, the fastest one otherwise).
namespace octet {

inline constexpr const char* kQuantizedBinary = "QBinary";
inline constexpr const char* kQuantizedPool = "QPool";

// Input positions of QBinary.
enum QuantizedBinaryInput : int {
  kQBinaryA = 0,
  kQBinaryAScale = 1,
  kQBinaryAZeroPoint = 2,
  kQBinaryB = 3,
  kQBinaryBScale = 4,
  kQBinaryBZeroPoint = 5,
  kQBinaryYScale = 6,
  kQBinaryYZeroPoint = 7,
};

// Input positions of QPool.
enum QuantizedPoolInput : int {
  kQPoolX = 0,
  kQPoolXScale = 1,
  kQPoolXZeroPoint = 2,
  kQPoolYScale = 3,
  kQPoolYZeroPoint = 4,
};

}  // namespace octet
