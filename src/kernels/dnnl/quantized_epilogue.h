// The float steps of octet.QFusedConv / octet.QFusedMatMul (kernels/quantized_ops.h) after the
// int32 accumulator, expressed as oneDNN 2.6 attributes, shared by the int8 conv and matmul kernels:
//   output scales   x_scale * w_scale[c] per output channel, set at primitive creation
//   bias            f32 float(int32 B): oneDNN 2.x adds it to the accumulator before the scales
//   post-ops        the node's element-wise post-ops in the real domain; the residual as a sum
//                   post-op (8-bit residual into an 8-bit dst, with its scale and zero point; float
//                   into float) or a binary add of a float tensor (mixed sizes, which sum cannot
//                   reinterpret); a quantized dst ends with eltwise_linear(1 / y_scale, y_zero_point)
//                   and oneDNN's saturating round-to-nearest-even conversion to u8/s8.
//   source zero point  oneDNN's src zero-point attribute (a run-time value).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/kernel.h"

namespace octet::dnnl_backend {

struct QuantizedEpilogue {
  enum class Residual { kNone, kSum, kBinary };

  DataType x_type = DataType::kUndefined;  // from x_zero_point; kUndefined when it is omitted
  int32_t x_zero_point = 0;
  std::vector<float> output_scales;  // one, or one per output channel
  std::vector<float> bias;           // float(B[c]); empty without bias
  std::vector<PostOp> post_ops;
  Residual residual = Residual::kNone;
  DataType sum_type = DataType::kUndefined;  // the residual's type (float unless sum_zero_point says otherwise)
  float sum_scale = 1.0f;
  int32_t sum_zero_point = 0;
  DataType dst_type = DataType::kFloat;  // u8/s8 when y_scale and y_zero_point are given
  float y_scale = 1.0f;
  int32_t y_zero_point = 0;

  // Attributes for a primitive whose dst has the output channel on dimension `channel_dim`.
  // `dst_f32_desc`: the dst's shape and layout in f32 (the binary residual's descriptor). Returns
  // false with `reason` when oneDNN 2.6 cannot express (or would miscompute) the chain.
  bool make_attributes(int channel_dim, const dnnl::memory::desc& dst_f32_desc, dnnl::primitive_attr& attributes,
                       std::string& reason) const;

  // Arguments the attributes need at execution besides src/weights/bias/dst: the source zero point.
  void add_arguments(std::unordered_map<int, dnnl::memory>& arguments) const;

  // Allocates output 0 (type dst_type, `shape`, `layout`) and stages the residual: copied (or,
  // when donated, moved) into the output for the sum post-op, or converted to f32 in `scratch`
  // for the binary add (returned; nullptr otherwise). The residual is converted to `layout` first.
  const float* stage_output(KernelContext& context, const Shape& shape, Layout layout, std::vector<float>& scratch,
                            Tensor& converted_residual) const;

 private:
  mutable dnnl::memory zero_point_memory_;
  mutable int32_t zero_point_value_ = 0;
};

// Reads the quantization inputs of a QFused node. All scales and zero points must be constants;
// `channels` is the output channel count (Conv M, MatMul N). nullopt with `reason` when declined.
std::optional<QuantizedEpilogue> read_quantized_epilogue(const KernelCreateInfo& info, int64_t channels,
                                                         std::string& reason);

}  // namespace octet::dnnl_backend
