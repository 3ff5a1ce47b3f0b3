// What oneDNN's int8 convolution and deconvolution kernels (qconv.cpp, qdeconv.cpp) share: u8 or s8
// activations, s8 weights reordered once per input shape into the implementation's layout (with its
// s8-source and zero-point compensation), the epilogue of quantized_epilogue.h, a channels-last
// output, and octet's reference kernel wherever oneDNN has no primitive or only its slow reference
// one. The two differ only in their attributes, geometry, descriptor and weight layout, which they
// hand to create_quantized_primitive_kernel as a QuantizedPrimitiveDescriber and a weights descriptor.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// Which tensor's elements each meet every weight of one W[i] slice, i along W's first axis: the
// output's for a convolution (W [M, C / group, k...]), the input's for a deconvolution (W [C_in,
// C_out / group, k...]). The primitive's multiply-adds are their count times W's elements / W.dim(0),
// which decides whether it runs on one thread (dnnl_common.h, single_threaded_work).
enum class WeightSliceReader { kOutput, kInput };

// A second way to run a depthwise convolution of an s8 source without zero point: oneDNN 2.6's
// brdgmm_dw takes u8 sources only, and s8 ones go to jit_int8, about half as fast. The source is
// rewritten as u8 = s8 + 128 (the bijection x ^ 0x80) into a buffer whose horizontal padding is
// explicit and holds 128 (the shifted zero). The output rows are then split by the kernel rows
// their windows keep inside the input (all of them in the interior; fewer near the top and bottom,
// where the rest lie in the padding), and each group runs on brdgmm_dw without padding, with just
// those kernel rows. Every window then sums 128 * W over its kernel rows, so each group's bias is
// B[m] - 128 * (sum of those rows of W[m]), and the accumulator plus bias, the float value the
// epilogue starts from, is unchanged. That sum is exact in float, hence the result bit-identical,
// while the integers involved stay below 2^24; the kernel checks this and otherwise keeps the
// direct primitive. Slicing the kernel rather than padding vertically matters for short maps: the
// PP-OCR classifier's 5x5 depthwise convolutions run on 2 to 3 rows, where most vertical taps are
// padding (measured on this machine, 200 channels, 2x96, one thread: 32 us direct on s8, 32 us on
// a vertically padded u8 buffer, 17 us on u8 with oneDNN's implicit padding).
struct ShiftedSourceRoute {
  // sum over the kernel row kh of W[m], at m * kernel_height + kh.
  std::vector<int64_t> row_sums;
  // The route is taken when brdgmm's name starts with this and the direct implementation's does not.
  std::string implementation_prefix;
  // Whether an input of this shape is worth the route (its explicit horizontal padding is computed
  // like any other tap).
  std::function<bool(const Shape& src_shape)> worthwhile;
};

// What lets the kernel run a 2-D convolution (channels-last source, rank 4) in pieces: its
// vertical geometry and a describer taking explicit padding and a range of kernel rows. With it,
// while the cores are contended (dnnl_common.h, cores_contended), the kernel splits a large
// convolution into bands of output rows, each a single-threaded primitive reading the rows it
// needs, and runs them on the session's thread pool, which hands bands out dynamically: the
// calling thread takes the next band whenever it is free, so a worker the OS does not schedule
// delays nothing. (oneDNN's OpenMP split is static: every call waits for every thread, and on a
// busy 2-core VM that wait reaches a scheduler period: ResNet-50 INT8 went from 11 ms to medians
// of 34 to 456 ms with two other busy processes, against 22 to 30 ms in bands. On an idle machine
// the split is faster: 11 ms against 14 ms.)
struct ConvolutionPieces {
  int64_t stride = 1;          // vertical stride
  int64_t dilation = 1;        // vertical dilation (1: none)
  int64_t kernel_height = 1;
  // The node's padding for an input of `src_shape`: begin then end, per spatial axis.
  std::function<std::vector<int64_t>(const Shape& src_shape)> padding;
  // The primitive for `src_shape` / `src_type` with `padding` (begin then end per spatial axis) in
  // place of the node's, and the kernel rows [kernel_row, kernel_row + kernel_rows) (its weights
  // are that slice of W); throws as a QuantizedPrimitiveDescriber does.
  std::function<dnnl::primitive_desc(const QuantizedEpilogue& epilogue, const Shape& src_shape, DataType src_type,
                                     const std::vector<int64_t>& padding, int64_t kernel_rows, Shape& dst_shape)>
      describe;
  std::optional<ShiftedSourceRoute> shifted_source;
};

// For a transposed convolution whose every input row writes its own `stride` output rows and no
// others (kernel height equal to the vertical stride, no vertical padding, dilation or output
// padding: the PP-OCR detector's 2x2 stride-2 upsampling), the kernel runs bands of input rows as
// the same deconvolution on fewer rows, as it runs convolutions' row bands (ConvolutionPieces).
struct DeconvolutionRows {
  int64_t stride = 1;
};

// The kernel of a QFused node whose primitive `describe` gives, or nullptr with `reason` when oneDNN
// 2.6 cannot run it: probed on `probe_shape` (a small input of the node's geometry, of
// x_zero_point's type or u8) so that declines (post-op chains, source zero points) show at session
// creation rather than as a run-time fallback. `weights`: the node's constant W, which outlives the
// kernel; `user_weights_desc` reads its buffer as the primitive's logical weights. `operation`
// ("convolution") names what the primitive computes in reasons and detail(). `pieces` and
// `deconvolution_rows`: optional, see ConvolutionPieces and DeconvolutionRows.
std::unique_ptr<Kernel> create_quantized_primitive_kernel(const KernelCreateInfo& info, const Tensor& weights,
                                                          const dnnl::memory::desc& user_weights_desc,
                                                          QuantizedEpilogue epilogue,
                                                          QuantizedPrimitiveDescriber describe,
                                                          WeightSliceReader slice_reader, const Shape& probe_shape,
                                                          const std::string& operation, std::string& reason,
                                                          std::optional<ConvolutionPieces> pieces = {},
                                                          std::optional<DeconvolutionRows> deconvolution_rows = {});

}  // namespace octet::dnnl_backend
