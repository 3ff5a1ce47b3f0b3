// Conv and octet.FusedConv on oneDNN. Activations are channels-last (nwc/nhwc/ndhwc), the layout
// oneDNN's brgemm-based convolutions run natively in both f32 and int8; weights are reordered
// once per primitive into the layout the implementation asks for.
#include <map>
#include <optional>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/shape_cache.h"
#include "kernels/post_ops.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

// Convolution geometry read from ONNX attributes; pads are resolved per input shape.
struct ConvAttributes {
  int64_t group = 1;
  std::vector<int64_t> kernel_shape;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;  // begin..., end...
  std::string auto_pad;
};

ConvAttributes read_conv_attributes(const Node& node, size_t spatial_rank) {
  ConvAttributes attributes;
  attributes.group = node.attr_int("group", 1);
  attributes.strides = node.attr_ints("strides", std::vector<int64_t>(spatial_rank, 1));
  attributes.dilations = node.attr_ints("dilations", std::vector<int64_t>(spatial_rank, 1));
  attributes.pads = node.attr_ints("pads", std::vector<int64_t>(2 * spatial_rank, 0));
  attributes.auto_pad = node.attr_string("auto_pad", "NOTSET");
  return attributes;
}

// 3x3, stride 1, no dilation, no groups, channel counts in whole 16-lane blocks, and enough
// channels for the transform to pay off.
constexpr int64_t kWinogradMinChannels = 64;
constexpr int64_t kWinogradChannelBlock = 16;

class ConvKernel : public Kernel {
 public:
  ConvKernel(const Tensor& weights, const Tensor* bias, ConvAttributes attributes, std::vector<PostOp> post_ops,
             size_t sum_input)
      : weights_(weights), bias_(bias), attributes_(std::move(attributes)), post_ops_(std::move(post_ops)),
        sum_input_(sum_input) {}

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return last_implementation_; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check(src.dtype() == DataType::kFloat, "input is ", dtype_name(src.dtype()), ", expected float");
    check(src.rank() == weights_.rank(), "input rank ", src.rank(), " does not match weight rank ", weights_.rank());
    Prepared& prepared = prepare(src);

    dnnl::stream& stream = thread_stream();
    // Memory objects, reorders and the argument map live in `prepared`: a run only points them at
    // this run's buffers (creating them per run cost more than small convolutions themselves).
    LayoutView& input = prepared.input_view(src.layout(), src.shape());
    input.view.set_data_handle(const_cast<void*>(src.raw_data()));
    if (input.reorder) input.reorder->execute(stream, input.view, prepared.src_buffer);
    prepared.arguments[DNNL_ARG_SRC] = input.reorder ? prepared.src_buffer : input.view;

