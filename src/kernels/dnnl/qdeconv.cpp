// octet.QFusedConvTranspose on oneDNN's int8 deconvolution: u8 or s8 channels-last activations,
// s8 weights reordered once per input shape into the implementation's layout (with its s8-source
// and zero-point compensation), and the epilogue of quantized_epilogue.h (output scales given at
// creation, post-ops, u8/s8/f32 dst). The output is channels-last, like the float deconvolution's.
#include <map>
#include <optional>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/quantized_epilogue.h"
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
memory::desc user_weight_desc(const Shape& weight_shape, int64_t group) {
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

// The primitive descriptor for `src_shape` / `src_type`; throws dnnl::error when oneDNN has none.
dnnl::deconvolution_forward::primitive_desc make_primitive_desc(const QuantizedDeconvAttributes& attributes,
                                                                const QuantizedEpilogue& epilogue,
                                                                const Shape& weight_shape, const Shape& src_shape,
                                                                DataType src_type, QuantizedDeconvGeometry& geometry) {
  geometry = deconv_geometry(attributes, src_shape, weight_shape);
  const memory::format_tag activation_tag = format_for(Layout::kChannelsLast, src_shape.size());
  const memory::desc src_desc(to_dims(src_shape), to_dnnl(src_type), activation_tag);
  const memory::desc dst_desc(to_dims(geometry.dst_shape), to_dnnl(epilogue.dst_type), activation_tag);
  const memory::desc dst_f32_desc(to_dims(geometry.dst_shape), memory::data_type::f32, activation_tag);
  const memory::desc weights_desc(user_weight_desc(weight_shape, attributes.group).dims(), memory::data_type::s8,
                                  memory::format_tag::any);
  const int64_t channels = geometry.dst_shape[1];
  const memory::desc bias_desc =
      epilogue.bias.empty() ? memory::desc() : memory::desc({channels}, memory::data_type::f32, memory::format_tag::a);
  dnnl::primitive_attr primitive_attributes;
  std::string reason;
  if (!epilogue.make_attributes(1, dst_f32_desc, primitive_attributes, reason)) throw UnsupportedError(reason);
  const dnnl::deconvolution_forward::desc descriptor(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, src_desc, weights_desc, bias_desc,
      dst_desc, geometry.strides, geometry.dilations, geometry.pads_begin, geometry.pads_end);
  return dnnl::deconvolution_forward::primitive_desc(descriptor, primitive_attributes, cpu_engine());
}

// Index of the binary post-op (the float residual) in a primitive's post-op chain, or -1.
int binary_post_op_index(const dnnl::primitive_attr& attributes) {
  const dnnl::post_ops chain = attributes.get_post_ops();
  for (int i = 0; i < chain.len(); ++i)
    if (chain.kind(i) == dnnl::primitive::kind::binary) return i;
  return -1;
}

bool is_reference_implementation(const std::string& name) { return name.rfind("ref", 0) == 0; }

class QuantizedDeconvKernel : public Kernel {
 public:
  QuantizedDeconvKernel(const KernelCreateInfo& info, const Tensor& weights, QuantizedDeconvAttributes attributes,
                        QuantizedEpilogue epilogue)
      : fallback_(info), weights_(weights), attributes_(std::move(attributes)), epilogue_(std::move(epilogue)) {}

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(kQInputX);
    check(src.dtype() == DataType::kUint8 || src.dtype() == DataType::kInt8, "input X is ", dtype_name(src.dtype()),
          ", expected uint8 or int8");
    if (epilogue_.x_type != DataType::kUndefined)
      check(src.dtype() == epilogue_.x_type, "input X is ", dtype_name(src.dtype()), " but x_zero_point is ",
            dtype_name(epilogue_.x_type));
    Prepared* prepared = prepare(src);
    if (!prepared->primitive) {
      detail_ = prepared->implementation;
      fallback_.run(context);
      return;
    }
    dnnl::stream& stream = thread_stream();
    LayoutView& input = prepared->input_view(src.layout(), src.shape(), src.dtype());
    input.view.set_data_handle(const_cast<void*>(src.raw_data()));
    if (input.reorder) input.reorder->execute(stream, input.view, prepared->src_buffer);
    prepared->arguments[DNNL_ARG_SRC] = input.reorder ? prepared->src_buffer : input.view;

    Tensor converted_residual;
    const float* binary_addend =
        epilogue_.stage_output(context, prepared->dst_shape, Layout::kChannelsLast, residual_scratch_, converted_residual);
    prepared->dst_view.set_data_handle(context.output(0).raw_data());
    prepared->arguments[DNNL_ARG_DST] = prepared->dst_view;
    if (binary_addend) {
      prepared->binary_view.set_data_handle(const_cast<float*>(binary_addend));
      prepared->arguments[DNNL_ARG_ATTR_MULTIPLE_POST_OP(prepared->binary_index) | DNNL_ARG_SRC_1] =
          prepared->binary_view;
    }
    prepared->primitive.execute(stream, prepared->arguments);
    stream.wait();
    detail_ = prepared->implementation;
  }

 private:
  struct LayoutView {
    memory view;
    std::optional<dnnl::reorder> reorder;
  };

  struct Prepared {
    dnnl::deconvolution_forward primitive;  // empty: the reference fallback runs this shape
    memory::desc src_desc;
    memory src_buffer;   // the source reordered to channels-last, for plain inputs
    memory dst_view;     // the output tensor; handle set per run
    memory binary_view;  // the f32 residual of a binary-add post-op; handle set per run
    int binary_index = -1;
    memory weights, bias, scratchpad;
    Shape dst_shape;
    std::string implementation;
    std::unordered_map<int, memory> arguments;
    std::map<Layout, LayoutView> inputs;

    LayoutView& input_view(Layout layout, const Shape& shape, DataType dtype) {
      auto [entry, inserted] = inputs.try_emplace(layout);
      if (inserted) {
        const memory::desc desc(to_dims(shape), to_dnnl(dtype), format_for(layout, shape.size()));
        entry->second.view = memory(desc, cpu_engine(), DNNL_MEMORY_NONE);
        if (desc != src_desc) entry->second.reorder.emplace(entry->second.view, src_buffer);
      }
      return entry->second;
    }
  };

  Prepared* prepare(const Tensor& src) {
    const auto key = std::make_pair(src.shape(), src.dtype());
    if (auto found = cache_.find(key); found != cache_.end()) return &found->second;
    Prepared prepared;
    QuantizedDeconvGeometry geometry;
    std::optional<dnnl::deconvolution_forward::primitive_desc> primitive_desc;
    try {
      primitive_desc.emplace(
          make_primitive_desc(attributes_, epilogue_, weights_.shape(), src.shape(), src.dtype(), geometry));
    } catch (const dnnl::error& error) {
      prepared.implementation = concat("reference fallback: oneDNN has no int8 deconvolution for input ",
                                       shape_to_string(src.shape()), " (", error.what(), ")");
      return &cache_.emplace(key, std::move(prepared)).first->second;
    }
    const std::string implementation = implementation_name(*primitive_desc);
    if (is_reference_implementation(implementation)) {
      prepared.implementation = concat("reference fallback: oneDNN offers only ", implementation, " for input ",
                                       shape_to_string(src.shape()));
      return &cache_.emplace(key, std::move(prepared)).first->second;
    }
    prepared.primitive = dnnl::deconvolution_forward(*primitive_desc);
    prepared.implementation = implementation;
    prepared.src_desc = primitive_desc->src_desc();
    prepared.src_buffer = memory(prepared.src_desc, cpu_engine());
    prepared.dst_shape = geometry.dst_shape;
    prepared.dst_view = memory(primitive_desc->dst_desc(), cpu_engine(), DNNL_MEMORY_NONE);
    prepared.binary_index = binary_post_op_index(primitive_desc->get_primitive_attr());
    if (prepared.binary_index >= 0) {
      prepared.binary_view = memory(memory::desc(to_dims(geometry.dst_shape), memory::data_type::f32,
                                                 format_for(Layout::kChannelsLast, geometry.dst_shape.size())),
                                    cpu_engine(), DNNL_MEMORY_NONE);
    }
    prepared.scratchpad = memory(primitive_desc->scratchpad_desc(), cpu_engine());
    memory user_weights(user_weight_desc(weights_.shape(), attributes_.group), cpu_engine(),
                        const_cast<void*>(weights_.raw_data()));
    prepared.weights = memory(primitive_desc->weights_desc(), cpu_engine());
    dnnl::reorder(user_weights, prepared.weights).execute(thread_stream(), user_weights, prepared.weights);
    thread_stream().wait();
    prepared.arguments = {{DNNL_ARG_WEIGHTS, prepared.weights}, {DNNL_ARG_SCRATCHPAD, prepared.scratchpad}};
    if (!epilogue_.bias.empty()) {
      prepared.bias = memory(primitive_desc->bias_desc(), cpu_engine(), const_cast<float*>(epilogue_.bias.data()));
      prepared.arguments[DNNL_ARG_BIAS] = prepared.bias;
    }
    epilogue_.add_arguments(prepared.arguments);
    return &cache_.emplace(key, std::move(prepared)).first->second;
  }

  ReferenceFallback fallback_;
  const Tensor& weights_;
  QuantizedDeconvAttributes attributes_;
  QuantizedEpilogue epilogue_;
  std::map<std::pair<Shape, DataType>, Prepared> cache_;
  std::vector<float> residual_scratch_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_quantized_deconv_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  const Tensor* weights = node.has_input(kQInputW) ? info.find_constant(node.input(kQInputW)) : nullptr;
  if (!weights || weights->dtype() != DataType::kInt8) {
    reason = "W is not a constant int8 tensor";
    return nullptr;
  }
  if (weights->rank() < 3 || weights->rank() > 5) {
    reason = concat("rank ", weights->rank(), " deconvolution");
    return nullptr;
  }
  const size_t spatial_rank = static_cast<size_t>(weights->rank()) - 2;
  if (node.has_attribute("kernel_shape") &&
      node.attr_ints("kernel_shape") != std::vector<int64_t>(weights->shape().begin() + 2, weights->shape().end())) {
    reason = "kernel_shape differs from the weight shape";
    return nullptr;
  }
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
  // Probe a small input of this geometry: declines (post-op chains, source zero points) show at
  // session creation rather than as a run-time fallback.
  Shape probe_shape{1, weights->dim(0)};
  for (size_t i = 0; i < spatial_rank; ++i) probe_shape.push_back(5 + attributes.pads[i] + attributes.pads[i + spatial_rank]);
  const DataType probe_type = epilogue->x_type == DataType::kUndefined ? DataType::kUint8 : epilogue->x_type;
  try {
    QuantizedDeconvGeometry geometry;
    const auto primitive_desc =
        make_primitive_desc(attributes, *epilogue, weights->shape(), probe_shape, probe_type, geometry);
    const std::string implementation = implementation_name(primitive_desc);
    if (is_reference_implementation(implementation)) {
      reason = concat("oneDNN 2.6 offers only ", implementation, " for this int8 deconvolution",
                      epilogue->x_zero_point != 0 ? " with a source zero point" : "");
      return nullptr;
    }
  } catch (const UnsupportedError& error) {
    reason = error.what();
    return nullptr;
  } catch (const dnnl::error& error) {
    reason = concat("oneDNN 2.6 has no int8 deconvolution for this configuration",
                    epilogue->x_zero_point != 0 ? " with a source zero point" : "", " (", error.what(), ")");
    return nullptr;
  }
  return std::make_unique<QuantizedDeconvKernel>(info, *weights, std::move(attributes), std::move(*epilogue));
}

}  // namespace octet::dnnl_backend
