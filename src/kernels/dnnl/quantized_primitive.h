// What oneDNN's int8 convolution and deconvolution kernels (qconv.cpp, qdeconv.cpp) share: u8 or s8
// activations, s8 weights reordered once per input shape into the implementation's layout (with its
// s8-source and zero-point compensation), the epilogue of quantized_epilogue.h, a channels-last
// output, and octet's reference kernel wherever oneDNN has no primitive or only its slow reference
// one. The two differ only in their attributes, geometry, descriptor and weight layout, which they
// hand to create_quantized_primitive_kernel as a QuantizedPrimitiveDescriber and a weights descriptor.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/quantized_epilogue.h"
#include "kernels/kernel.h"

namespace octet::dnnl_backend {

// Describes the primitive for a channels-last input of `src_shape` / `src_type` with `epilogue`'s
// attributes, and the output shape in `dst_shape`. Its bias, if any, is weights argument 1, as for
// (de)convolutions. Throws dnnl::error when oneDNN has no implementation, UnsupportedError when the
// epilogue has no oneDNN form.
using QuantizedPrimitiveDescriber = std::function<dnnl::primitive_desc(
    const QuantizedEpilogue& epilogue, const Shape& src_shape, DataType src_type, Shape& dst_shape)>;

// The memory descriptors every quantized primitive shares, for `src_shape` / `src_type` in and
// `dst_shape` out (channels-last, the channel on dimension 1), and the attributes of `epilogue`.
// Throws UnsupportedError when the epilogue has no oneDNN form.
struct QuantizedPrimitiveOperands {
  dnnl::memory::desc src, dst;
  dnnl::memory::desc bias;  // zero when the node has none
  dnnl::primitive_attr attributes;
};
QuantizedPrimitiveOperands describe_quantized_operands(const QuantizedEpilogue& epilogue, const Shape& src_shape,
                                                       DataType src_type, const Shape& dst_shape);

// The node's W when it is a constant int8 tensor of rank 3 to 5 matching any kernel_shape
// attribute; nullptr with `reason` (naming `operation`, "convolution") otherwise.
const Tensor* find_quantized_primitive_weights(const KernelCreateInfo& info, const std::string& operation,
                                               std::string& reason);

// The kernel of a QFused node whose primitive `describe` gives, or nullptr with `reason` when oneDNN
// 2.6 cannot run it: probed on `probe_shape` (a small input of the node's geometry, of
// x_zero_point's type or u8) so that declines (post-op chains, source zero points) show at session
// creation rather than as a run-time fallback. `weights`: the node's constant W, which outlives the
// kernel; `user_weights_desc` reads its buffer as the primitive's logical weights. `operation`
// ("convolution") names what the primitive computes in reasons and detail().
std::unique_ptr<Kernel> create_quantized_primitive_kernel(const KernelCreateInfo& info, const Tensor& weights,
                                                          const dnnl::memory::desc& user_weights_desc,
                                                          QuantizedEpilogue epilogue,
                                                          QuantizedPrimitiveDescriber describe,
                                                          const Shape& probe_shape, const std::string& operation,
                                                          std::string& reason);

}  // namespace octet::dnnl_backend
