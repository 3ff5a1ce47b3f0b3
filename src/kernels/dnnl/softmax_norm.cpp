// Softmax, LogSoftmax and LayerNormalization on oneDNN (plain layouts).
#include <map>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/reference/kernel_util.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

int64_t product(const Shape& shape, size_t begin, size_t end) {
  int64_t result = 1;
  for (size_t i = begin; i < end; ++i) result *= shape[i];
  return result;
}

class SoftmaxKernel : public Kernel {
 public:
  SoftmaxKernel(const KernelCreateInfo& info, bool log)
      : fallback_(info), log_(log), coerce_2d_(info.opset < 13),
        axis_(info.node.attr_int("axis", info.opset < 13 ? 1 : -1)) {}

  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    if (src.dtype() != DataType::kFloat || src.rank() == 0 || src.rank() > 6 || src.element_count() == 0) {
      detail_ = "reference fallback: unsupported type or rank";
      fallback_.run(context);
      return;
    }
    const int64_t axis = normalize_axis(axis_, src.rank(), "Softmax");
    Shape view = src.shape();
    int64_t view_axis = axis;
    if (coerce_2d_) {
      view = {product(src.shape(), 0, static_cast<size_t>(axis)),
              product(src.shape(), static_cast<size_t>(axis), src.shape().size())};
      view_axis = 1;
    }
    ScopedThreadLimit thread_limit(memory_bound_thread_limit(static_cast<int64_t>(src.byte_size())));
    auto key = std::make_pair(view, view_axis);
    auto found = cache_.find(key);
    if (found == cache_.end()) {
      memory::desc desc(to_dims(view), memory::data_type::f32, format_for(Layout::kPlain, view.size()));
      dnnl::softmax_v2_forward::desc descriptor(dnnl::prop_kind::forward_inference,
                                                log_ ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate,
                                                desc, desc, static_cast<int>(view_axis));
      dnnl::softmax_v2_forward::primitive_desc primitive_desc(descriptor, cpu_engine());
      found = cache_.emplace(key, Prepared{dnnl::softmax_v2_forward(primitive_desc), desc,
                                           implementation_name(primitive_desc)}).first;
    }
    Tensor& dst = context.allocate_uninitialized_output(0, DataType::kFloat, src.shape());
    dnnl::stream& stream = thread_stream();
    found->second.primitive.execute(
        stream, {{DNNL_ARG_SRC, wrap(src, found->second.desc)}, {DNNL_ARG_DST, wrap(dst, found->second.desc)}});
    stream.wait();
    detail_ = found->second.implementation;
  }

 private:
  struct Prepared {
    dnnl::softmax_v2_forward primitive;
    memory::desc desc;
    std::string implementation;
  };
  ReferenceFallback fallback_;
  bool log_;
  bool coerce_2d_;
  int64_t axis_;
  std::map<std::pair<Shape, int64_t>, Prepared> cache_;
  std::string detail_;
};

class LayerNormKernel : public Kernel {
 public:
  explicit LayerNormKernel(const KernelCreateInfo& info)
      : fallback_(info), axis_(info.node.attr_int("axis", -1)), epsilon_(info.node.attr_float("epsilon", 1e-5f)) {}

  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Tensor& scale = context.input(1);
    const Tensor* shift = context.optional_input(2);
    if (src.dtype() != DataType::kFloat || scale.dtype() != DataType::kFloat ||
        (shift && shift->dtype() != DataType::kFloat) || src.rank() == 0 || src.element_count() == 0) {
      detail_ = "reference fallback: unsupported type or rank";
      fallback_.run(context);
      return;
    }
    const size_t axis = static_cast<size_t>(normalize_axis(axis_, src.rank(), "LayerNormalization"));
    const int64_t inner = product(src.shape(), axis, src.shape().size());
    if (scale.element_count() != inner || (shift && shift->element_count() != inner)) {
      detail_ = "reference fallback: broadcast scale or bias";
      fallback_.run(context);
      return;
    }
    const Shape view{src.element_count() / inner, inner};
    ScopedThreadLimit thread_limit(memory_bound_thread_limit(static_cast<int64_t>(src.byte_size())));
    auto key = std::make_pair(view, shift != nullptr);
    auto found = cache_.find(key);
    if (found == cache_.end()) {
      memory::desc desc(to_dims(view), memory::data_type::f32, memory::format_tag::ab);
      auto flags = dnnl::normalization_flags::use_scale;
      if (shift) flags = flags | dnnl::normalization_flags::use_shift;
      dnnl::layer_normalization_forward::desc descriptor(dnnl::prop_kind::forward_inference, desc, epsilon_, flags);
      dnnl::primitive_attr attributes;
      attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::layer_normalization_forward::primitive_desc primitive_desc(descriptor, attributes, cpu_engine());
      found = cache_.emplace(key, Prepared{dnnl::layer_normalization_forward(primitive_desc), desc,
                                           memory(primitive_desc.scratchpad_desc(), cpu_engine()),
                                           implementation_name(primitive_desc)}).first;
    }
    Prepared& prepared = found->second;
    Tensor& dst = context.allocate_uninitialized_output(0, DataType::kFloat, src.shape());
    memory::desc vector_desc({inner}, memory::data_type::f32, memory::format_tag::a);
    std::unordered_map<int, memory> arguments{{DNNL_ARG_SRC, wrap(src, prepared.desc)},
                                              {DNNL_ARG_DST, wrap(dst, prepared.desc)},
                                              {DNNL_ARG_SCALE, wrap(scale, vector_desc)},
                                              {DNNL_ARG_SCRATCHPAD, prepared.scratchpad}};
    if (shift) arguments[DNNL_ARG_SHIFT] = wrap(*shift, vector_desc);
    dnnl::stream& stream = thread_stream();
    prepared.primitive.execute(stream, arguments);
    stream.wait();
    detail_ = prepared.implementation;
  }

 private:
  struct Prepared {
    dnnl::layer_normalization_forward primitive;
    memory::desc desc;
    memory scratchpad;
    std::string implementation;
  };
  ReferenceFallback fallback_;
  int64_t axis_;
  float epsilon_;
  std::map<std::pair<Shape, bool>, Prepared> cache_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_softmax_kernel(const KernelCreateInfo& info, std::string& reason) {
  return std::make_unique<SoftmaxKernel>(info, info.node.op_type == "LogSoftmax");
}

std::unique_ptr<Kernel> create_layer_norm_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (!node.outputs[i].empty()) {
      reason = "Mean/InvStdDev outputs are requested";
      return nullptr;
    }
  }
  if (node.attr_int("stash_type", 1) != 1) {
    reason = "stash_type other than float";
    return nullptr;
  }
  return std::make_unique<LayerNormKernel>(info);
}

}  // namespace octet::dnnl_backend
