// Element-wise activations (one input) and arithmetic (two inputs, numpy broadcasting) on oneDNN.
// Both keep the layout of their (first) input, so chains of them stay channels-last.
#include <map>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/reference/kernel_util.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

// y = f(x) with f one oneDNN eltwise algorithm (or two, for HardSigmoid: linear then clip).
class ActivationKernel : public Kernel {
 public:
  ActivationKernel(const KernelCreateInfo& info, std::vector<PostOp> steps)
      : fallback_(info), steps_(std::move(steps)) {}

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    if (src.dtype() != DataType::kFloat) {
      detail_ = concat("reference fallback: ", dtype_name(src.dtype()), " input");
      fallback_.run(context);
      return;
    }
    Tensor& dst = context.allocate_uninitialized_output(0, DataType::kFloat, src.shape());
    dst.set_layout(src.layout());
    if (src.element_count() == 0) return;
    // The operation is element-wise, so every layout is one flat array.
    memory::desc flat({src.element_count()}, memory::data_type::f32, memory::format_tag::a);
    ScopedThreadLimit thread_limit(memory_bound_thread_limit(static_cast<int64_t>(dst.byte_size())));
    Prepared& prepared = prepare(flat, src.element_count());
    dnnl::stream& stream = thread_stream();
    memory src_memory = wrap(src, flat);
    memory dst_memory = wrap(dst, flat);
    for (size_t i = 0; i < prepared.primitives.size(); ++i) {
      memory& from = i == 0 ? src_memory : dst_memory;
      prepared.primitives[i].execute(stream, {{DNNL_ARG_SRC, from}, {DNNL_ARG_DST, dst_memory}});
    }
    stream.wait();
    detail_ = prepared.implementation;
  }

 private:
  struct Prepared {
    std::vector<dnnl::eltwise_forward> primitives;
    std::string implementation;
  };

  Prepared& prepare(const memory::desc& flat, int64_t count) {
    if (auto found = cache_.find(count); found != cache_.end()) return found->second;
    dnnl::post_ops algorithms;
    std::string reason;
    append_post_ops(steps_, algorithms, reason);
    Prepared prepared;
    for (int i = 0; i < algorithms.len(); ++i) {
      float scale, alpha, beta;
      dnnl::algorithm algorithm;
      algorithms.get_params_eltwise(i, scale, algorithm, alpha, beta);
      dnnl::eltwise_forward::desc descriptor(dnnl::prop_kind::forward_inference, algorithm, flat, alpha, beta);
      dnnl::eltwise_forward::primitive_desc primitive_desc(descriptor, cpu_engine());
      prepared.primitives.emplace_back(primitive_desc);
      prepared.implementation = implementation_name(primitive_desc);
    }
    return cache_.emplace(count, std::move(prepared)).first->second;
  }

  ReferenceFallback fallback_;
  std::vector<PostOp> steps_;
  std::map<int64_t, Prepared> cache_;
  std::string detail_;
};

