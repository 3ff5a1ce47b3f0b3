// octet.QFusedConvTranspose on oneDNN's int8 deconvolution: u8 or s8 channels-last activations,
// s8 weights reordered once per input shape into the implementation's layout (with its s8-source
// and zero-point compensation), and the epilogue of quantized_epilogue.h (output scales given at
// creation, post-ops, u8/s8/f32 dst). The output is channels-last, like the float deconvolution's.
// The kernel machinery is quantized_primitive.h's; this file holds what is deconvolution-specific.
#include <optional>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/quantized_epilogue.h"
#include "kernels/dnnl/quantized_primitive.h"
#include "kernels/quantized_ops.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

struct QuantizedDeconvAttributes {
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads, output_padding;  // pads: begin..., end...
};

// The oneDNN deconvolution descriptor of one input shape.
struct QuantizedDeconvGeometry {
  memory::dims strides, dilations, pads_begin, pads_end;
  Shape dst_shape;
};

QuantizedDeconvGeometry deconv_geometry(const QuantizedDeconvAttributes& attributes, const Shape& src_shape,
                                        const Shape& weight_shape) {
  check(src_shape.size() == weight_shape.size(), "input rank ", src_shape.size(), " does not match weight rank ",
        weight_shape.size());
  check(src_shape[1] == weight_shape[0], "input has ", src_shape[1], " channels, the weights expect ", weight_shape[0]);
  const size_t spatial_rank = src_shape.size() - 2;
  QuantizedDeconvGeometry geometry;
  geometry.dst_shape = {src_shape[0], weight_shape[1] * attributes.group};
  for (size_t i = 0; i < spatial_rank; ++i) {
    const int64_t extent = (weight_shape[i + 2] - 1) * attributes.dilations[i] + 1;
    const int64_t size = attributes.strides[i] * (src_shape[i + 2] - 1) + attributes.output_padding[i] + extent -
                         attributes.pads[i] - attributes.pads[i + spatial_rank];
    check(size > 0, "output spatial size ", size, " is not positive");
    geometry.dst_shape.push_back(size);
    geometry.strides.push_back(attributes.strides[i]);
    geometry.dilations.push_back(attributes.dilations[i] - 1);  // oneDNN counts dilation from 0
    geometry.pads_begin.push_back(attributes.pads[i]);
    // oneDNN has no output_padding: extra rows at the end are negative end padding.
    geometry.pads_end.push_back(attributes.pads[i + spatial_rank] - attributes.output_padding[i]);
  }
  return geometry;
}

// oneDNN's logical deconvolution weights ([G,] O, I, k...) and the format tag that reads ONNX's
// [C_in, C_out / group, k...] buffer as them.
memory::desc deconv_user_weights_desc(const Shape& weight_shape, int64_t group) {
  const size_t spatial_rank = weight_shape.size() - 2;
  memory::dims dims{weight_shape[1], weight_shape[0] / group};
  for (size_t i = 0; i < spatial_rank; ++i) dims.push_back(weight_shape[i + 2]);
  using tag = memory::format_tag;
  tag user_tag = spatial_rank == 1 ? tag::bac : spatial_rank == 2 ? tag::bacd : tag::bacde;  // i, o, spatial
  if (group > 1) {
    dims.insert(dims.begin(), group);
    user_tag = spatial_rank == 1 ? tag::acbd : spatial_rank == 2 ? tag::acbde : tag::acbdef;  // g, i, o, spatial
  }
  return memory::desc(dims, memory::data_type::s8, user_tag);
}