    const bool direct_dst = !prepared.dst_reorder.has_value();
    // A residual read for the last time here becomes the output: the sum post-op adds in place.
    Tensor* donated = sum_input_ != kNoSum ? context.donated_input(sum_input_) : nullptr;
    const bool in_place = donated && direct_dst && donated->layout() == Layout::kChannelsLast &&
                          donated->dtype() == DataType::kFloat && donated->shape() == prepared.dst_shape;
    if (in_place) {
      context.output(0) = std::move(*donated);
    } else {
      context.allocate_uninitialized_output(0, DataType::kFloat, prepared.dst_shape);
    }
    Tensor& dst = context.output(0);
    dst.set_layout(Layout::kChannelsLast);
    prepared.dst_view.set_data_handle(dst.raw_data());
    memory& conv_dst = direct_dst ? prepared.dst_view : prepared.dst_buffer;
    if (sum_input_ != kNoSum && !in_place) {
      const Tensor& addend = context.input(sum_input_);
      if (addend.shape() != dst.shape())
        throw Error(concat("residual input shape ", shape_to_string(addend.shape()), " differs from the output shape ",
                           shape_to_string(dst.shape())));
      LayoutView& residual = prepared.residual_view(addend.layout(), conv_dst);
      residual.view.set_data_handle(const_cast<void*>(addend.raw_data()));
      residual.reorder->execute(stream, residual.view, conv_dst);
    }
    prepared.arguments[DNNL_ARG_DST] = conv_dst;
    prepared.primitive.execute(stream, prepared.arguments);
    if (prepared.dst_reorder) prepared.dst_reorder->execute(stream, prepared.dst_buffer, prepared.dst_view);
    stream.wait();
    last_implementation_ = prepared.implementation;
  }

  static constexpr size_t kNoSum = static_cast<size_t>(-1);

 private:
  // A tensor of a given layout seen as oneDNN memory, and the reorder from it into the layout the
  // primitive wants (none when it already matches).
  struct LayoutView {
    memory view;
    std::optional<dnnl::reorder> reorder;
  };

  struct Prepared {
    dnnl::convolution_forward primitive;
    memory::desc src_desc;  // what the primitive reads and writes
    memory::desc dst_desc;
    memory src_buffer;  // the source reordered to src_desc, when the input is in another layout
    memory dst_buffer;  // the result in dst_desc, when that is not channels-last
    memory dst_view;    // the output tensor (channels-last); handle set per run
    std::optional<dnnl::reorder> dst_reorder;  // dst_buffer -> dst_view, when they differ
    memory weights;
    memory bias;
    memory scratchpad;
    Shape src_shape;
    Shape dst_shape;
    std::string implementation;
    std::unordered_map<int, memory> arguments;
    std::map<Layout, LayoutView> inputs;     // per input layout
    std::map<Layout, LayoutView> residuals;  // per residual layout (sum post-op)

    LayoutView& input_view(Layout layout, const Shape& shape) {
      auto [entry, inserted] = inputs.try_emplace(layout);
      if (inserted) {
        const memory::desc desc(to_dims(shape), memory::data_type::f32, format_for(layout, shape.size()));
        entry->second.view = memory(desc, cpu_engine(), DNNL_MEMORY_NONE);
        if (desc != src_desc) entry->second.reorder.emplace(entry->second.view, src_buffer);
      }
      return entry->second;
    }

    LayoutView& residual_view(Layout layout, const memory& target) {
      auto [entry, inserted] = residuals.try_emplace(layout);
      if (inserted) {
        const memory::desc desc(to_dims(dst_shape), memory::data_type::f32, format_for(layout, dst_shape.size()));
        entry->second.view = memory(desc, cpu_engine(), DNNL_MEMORY_NONE);
        entry->second.reorder.emplace(entry->second.view, target);
      }
      return entry->second;
    }
  };

  Prepared& prepare(const Tensor& src) {
    if (Prepared* found = cache_.find(src.shape())) return *found;

    const size_t spatial_rank = src.shape().size() - 2;
    const Shape& weight_shape = weights_.shape();
    const int64_t group = attributes_.group;
    check(src.dim(1) == weight_shape[1] * group, "input has ", src.dim(1), " channels, the weights expect ",
          weight_shape[1] * group);
    memory::dims strides, dilations, pads_begin, pads_end;
    Shape dst_shape{src.dim(0), weight_shape[0]};
    for (size_t i = 0; i < spatial_rank; ++i) {
      const int64_t input_size = src.dim(static_cast<int64_t>(i) + 2);
      const int64_t stride = attributes_.strides[i];
      const int64_t dilation = attributes_.dilations[i];
      const int64_t effective_kernel = (weight_shape[i + 2] - 1) * dilation + 1;
      int64_t pad_begin = attributes_.pads[i];
      int64_t pad_end = attributes_.pads[i + spatial_rank];
      if (attributes_.auto_pad == "SAME_UPPER" || attributes_.auto_pad == "SAME_LOWER") {
        const int64_t output_size = (input_size + stride - 1) / stride;
        const int64_t total = std::max<int64_t>(0, (output_size - 1) * stride + effective_kernel - input_size);
        pad_begin = attributes_.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        pad_end = total - pad_begin;
      } else if (attributes_.auto_pad == "VALID") {
        pad_begin = pad_end = 0;
      }
      const int64_t output_size = (input_size + pad_begin + pad_end - effective_kernel) / stride + 1;
      check(output_size > 0, "input spatial size ", input_size, " is smaller than the kernel");
      dst_shape.push_back(output_size);
      strides.push_back(stride);
      dilations.push_back(dilation - 1);  // oneDNN counts dilation from 0
      pads_begin.push_back(pad_begin);
      pads_end.push_back(pad_end);
    }

    const memory::format_tag activation_tag = format_for(Layout::kChannelsLast, src.shape().size());
    memory::desc src_desc(to_dims(src.shape()), memory::data_type::f32, activation_tag);
    memory::desc dst_desc(to_dims(dst_shape), memory::data_type::f32, activation_tag);
    memory::dims weight_dims = to_dims(weight_shape);
    if (group > 1) {
      weight_dims[0] /= group;
      weight_dims.insert(weight_dims.begin(), group);
    }
    memory::desc any_weights(weight_dims, memory::data_type::f32, memory::format_tag::any);
    memory::desc bias_desc =
        bias_ ? memory::desc({weight_shape[0]}, memory::data_type::f32, memory::format_tag::a) : memory::desc();
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops dnnl_post_ops;
    std::string reason;
    append_post_ops(post_ops_, dnnl_post_ops, reason);
    attributes.set_post_ops(dnnl_post_ops);
    std::optional<dnnl::convolution_forward::primitive_desc> chosen;
    if (winograd_applies(src.shape(), weight_shape, group)) {
      // Winograd does 3x3 stride-1 convolutions in 2-3x fewer operations (measured 2-3x faster on
      // 64-512 channels here), in its own blocked layout: the reorders around it cost far less.
      try {
        memory::desc any_src(to_dims(src.shape()), memory::data_type::f32, memory::format_tag::any);
        memory::desc any_dst(to_dims(dst_shape), memory::data_type::f32, memory::format_tag::any);
        dnnl::convolution_forward::desc descriptor(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_winograd, any_src, any_weights,
                                                   bias_desc, any_dst, strides, dilations, pads_begin, pads_end);
        chosen.emplace(descriptor, attributes, cpu_engine());
      } catch (const dnnl::error&) {
        chosen.reset();  // not available for this shape or post-op chain
      }
    }
    if (!chosen) {
      dnnl::convolution_forward::desc descriptor(dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::convolution_direct, src_desc, any_weights,
                                                 bias_desc, dst_desc, strides, dilations, pads_begin, pads_end);
      chosen.emplace(descriptor, attributes, cpu_engine());
    }
    const dnnl::convolution_forward::primitive_desc& primitive_desc = *chosen;

    Prepared prepared;
    prepared.primitive = dnnl::convolution_forward(primitive_desc);
    prepared.src_desc = primitive_desc.src_desc();
    prepared.dst_desc = primitive_desc.dst_desc();
    prepared.src_buffer = memory(prepared.src_desc, cpu_engine());
    prepared.src_shape = src.shape();
    prepared.dst_view = memory(dst_desc, cpu_engine(), DNNL_MEMORY_NONE);
    if (prepared.dst_desc != dst_desc) {
      prepared.dst_buffer = memory(prepared.dst_desc, cpu_engine());
      prepared.dst_reorder.emplace(prepared.dst_buffer, prepared.dst_view);
    }
    prepared.dst_shape = dst_shape;
    prepared.implementation = implementation_name(primitive_desc);
    prepared.scratchpad = memory(primitive_desc.scratchpad_desc(), cpu_engine());
    // Weights go to the implementation's preferred layout once; plain oihw (goihw) to start from.
    const memory::format_tag plain_weights = format_for(Layout::kPlain, weight_dims.size());
    memory user_weights(memory::desc(weight_dims, memory::data_type::f32, plain_weights), cpu_engine(),
                        const_cast<void*>(weights_.raw_data()));
    prepared.weights = memory(primitive_desc.weights_desc(), cpu_engine());
    dnnl::reorder(user_weights, prepared.weights).execute(thread_stream(), user_weights, prepared.weights);
    if (bias_) prepared.bias = wrap(*bias_, bias_desc);
    thread_stream().wait();
    prepared.arguments = {{DNNL_ARG_WEIGHTS, prepared.weights}, {DNNL_ARG_SCRATCHPAD, prepared.scratchpad}};
    if (bias_) prepared.arguments[DNNL_ARG_BIAS] = prepared.bias;
    return cache_.insert(src.shape(), std::move(prepared));
  }

  bool winograd_applies(const Shape& src_shape, const Shape& weight_shape, int64_t group) const {
    if (src_shape.size() != 4 || group != 1 || weight_shape[2] != 3 || weight_shape[3] != 3) return false;
    for (size_t i = 0; i < 2; ++i)
      if (attributes_.strides[i] != 1 || attributes_.dilations[i] != 1) return false;
    const int64_t input_channels = weight_shape[1];
    const int64_t output_channels = weight_shape[0];
    return input_channels >= kWinogradMinChannels && output_channels >= kWinogradMinChannels &&
           input_channels % kWinogradChannelBlock == 0 && output_channels % kWinogradChannelBlock == 0;
  }

  const Tensor& weights_;
  const Tensor* bias_;
  ConvAttributes attributes_;
  std::vector<PostOp> post_ops_;
  size_t sum_input_;
  ShapeCache<Shape, Prepared> cache_;
  std::string last_implementation_;
};

}  // namespace

