// How the Q/DQ-absorbing ops QBinary and QPool (kernels/quantized_ops.h) read their operands: a
// value that is either float or 8-bit with a per-tensor scale and zero point right after it in the
// input list, and an output quantized when y_scale and y_zero_point are both present. Shared by
// their reference and oneDNN-backend kernels, so that both check the contract the same way.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/kernel.h"
#include "octet/status.h"
#include "octet/tensor.h"

namespace octet {

// A float operand (quantized = false) or an 8-bit one, real = (q - zero_point) * scale.
struct OperandQuantization {
  bool quantized = false;
  DataType dtype = DataType::kFloat;  // of the operand's elements
  float scale = 1;
  int32_t zero_point = 0;
};

inline bool is_8bit_type(DataType dtype) { return dtype == DataType::kUint8 || dtype == DataType::kInt8; }

// One-element float tensor's value; throws Error naming `node` and `name` otherwise.
inline float scalar_scale(const Tensor& tensor, const std::string& node, const char* name) {
  // Not check(): its arguments, the shape string included, would be built on every run.
  if (tensor.element_count() != 1 || tensor.dtype() != DataType::kFloat)
    throw Error(concat(node, ": ", name, " must be a float scalar, got ", dtype_name(tensor.dtype()), " ",
                       shape_to_string(tensor.shape())));
  return tensor.data<float>()[0];
}

// One-element tensor of `dtype`'s value; throws Error naming `node` and `name` otherwise.
inline int32_t scalar_zero_point(const Tensor& tensor, DataType dtype, const std::string& node, const char* name) {
  if (tensor.element_count() != 1 || tensor.dtype() != dtype)
    throw Error(concat(node, ": ", name, " must be a ", dtype_name(dtype), " scalar, got ", dtype_name(tensor.dtype()),
                       " ", shape_to_string(tensor.shape())));
  return static_cast<int32_t>(tensor.value_as_int64(0));
}

// The input at `value_index`, with its scale and zero point at the two positions after it: float
// with both omitted, or 8-bit with both present.
inline OperandQuantization input_quantization(const KernelContext& context, size_t value_index, const std::string& node,
                                              const char* name) {
  const Tensor& value = context.input(value_index);
  const Tensor* scale = context.optional_input(value_index + 1);
  const Tensor* zero_point = context.optional_input(value_index + 2);
  OperandQuantization quantization;
  quantization.dtype = value.dtype();
  if (value.dtype() == DataType::kFloat) {
    check(!scale && !zero_point, node, ": ", name, " is float, so its scale and zero point must be omitted");
    return quantization;
  }
  check(is_8bit_type(value.dtype()), node, ": ", name, " must be float, uint8 or int8, got ", dtype_name(value.dtype()));
  check(scale && zero_point, node, ": ", name, " is 8-bit and needs its scale and zero point");
  quantization.quantized = true;
  quantization.scale = scalar_scale(*scale, node, "scale");
  quantization.zero_point = scalar_zero_point(*zero_point, value.dtype(), node, "zero point");
  return quantization;
}

// The output's quantization from y_scale (at `scale_index`) and y_zero_point (the next input): float
// when both are omitted, 8-bit of y_zero_point's type when both are present.
inline OperandQuantization output_quantization(const KernelContext& context, size_t scale_index,
                                               const std::string& node) {
  const Tensor* scale = context.optional_input(scale_index);
  const Tensor* zero_point = context.optional_input(scale_index + 1);
  OperandQuantization quantization;
  check(!scale == !zero_point, node, ": y_scale and y_zero_point must be given together");
  if (!scale) return quantization;
  check(is_8bit_type(zero_point->dtype()), node, ": y_zero_point must be uint8 or int8, got ",
        dtype_name(zero_point->dtype()));
  quantization.quantized = true;
  quantization.dtype = zero_point->dtype();
  quantization.scale = scalar_scale(*scale, node, "y_scale");
  quantization.zero_point = scalar_zero_point(*zero_point, zero_point->dtype(), node, "y_zero_point");
  return quantization;
}

}  // namespace octet
