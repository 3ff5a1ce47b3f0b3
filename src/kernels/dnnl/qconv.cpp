// octet.QFusedConv on oneDNN's int8 convolution (brgconv / jit avx512_core_vnni, brdgmm_dw for
// depthwise): u8 or s8 channels-last activations, s8 weights reordered once per input shape into
// the implementation's layout (with its s8-source and zero-point compensation), and the epilogue
// of quantized_epilogue.h. The output is channels-last, like the float convolution's. The kernel
// machinery is quantized_primitive.h's; this file holds what is convolution-specific, including the
// pieces that kernel needs to run row bands and the shifted source of depthwise convolutions.
#include <optional>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/quantized_epilogue.h"
#include "kernels/dnnl/quantized_primitive.h"
#include "kernels/quantized_ops.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

struct QuantizedConvAttributes {
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;  // pads: begin..., end...
  std::string auto_pad;
};

// The oneDNN convolution descriptor of one input shape.
struct QuantizedConvGeometry {
  memory::dims strides, dilations, pads_begin, pads_end;
  Shape dst_shape;
};

QuantizedConvGeometry conv_geometry(const QuantizedConvAttributes& attributes, const Shape& src_shape,
                                    const Shape& weight_shape) {
  check(src_shape.size() == weight_shape.size(), "input rank ", src_shape.size(), " does not match weight rank ",
        weight_shape.size());
  check(src_shape[1] == weight_shape[1] * attributes.group, "input has ", src_shape[1],
        " channels, the weights expect ", weight_shape[1] * attributes.group);
  const size_t spatial_rank = src_shape.size() - 2;
  QuantizedConvGeometry geometry;
  geometry.dst_shape = {src_shape[0], weight_shape[0]};
  for (size_t i = 0; i < spatial_rank; ++i) {
    const int64_t input_size = src_shape[i + 2];
    const int64_t stride = attributes.strides[i];
    const int64_t dilation = attributes.dilations[i];
    const int64_t extent = (weight_shape[i + 2] - 1) * dilation + 1;
    int64_t pad_begin = attributes.pads[i];
    int64_t pad_end = attributes.pads[i + spatial_rank];
    if (attributes.auto_pad == "SAME_UPPER" || attributes.auto_pad == "SAME_LOWER") {
      const int64_t output_size = (input_size + stride - 1) / stride;
      const int64_t total = std::max<int64_t>(0, (output_size - 1) * stride + extent - input_size);
      pad_begin = attributes.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pad_end = total - pad_begin;
    } else if (attributes.auto_pad == "VALID") {
      pad_begin = pad_end = 0;
    }
    const int64_t output_size = (input_size + pad_begin + pad_end - extent) / stride + 1;
    check(output_size > 0, "input spatial size ", input_size, " is smaller than the kernel extent ", extent);
    geometry.dst_shape.push_back(output_size);
    geometry.strides.push_back(stride);
    geometry.dilations.push_back(dilation - 1);  // oneDNN counts dilation from 0
    geometry.pads_begin.push_back(pad_begin);
    geometry.pads_end.push_back(pad_end);
  }
  return geometry;
}

memory::dims grouped_weight_dims(const Shape& weight_shape, int64_t group) {
  memory::dims dims = to_dims(weight_shape);
  if (group > 1) {
    dims[0] /= group;
    dims.insert(dims.begin(), group);
  }
  return dims;
}

// W's [M, C / group, k...] buffer as oneDNN's grouped weights [G, M / group, C / group, k...].
memory::desc conv_user_weights_desc(const Shape& weight_shape, int64_t group) {
  const memory::dims weight_dims = grouped_weight_dims(weight_shape, group);
  return memory::desc(weight_dims, memory::data_type::s8, format_for(Layout::kPlain, weight_dims.size()));
}

// The primitive descriptor for `src_shape` / `src_type` (a QuantizedPrimitiveDescriber with the
// node's attributes and weight shape bound).
dnnl::convolution_forward::primitive_desc conv_primitive_desc(const QuantizedConvAttributes& attributes,
                                                              const Shape& weight_shape,
                                                              const QuantizedEpilogue& epilogue, const Shape& src_shape,
                                                              DataType src_type, Shape& dst_shape) {
  const QuantizedConvGeometry geometry = conv_geometry(attributes, src_shape, weight_shape);
  dst_shape = geometry.dst_shape;
  const QuantizedPrimitiveOperands operands = describe_quantized_operands(epilogue, src_shape, src_type, dst_shape);
  const memory::desc weights_desc(grouped_weight_dims(weight_shape, attributes.group), memory::data_type::s8,
                                  memory::format_tag::any);
  const dnnl::convolution_forward::desc descriptor(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, operands.src, weights_desc,
      operands.bias, operands.dst, geometry.strides, geometry.dilations, geometry.pads_begin, geometry.pads_end);
  return dnnl::convolution_forward::primitive_desc(descriptor, operands.attributes, cpu_engine());
}

// The shifted-source route computes the explicit horizontal padding like any other tap: worth it
// when at least this fraction of the horizontal window taps read the input itself.
constexpr double kShiftedSourceMinInsideTaps = 0.85;

// The fraction of the horizontal window taps of all outputs that fall inside the input.
double horizontal_inside_fraction(const QuantizedConvAttributes& attributes, const Shape& src_shape,
                                  const Shape& weight_shape) {
  const QuantizedConvGeometry geometry = conv_geometry(attributes, src_shape, weight_shape);
  const int64_t kernel = weight_shape[3], outputs = geometry.dst_shape[3];
  int64_t inside = 0;
  for (int64_t o = 0; o < outputs; ++o) {
    for (int64_t k = 0; k < kernel; ++k) {
      const int64_t position = o * geometry.strides[1] - geometry.pads_begin[1] + k * (geometry.dilations[1] + 1);
      if (position >= 0 && position < src_shape[3]) ++inside;
    }
  }
  return static_cast<double>(inside) / static_cast<double>(kernel * outputs);
}