// The primitive descriptor for `src_shape` / `src_type` (a QuantizedPrimitiveDescriber with the
// node's attributes and weight shape bound).
dnnl::deconvolution_forward::primitive_desc deconv_primitive_desc(const QuantizedDeconvAttributes& attributes,
                                                                  const Shape& weight_shape,
                                                                  const QuantizedEpilogue& epilogue,
                                                                  const Shape& src_shape, DataType src_type,
                                                                  Shape& dst_shape) {
  const QuantizedDeconvGeometry geometry = deconv_geometry(attributes, src_shape, weight_shape);
  dst_shape = geometry.dst_shape;
  const QuantizedPrimitiveOperands operands = describe_quantized_operands(epilogue, src_shape, src_type, dst_shape);
  const memory::desc weights_desc(deconv_user_weights_desc(weight_shape, attributes.group).dims(),
                                  memory::data_type::s8, memory::format_tag::any);
  const dnnl::deconvolution_forward::desc descriptor(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, operands.src, weights_desc,
      operands.bias, operands.dst, geometry.strides, geometry.dilations, geometry.pads_begin, geometry.pads_end);
  return dnnl::deconvolution_forward::primitive_desc(descriptor, operands.attributes, cpu_engine());
}

}  // namespace

std::unique_ptr<Kernel> create_quantized_deconv_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  const Tensor* weights = find_quantized_primitive_weights(info, "deconvolution", reason);
  if (!weights) return nullptr;
  const size_t spatial_rank = static_cast<size_t>(weights->rank()) - 2;
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if ((auto_pad != "NOTSET" && auto_pad != "VALID") || node.has_attribute("output_shape")) {
    reason = "auto_pad SAME_* or output_shape";
    return nullptr;
  }
  QuantizedDeconvAttributes attributes;
  attributes.group = node.attr_int("group", 1);
  attributes.strides = node.attr_ints("strides", std::vector<int64_t>(spatial_rank, 1));
  attributes.dilations = node.attr_ints("dilations", std::vector<int64_t>(spatial_rank, 1));
  attributes.pads = node.attr_ints("pads", std::vector<int64_t>(2 * spatial_rank, 0));
  if (auto_pad == "VALID") attributes.pads.assign(2 * spatial_rank, 0);
  attributes.output_padding = node.attr_ints("output_padding", std::vector<int64_t>(spatial_rank, 0));
  if (attributes.strides.size() != spatial_rank || attributes.dilations.size() != spatial_rank ||
      attributes.pads.size() != 2 * spatial_rank || attributes.output_padding.size() != spatial_rank ||
      attributes.group < 1 || weights->dim(0) % attributes.group != 0) {
    reason = "malformed deconvolution attributes";
    return nullptr;
  }
  std::optional<QuantizedEpilogue> epilogue = read_quantized_epilogue(info, weights->dim(1) * attributes.group, reason);
  if (!epilogue) return nullptr;
  if (epilogue->residual == QuantizedEpilogue::Residual::kSum && epilogue->sum_type != DataType::kFloat) {
    // jit_deconvolution rejects a sum post-op reading an 8-bit dst (with or without zero point).
    reason = "oneDNN 2.6 has no int8 deconvolution with an 8-bit residual summed into an 8-bit output";
    return nullptr;
  }
  // A small input of this geometry, for the creation-time probe of create_quantized_primitive_kernel.
  Shape probe_shape{1, weights->dim(0)};
  for (size_t i = 0; i < spatial_rank; ++i)
    probe_shape.push_back(5 + attributes.pads[i] + attributes.pads[i + spatial_rank]);
  QuantizedPrimitiveDescriber describe = [attributes, weight_shape = weights->shape()](
                                             const QuantizedEpilogue& primitive_epilogue, const Shape& src_shape,
                                             DataType src_type, Shape& dst_shape) -> dnnl::primitive_desc {
    return deconv_primitive_desc(attributes, weight_shape, primitive_epilogue, src_shape, src_type, dst_shape);
  };
  // Row bands when each input row writes its own output rows (see DeconvolutionRows).
  std::optional<DeconvolutionRows> rows;
  if (spatial_rank == 2 && weights->dim(2) == attributes.strides[0] && attributes.dilations[0] == 1 &&
      attributes.pads[0] == 0 && attributes.pads[2] == 0 && attributes.output_padding[0] == 0)
    rows = DeconvolutionRows{attributes.strides[0]};
  return create_quantized_primitive_kernel(info, *weights, deconv_user_weights_desc(weights->shape(), attributes.group),
                                           std::move(*epilogue), std::move(describe), WeightSliceReader::kInput,
                                           probe_shape, "deconvolution", reason, std::nullopt, rows);
}

}  // namespace octet::dnnl_backend
