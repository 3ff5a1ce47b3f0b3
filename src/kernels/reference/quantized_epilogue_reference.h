// The float steps of octet's int8 fused ops after the exact int32 accumulator (kernels/quantized_ops.h),
// shared by the reference kernels of QFusedConv / QFusedMatMul (qfused.cpp) and QFusedConvTranspose
// (qdeconv.cpp), so the oracle of every oneDNN int8 kernel applies the contract in one place:
//   real = (float(acc) + float(B[c])) * float(x_scale * w_scale[c])
//   real = post-ops(real)          sum: real += (float(Sum) - sum_zero_point) * sum_scale, or += Sum
//   Y    = real (float output), or quantize_saturate(real * (1 / y_scale), y_zero_point) (quantize_math.h)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/post_ops.h"
#include "octet/tensor.h"

namespace octet {

inline bool is_8bit(DataType dtype) { return dtype == DataType::kUint8 || dtype == DataType::kInt8; }

// The value of a one-element float tensor; throws Error naming `name` otherwise.
float scalar_float(const Tensor& tensor, const std::string& name);

// The value of a one-element tensor of type `expected`; throws Error naming `name` otherwise.
int32_t scalar_zero_point(const Tensor& tensor, DataType expected, const std::string& name);

// Where the output channel of each accumulator element is: element i belongs to channel
// i / elements_per_channel % channels (axis 1 of NC...: the spatial size; last axis: 1).
struct AccumulatorChannels {
  int64_t channels = 1;
  int64_t elements_per_channel = 1;
};

// Applies the contract's float steps to `accumulators` (row-major, `shape`) and writes output 0 of
// `context`: float without y_scale / y_zero_point, else 8-bit of y_zero_point's type. Reads the
// node's w_scale, B, Sum (with its scale and zero point), y_scale and y_zero_point inputs, and
// names `description` (the node) in its errors. `x_scale` has been read (and checked) by the caller.
void apply_quantized_epilogue_reference(KernelContext& context, const std::string& description,
                                        const std::vector<PostOp>& post_ops, float x_scale, const int32_t* accumulators,
                                        const Shape& shape, AccumulatorChannels accumulator_channels);

}  // namespace octet