// What lets the kernel run a 2-D convolution in pieces (quantized_primitive.h): row bands, and for
// depthwise convolutions (one input and one output channel per group) of an s8 source without zero
// point, the shifted-source route onto brdgmm_dw, which runs u8 sources only.
std::optional<ConvolutionPieces> convolution_pieces(const QuantizedConvAttributes& attributes, const Tensor& weights,
                                                    const QuantizedEpilogue& epilogue) {
  if (weights.rank() != 4) return std::nullopt;
  ConvolutionPieces pieces;
  pieces.stride = attributes.strides[0];
  pieces.dilation = attributes.dilations[0];
  pieces.kernel_height = weights.dim(2);
  pieces.padding = [attributes, weight_shape = weights.shape()](const Shape& src_shape) {
    const QuantizedConvGeometry geometry = conv_geometry(attributes, src_shape, weight_shape);
    std::vector<int64_t> padding(geometry.pads_begin.begin(), geometry.pads_begin.end());
    padding.insert(padding.end(), geometry.pads_end.begin(), geometry.pads_end.end());
    return padding;
  };
  pieces.describe = [attributes, weight_shape = weights.shape()](
                        const QuantizedEpilogue& primitive_epilogue, const Shape& src_shape, DataType src_type,
                        const std::vector<int64_t>& padding, int64_t kernel_rows,
                        Shape& dst_shape) -> dnnl::primitive_desc {
    QuantizedConvAttributes padded = attributes;
    padded.pads = padding;
    padded.auto_pad = "NOTSET";
    Shape sliced_weight_shape = weight_shape;
    sliced_weight_shape[2] = kernel_rows;
    return conv_primitive_desc(padded, sliced_weight_shape, primitive_epilogue, src_shape, src_type, dst_shape);
  };
  const bool depthwise = weights.dim(1) == 1 && weights.dim(0) == attributes.group;
  const bool s8_source = epilogue.x_type == DataType::kInt8 || epilogue.x_type == DataType::kUndefined;
  if (depthwise && s8_source && epilogue.x_zero_point == 0) {
    ShiftedSourceRoute route;
    route.implementation_prefix = "brdgmm_dw";
    route.worthwhile = [attributes, weight_shape = weights.shape()](const Shape& src_shape) {
      return horizontal_inside_fraction(attributes, src_shape, weight_shape) >= kShiftedSourceMinInsideTaps;
    };
    const int64_t kernel_height = weights.dim(2), kernel_width = weights.dim(3);
    const int8_t* values = weights.data<int8_t>();
    for (int64_t row = 0; row < weights.dim(0) * kernel_height; ++row) {
      int64_t sum = 0;
      for (int64_t column = 0; column < kernel_width; ++column) sum += values[row * kernel_width + column];
      route.row_sums.push_back(sum);
    }
    pieces.shifted_source = std::move(route);
  }
  return pieces;
}

}  // namespace

std::unique_ptr<Kernel> create_quantized_conv_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  const Tensor* weights = find_quantized_primitive_weights(info, "convolution", reason);
  if (!weights) return nullptr;
  const size_t spatial_rank = static_cast<size_t>(weights->rank()) - 2;
  QuantizedConvAttributes attributes;
  attributes.group = node.attr_int("group", 1);
  attributes.strides = node.attr_ints("strides", std::vector<int64_t>(spatial_rank, 1));
  attributes.dilations = node.attr_ints("dilations", std::vector<int64_t>(spatial_rank, 1));
  attributes.pads = node.attr_ints("pads", std::vector<int64_t>(2 * spatial_rank, 0));
  attributes.auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (attributes.strides.size() != spatial_rank || attributes.dilations.size() != spatial_rank ||
      attributes.pads.size() != 2 * spatial_rank || attributes.group < 1 || weights->dim(0) % attributes.group != 0) {
    reason = "malformed convolution attributes";
    return nullptr;
  }
  std::optional<QuantizedEpilogue> epilogue = read_quantized_epilogue(info, weights->dim(0), reason);
  if (!epilogue) return nullptr;
  // A small input of this geometry, for the creation-time probe of create_quantized_primitive_kernel.
  Shape probe_shape{1, weights->dim(1) * attributes.group};
  for (size_t i = 0; i < spatial_rank; ++i)
    probe_shape.push_back((weights->dim(static_cast<int64_t>(i) + 2) - 1) * attributes.dilations[i] + 1 +
                          4 * attributes.strides[i]);
  QuantizedPrimitiveDescriber describe = [attributes, weight_shape = weights->shape()](
                                             const QuantizedEpilogue& primitive_epilogue, const Shape& src_shape,
                                             DataType src_type, Shape& dst_shape) -> dnnl::primitive_desc {
    return conv_primitive_desc(attributes, weight_shape, primitive_epilogue, src_shape, src_type, dst_shape);
  };
  std::optional<ConvolutionPieces> pieces = convolution_pieces(attributes, *weights, *epilogue);
  return create_quantized_primitive_kernel(info, *weights, conv_user_weights_desc(weights->shape(), attributes.group),
                                           std::move(*epilogue), std::move(describe), WeightSliceReader::kOutput,
                                           probe_shape, "convolution", reason, std::move(pieces));
}

}  // namespace octet::dnnl_backend