// Add, Sub, Mul, Div, Max, Min of two float tensors. oneDNN broadcasts only its second source,
// so a broadcast first operand is swapped for commutative ops and handed to the reference otherwise.
class BinaryKernel : public Kernel {
 public:
  BinaryKernel(const KernelCreateInfo& info, dnnl::algorithm algorithm, bool commutative)
      : fallback_(info), algorithm_(algorithm), commutative_(commutative) {}

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor* first = &context.input(0);
    const Tensor* second = &context.input(1);
    if (first->dtype() != DataType::kFloat || second->dtype() != DataType::kFloat) {
      detail_ = "reference fallback: non-float operands";
      fallback_.run(context);
      return;
    }
    Shape dst_shape;
    try {
      dst_shape = broadcast_shapes(first->shape(), second->shape());
    } catch (const Error&) {
      fallback_.run(context);  // the reference reports the incompatible shapes
      return;
    }
    if (first->shape() != dst_shape && commutative_) std::swap(first, second);
    const bool second_lower_rank_blocked = second->layout() != Layout::kPlain && second->rank() != first->rank();
    if (first->shape() != dst_shape || second_lower_rank_blocked || dst_shape.empty() || dst_shape.size() > 6 ||
        element_count(dst_shape) == 0) {
      detail_ = "reference fallback: broadcast of the first operand";
      fallback_.run(context);
      return;
    }
    Tensor& dst = context.allocate_uninitialized_output(0, DataType::kFloat, dst_shape);
    dst.set_layout(first->layout());
    const memory::desc first_desc = describe(*first);
    // Align ranks numpy-style: leading 1s for a lower-rank plain second operand.
    Shape aligned(dst_shape.size() - second->shape().size(), 1);
    aligned.insert(aligned.end(), second->shape().begin(), second->shape().end());
    const memory::desc second_desc =
        second->layout() == Layout::kPlain
            ? memory::desc(to_dims(aligned), memory::data_type::f32, format_for(Layout::kPlain, aligned.size()))
            : describe(*second);
    ScopedThreadLimit thread_limit(memory_bound_thread_limit(static_cast<int64_t>(dst.byte_size())));
    Prepared* prepared = prepare(first_desc, second_desc, dst_shape, first->layout());
    if (!prepared) {
      detail_ = "reference fallback: oneDNN rejected the shapes";
      dst = Tensor();
      fallback_.run(context);
      return;
    }
    dnnl::stream& stream = thread_stream();
    prepared->primitive.execute(stream, {{DNNL_ARG_SRC_0, wrap(*first, first_desc)},
                                         {DNNL_ARG_SRC_1, wrap(*second, second_desc)},
                                         {DNNL_ARG_DST, wrap(dst, first_desc)}});
    stream.wait();
    detail_ = prepared->implementation;
  }

 private:
  struct Prepared {
    dnnl::binary primitive;
    std::string implementation;
  };

  Prepared* prepare(const memory::desc& first, const memory::desc& second, const Shape& dst_shape, Layout layout) {
    auto key = std::make_tuple(dst_shape, layout, second.dims(), static_cast<int>(second.data.format_kind),
                               std::vector<int64_t>(second.data.format_desc.blocking.strides,
                                                    second.data.format_desc.blocking.strides + second.data.ndims));
    if (auto found = cache_.find(key); found != cache_.end()) return found->second ? &*found->second : nullptr;
    std::optional<Prepared> prepared;
    try {
      dnnl::binary::desc descriptor(algorithm_, first, second, first);
      dnnl::binary::primitive_desc primitive_desc(descriptor, cpu_engine());
      prepared = Prepared{dnnl::binary(primitive_desc), implementation_name(primitive_desc)};
    } catch (const dnnl::error&) {
      prepared.reset();
    }
    auto [entry, inserted] = cache_.emplace(key, std::move(prepared));
    return entry->second ? &*entry->second : nullptr;
  }

  using CacheKey = std::tuple<Shape, Layout, memory::dims, int, std::vector<int64_t>>;
  ReferenceFallback fallback_;
  dnnl::algorithm algorithm_;
  bool commutative_;
  std::map<CacheKey, std::optional<Prepared>> cache_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_activation_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  const std::string& op = node.op_type;
  PostOp step;
  if (node.domain == kOctetDomain && op == "Swish") {
    step = {PostOpKind::kSwish};
  } else if (!node.domain.empty()) {
    reason = concat("op ", node.domain, ".", op, " has no oneDNN activation");
    return nullptr;
  } else if (op == "Relu") {
    step = {PostOpKind::kRelu};
  } else if (op == "LeakyRelu") {
    step = {PostOpKind::kLeakyRelu, node.attr_float("alpha", 0.01f)};
  } else if (op == "Sigmoid") {
    step = {PostOpKind::kSigmoid};
  } else if (op == "Tanh") {
    step = {PostOpKind::kTanh};
  } else if (op == "HardSigmoid") {
    step = {PostOpKind::kHardSigmoid, node.attr_float("alpha", 0.2f), node.attr_float("beta", 0.5f)};
  } else if (op == "HardSwish") {
    step = {PostOpKind::kHardSwish};
  } else if (op == "Clip") {
    float low = -std::numeric_limits<float>::infinity();
    float high = std::numeric_limits<float>::infinity();
    if (info.opset < 11) {
      low = node.attr_float("min", low);
      high = node.attr_float("max", high);
    } else {
      for (size_t index : {size_t{1}, size_t{2}}) {
        if (!node.has_input(index)) continue;
        const Tensor* bound = info.find_constant(node.input(index));
        if (!bound || bound->dtype() != DataType::kFloat || bound->element_count() != 1) {
          reason = "min/max are not float constants";
          return nullptr;
        }
        (index == 1 ? low : high) = bound->data<float>()[0];
      }
    }
    step = {PostOpKind::kClip, low, high};
  } else {
    reason = concat("op ", op, " has no oneDNN activation");
    return nullptr;
  }
  return std::make_unique<ActivationKernel>(info, std::vector<PostOp>{step});
}

std::unique_ptr<Kernel> create_binary_kernel(const KernelCreateInfo& info, std::string& reason) {
  const std::string& op = info.node.op_type;
  if (op == "Add") return std::make_unique<BinaryKernel>(info, dnnl::algorithm::binary_add, true);
  if (op == "Mul") return std::make_unique<BinaryKernel>(info, dnnl::algorithm::binary_mul, true);
  if (op == "Sub") return std::make_unique<BinaryKernel>(info, dnnl::algorithm::binary_sub, false);
  if (op == "Div") return std::make_unique<BinaryKernel>(info, dnnl::algorithm::binary_div, false);
  reason = concat("op ", op, " has no oneDNN binary form");
  return nullptr;
}

}  // namespace octet::dnnl_backend