std::unique_ptr<Kernel> create_conv_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  const Tensor* weights = info.find_constant(node.input(1));
  if (!weights) {
    reason = "weights are not a constant";
    return nullptr;
  }
  if (weights->dtype() != DataType::kFloat) {
    reason = concat("weights are ", dtype_name(weights->dtype()));
    return nullptr;
  }
  if (weights->rank() < 3 || weights->rank() > 5) {
    reason = concat("rank ", weights->rank(), " convolution");
    return nullptr;
  }
  const Tensor* bias = nullptr;
  if (node.has_input(2)) {
    bias = info.find_constant(node.input(2));
    if (!bias) {
      reason = "bias is not a constant";
      return nullptr;
    }
  }
  const size_t spatial_rank = static_cast<size_t>(weights->rank()) - 2;
  ConvAttributes attributes = read_conv_attributes(node, spatial_rank);
  if (node.has_attribute("kernel_shape") && node.attr_ints("kernel_shape") !=
                                                std::vector<int64_t>(weights->shape().begin() + 2, weights->shape().end())) {
    reason = "kernel_shape differs from the weight shape";
    return nullptr;
  }
  std::vector<PostOp> post_ops;
  size_t sum_input = ConvKernel::kNoSum;
  if (node.domain == kOctetDomain) {
    post_ops = read_post_ops(node);
    for (const auto& post_op : post_ops)
      if (post_op.kind == PostOpKind::kSum) sum_input = 3;
    dnnl::post_ops probe;
    if (!append_post_ops(post_ops, probe, reason)) return nullptr;
  }
  return std::make_unique<ConvKernel>(*weights, bias, std::move(attributes), std::move(post_ops), sum_input);
}

}  // namespace octet::dnnl_backend
