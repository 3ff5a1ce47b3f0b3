// ConvTranspose (and octet.FusedConvTranspose: element-wise post-ops, no residual sum) on oneDNN's
// deconvolution, channels-last activations.
#include <map>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/shape_cache.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

class DeconvKernel : public Kernel {
 public:
  DeconvKernel(const Node& node, const Tensor& weights, const Tensor* bias, dnnl::post_ops post_ops)
      : weights_(weights), bias_(bias), group_(node.attr_int("group", 1)), post_ops_(std::move(post_ops)) {
    const size_t spatial_rank = static_cast<size_t>(weights.rank()) - 2;
    strides_ = node.attr_ints("strides", std::vector<int64_t>(spatial_rank, 1));
    dilations_ = node.attr_ints("dilations", std::vector<int64_t>(spatial_rank, 1));
    pads_ = node.attr_ints("pads", std::vector<int64_t>(2 * spatial_rank, 0));
    output_padding_ = node.attr_ints("output_padding", std::vector<int64_t>(spatial_rank, 0));
  }

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check(src.dtype() == DataType::kFloat, "input is ", dtype_name(src.dtype()), ", expected float");
    check(src.rank() == weights_.rank(), "input rank ", src.rank(), " does not match weight rank ", weights_.rank());
    check(src.dim(1) == weights_.dim(0), "input has ", src.dim(1), " channels, the weights expect ", weights_.dim(0));
    Prepared& prepared = prepare(src.shape());
    dnnl::stream& stream = thread_stream();
    memory src_memory = wrap(src, describe(src));
    Tensor converted;
    if (src.layout() != Layout::kChannelsLast) {
      converted = Tensor::uninitialized(DataType::kFloat, src.shape());
      converted.set_layout(Layout::kChannelsLast);
      memory converted_memory = wrap(converted, prepared.src_desc);
      dnnl::reorder(src_memory, converted_memory).execute(stream, src_memory, converted_memory);
      src_memory = converted_memory;
    }
    Tensor& dst = context.allocate_uninitialized_output(0, DataType::kFloat, prepared.dst_shape);
    dst.set_layout(Layout::kChannelsLast);
    std::unordered_map<int, memory> arguments{{DNNL_ARG_SRC, src_memory},
                                              {DNNL_ARG_WEIGHTS, prepared.weights},
                                              {DNNL_ARG_DST, wrap(dst, prepared.dst_desc)},
                                              {DNNL_ARG_SCRATCHPAD, prepared.scratchpad}};
    if (bias_) arguments[DNNL_ARG_BIAS] = prepared.bias;
    prepared.primitive.execute(stream, arguments);
    stream.wait();
    detail_ = prepared.implementation;
  }

 private:
  struct Prepared {
    dnnl::deconvolution_forward primitive;
    memory::desc src_desc, dst_desc;
    memory weights, bias, scratchpad;
    Shape dst_shape;
    std::string implementation;
  };

  Prepared& prepare(const Shape& src_shape) {
    if (Prepared* found = cache_.find(src_shape)) return *found;
    const size_t spatial_rank = src_shape.size() - 2;
    const int64_t output_channels = weights_.dim(1) * group_;
    Shape dst_shape{src_shape[0], output_channels};
    memory::dims strides, dilations, pads_begin, pads_end;
    for (size_t i = 0; i < spatial_rank; ++i) {
      const int64_t effective_kernel = (weights_.dim(static_cast<int64_t>(i) + 2) - 1) * dilations_[i] + 1;
      const int64_t size = strides_[i] * (src_shape[i + 2] - 1) + output_padding_[i] + effective_kernel - pads_[i] -
                           pads_[i + spatial_rank];
      check(size > 0, "output spatial size ", size, " is not positive");
      dst_shape.push_back(size);
      strides.push_back(strides_[i]);
      dilations.push_back(dilations_[i] - 1);
      pads_begin.push_back(pads_[i]);
      // oneDNN has no output_padding: extra rows at the end are negative end padding.
      pads_end.push_back(pads_[i + spatial_rank] - output_padding_[i]);
    }
    const memory::format_tag activation_tag = format_for(Layout::kChannelsLast, src_shape.size());
    Prepared prepared;
    prepared.src_desc = memory::desc(to_dims(src_shape), memory::data_type::f32, activation_tag);
    prepared.dst_desc = memory::desc(to_dims(dst_shape), memory::data_type::f32, activation_tag);
    prepared.dst_shape = dst_shape;
    // ONNX weights are [C_in, C_out / group, k...]: oneDNN's "iohw" (giohw with groups).
    memory::dims weight_dims{output_channels / group_, weights_.dim(0) / group_};
    for (size_t i = 0; i < spatial_rank; ++i) weight_dims.push_back(weights_.dim(static_cast<int64_t>(i) + 2));
    using tag = memory::format_tag;
    tag user_tag = spatial_rank == 1 ? tag::bac : spatial_rank == 2 ? tag::bacd : tag::bacde;  // i, o, spatial
    if (group_ > 1) {
      weight_dims.insert(weight_dims.begin(), group_);
      user_tag = spatial_rank == 1 ? tag::acbd : spatial_rank == 2 ? tag::acbde : tag::acbdef;  // g, i, o, spatial
    }
    memory::desc any_weights(weight_dims, memory::data_type::f32, tag::any);
    memory::desc bias_desc =
        bias_ ? memory::desc({output_channels}, memory::data_type::f32, tag::a) : memory::desc();
    dnnl::deconvolution_forward::desc descriptor(dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::deconvolution_direct, prepared.src_desc,
                                                 any_weights, bias_desc, prepared.dst_desc, strides, dilations,
                                                 pads_begin, pads_end);
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attributes.set_post_ops(post_ops_);
    dnnl::deconvolution_forward::primitive_desc primitive_desc(descriptor, attributes, cpu_engine());
    prepared.primitive = dnnl::deconvolution_forward(primitive_desc);
    prepared.implementation = implementation_name(primitive_desc);
    prepared.scratchpad = memory(primitive_desc.scratchpad_desc(), cpu_engine());
    memory user_weights(memory::desc(weight_dims, memory::data_type::f32, user_tag), cpu_engine(),
                        const_cast<void*>(weights_.raw_data()));
    prepared.weights = memory(primitive_desc.weights_desc(), cpu_engine());
    dnnl::reorder(user_weights, prepared.weights).execute(thread_stream(), user_weights, prepared.weights);
    thread_stream().wait();
    if (bias_) prepared.bias = wrap(*bias_, bias_desc);
    return cache_.insert(src_shape, std::move(prepared));
  }

  const Tensor& weights_;
  const Tensor* bias_;
  int64_t group_;
  dnnl::post_ops post_ops_;
  std::vector<int64_t> strides_, dilations_, pads_, output_padding_;
  ShapeCache<Shape, Prepared> cache_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_deconv_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  const Tensor* weights = info.find_constant(node.input(1));
  if (!weights || weights->dtype() != DataType::kFloat || weights->rank() < 3 || weights->rank() > 5) {
    reason = "weights are not a float constant of rank 3 to 5";
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
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") {
    reason = concat("auto_pad ", auto_pad);
    return nullptr;
  }
  if (node.has_attribute("output_shape")) {
    reason = "output_shape attribute";
    return nullptr;
  }
  const int64_t group = node.attr_int("group", 1);
  if (group <= 0 || weights->dim(0) % group != 0) {
    reason = "weights do not split into the groups";
    return nullptr;
  }
  dnnl::post_ops post_ops;
  if (node.domain == kOctetDomain) {
    const std::vector<PostOp> fused_post_ops = read_post_ops(node);
    for (const PostOp& post_op : fused_post_ops) {
      if (post_op.kind == PostOpKind::kSum) {
        reason = "sum post-op (residual) on a ConvTranspose";
        return nullptr;
      }
    }
    if (!append_post_ops(fused_post_ops, post_ops, reason)) return nullptr;
  }
  return std::make_unique<DeconvKernel>(node, *weights, bias, std::move(post_ops));
}

}  // namespace octet::dnnl_backend
