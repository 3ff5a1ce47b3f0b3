// MatMul, Gemm and their fused forms on oneDNN's matmul primitive (plain layouts).
//
// A constant 2-D right operand (a weight) is reordered once into the layout the implementation
// prefers and the left operand's leading dimensions are folded into M; two run-time operands
// (attention) use batched matmul with numpy broadcasting of the batch dimensions.
#include <cstring>
#include <map>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/shape_cache.h"
#include "kernels/reference/kernel_util.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

struct MatMulConfig {
  // Constant right operand, [K, N] (or [N, K] with transpose_b); Gemm's alpha is folded into it,
  // since oneDNN's output scale would also scale the bias.
  const Tensor* weights = nullptr;
  std::shared_ptr<const Tensor> scaled_weights;
  bool transpose_a = false;
  bool transpose_b = false;
  float alpha = 1.0f;  // folded into scaled_weights at creation
  const Tensor* bias = nullptr;  // constant, N elements
  std::vector<PostOp> post_ops;
  size_t sum_input = static_cast<size_t>(-1);
};

class MatMulKernel : public Kernel {
 public:
  MatMulKernel(const KernelCreateInfo& info, MatMulConfig config) : fallback_(info), config_(std::move(config)) {}

  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& a = context.input(0);
    const Tensor& b = config_.weights ? *config_.weights : context.input(1);
    if (a.dtype() != DataType::kFloat || b.dtype() != DataType::kFloat || a.rank() < 2 || b.rank() < 2 ||
        a.rank() > 6 || b.rank() > 6 || (config_.transpose_a && a.rank() != 2)) {
      detail_ = "reference fallback: unsupported type or rank";
      fallback_.run(context);
      return;
    }
    Shape a_shape = a.shape();
    Shape b_shape = b.shape();
    if (config_.transpose_b) std::swap(b_shape[b_shape.size() - 2], b_shape[b_shape.size() - 1]);
    if (config_.transpose_a) std::swap(a_shape[0], a_shape[1]);
    const int64_t k = a_shape.back();
    if (b_shape[b_shape.size() - 2] != k)
      throw Error(concat("inner dimensions differ: ", shape_to_string(a.shape()), " x ", shape_to_string(b.shape())));
    Shape dst_shape;
    memory::dims a_dims, b_dims, dst_dims;
    if (config_.weights && b.rank() == 2) {
      // Fold the leading dimensions of A into M.
      const int64_t m = a.element_count() / std::max<int64_t>(k, 1);
      dst_shape.assign(a_shape.begin(), a_shape.end() - 1);
      dst_shape.push_back(b_shape[1]);
      a_dims = {m, k};
      b_dims = {k, b_shape[1]};
      dst_dims = {m, b_shape[1]};
    } else {
      Shape a_batch(a_shape.begin(), a_shape.end() - 2);
      Shape b_batch(b_shape.begin(), b_shape.end() - 2);
      Shape batch;
      try {
        batch = broadcast_shapes(a_batch, b_batch);
      } catch (const Error&) {
        fallback_.run(context);
        return;
      }
      const size_t rank = batch.size() + 2;
      auto aligned = [&](const Shape& shape) {
        memory::dims dims(rank - shape.size(), 1);
        dims.insert(dims.end(), shape.begin(), shape.end());
        return dims;
      };
      a_dims = aligned(a_shape);
      b_dims = aligned(b_shape);
      dst_shape = batch;
      dst_shape.push_back(a_shape[a_shape.size() - 2]);
      dst_shape.push_back(b_shape.back());
      dst_dims = to_dims(dst_shape);
    }
    if (element_count(dst_shape) == 0 || k == 0) {
      detail_ = "reference fallback: empty operand";
      fallback_.run(context);
      return;
    }
    Prepared& prepared = prepare(a_dims, b_dims, dst_dims);
    Tensor& dst = context.allocate_uninitialized_output(0, DataType::kFloat, dst_shape);
    dnnl::stream& stream = thread_stream();
    memory dst_memory(prepared.dst_desc, cpu_engine(), dst.raw_data());
    if (config_.sum_input != static_cast<size_t>(-1)) {
      const Tensor& addend = context.input(config_.sum_input);
      if (addend.shape() != dst_shape || addend.layout() != Layout::kPlain)
        throw Error(concat("sum input shape ", shape_to_string(addend.shape()), " differs from the output shape ",
                           shape_to_string(dst_shape)));
      std::memcpy(dst.raw_data(), addend.raw_data(), dst.byte_size());
    }
    std::unordered_map<int, memory> arguments{
        {DNNL_ARG_SRC, memory(prepared.a_desc, cpu_engine(), const_cast<void*>(a.raw_data()))},
        {DNNL_ARG_WEIGHTS, config_.weights ? prepared.weights
                                           : memory(prepared.b_desc, cpu_engine(), const_cast<void*>(b.raw_data()))},
        {DNNL_ARG_DST, dst_memory},
        {DNNL_ARG_SCRATCHPAD, prepared.scratchpad}};
    if (config_.bias) arguments[DNNL_ARG_BIAS] = prepared.bias;
    prepared.primitive.execute(stream, arguments);
    stream.wait();
    detail_ = prepared.implementation;
  }

 private:
  struct Prepared {
    dnnl::matmul primitive;
    memory::desc a_desc, b_desc, dst_desc;
    memory weights, bias, scratchpad;
    std::string implementation;
  };

  memory::desc plain_desc(const memory::dims& dims, bool transposed) const {
    memory::dims strides(dims.size(), 1);
    for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
    if (transposed) {  // a [rows, cols] view of a [cols, rows] buffer
      const size_t last = dims.size() - 1;
      strides[last] = dims[last - 1];
      strides[last - 1] = 1;
    }
    return memory::desc(dims, memory::data_type::f32, strides);
  }

  Prepared& prepare(const memory::dims& a_dims, const memory::dims& b_dims, const memory::dims& dst_dims) {
    auto key = std::make_pair(a_dims, b_dims);
    if (Prepared* found = cache_.find(key)) return *found;
    Prepared prepared;
    prepared.a_desc = plain_desc(a_dims, config_.transpose_a);
    prepared.b_desc = plain_desc(b_dims, config_.transpose_b);
    prepared.dst_desc = plain_desc(dst_dims, false);
    memory::desc weights_desc =
        config_.weights ? memory::desc(b_dims, memory::data_type::f32, memory::format_tag::any) : prepared.b_desc;
    memory::dims bias_dims(dst_dims.size(), 1);
    bias_dims.back() = dst_dims.back();
    memory::desc bias_desc = config_.bias ? plain_desc(bias_dims, false) : memory::desc();
    dnnl::primitive_attr attributes;
    attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops dnnl_post_ops;
    std::string reason;
    append_post_ops(config_.post_ops, dnnl_post_ops, reason);
    attributes.set_post_ops(dnnl_post_ops);
    dnnl::matmul::desc descriptor(prepared.a_desc, weights_desc, bias_desc, prepared.dst_desc);
    dnnl::matmul::primitive_desc primitive_desc(descriptor, attributes, cpu_engine());
    prepared.primitive = dnnl::matmul(primitive_desc);
    prepared.implementation = implementation_name(primitive_desc);
    prepared.scratchpad = memory(primitive_desc.scratchpad_desc(), cpu_engine());
    if (config_.weights) {
      memory user(prepared.b_desc, cpu_engine(), const_cast<void*>(config_.weights->raw_data()));
      prepared.weights = memory(primitive_desc.weights_desc(), cpu_engine());
      dnnl::reorder(user, prepared.weights).execute(thread_stream(), user, prepared.weights);
      thread_stream().wait();
    }
    if (config_.bias) prepared.bias = memory(bias_desc, cpu_engine(), const_cast<void*>(config_.bias->raw_data()));
    return cache_.insert(key, std::move(prepared));
  }

  ReferenceFallback fallback_;
  MatMulConfig config_;
  ShapeCache<std::pair<memory::dims, memory::dims>, Prepared> cache_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_matmul_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  const bool gemm = node.op_type == "Gemm" || node.op_type == "FusedGemm";
  MatMulConfig config;
  const Tensor* weights = info.find_constant(node.input(1));
  if (weights && weights->dtype() == DataType::kFloat && weights->rank() == 2) config.weights = weights;
  if (gemm) {
    config.transpose_a = node.attr_int("transA", 0) != 0;
    config.transpose_b = node.attr_int("transB", 0) != 0;
    config.alpha = node.attr_float("alpha", 1.0f);
    const float beta = node.attr_float("beta", 1.0f);
    if (!config.weights) {
      reason = "Gemm with a run-time B";
      return nullptr;
    }
    if (config.alpha != 1.0f) {
      Tensor scaled = Tensor::uninitialized(DataType::kFloat, config.weights->shape());
      for (int64_t i = 0; i < scaled.element_count(); ++i)
        scaled.data<float>()[i] = config.weights->data<float>()[i] * config.alpha;
      config.scaled_weights = std::make_shared<const Tensor>(std::move(scaled));
      config.weights = config.scaled_weights.get();
      config.alpha = 1.0f;
    }
    if (node.has_input(2) && beta != 0.0f) {
      const Tensor* c = info.find_constant(node.input(2));
      const int64_t n = config.transpose_b ? weights->dim(0) : weights->dim(1);
      if (!c || c->dtype() != DataType::kFloat || c->element_count() != n || c->rank() == 0 ||
          c->dim(c->rank() - 1) != n || beta != 1.0f) {
        reason = "C is not a constant bias of N elements with beta 1";
        return nullptr;
      }
      config.bias = c;
    }
  } else if (node.domain == kOctetDomain && node.has_input(2)) {
    const Tensor* bias = info.find_constant(node.input(2));
    if (!bias || bias->dtype() != DataType::kFloat || bias->rank() != 1) {
      reason = "bias is not a constant vector";
      return nullptr;
    }
    config.bias = bias;
  }
  if (node.domain == kOctetDomain) {
    config.post_ops = read_post_ops(node);
    for (const auto& post_op : config.post_ops)
      if (post_op.kind == PostOpKind::kSum) config.sum_input = 3;
    dnnl::post_ops probe;
    if (!append_post_ops(config.post_ops, probe, reason)) return nullptr;
  }
  return std::make_unique<MatMulKernel>(info, std::move(config));
}

}  // namespace octet::dnnl_backend
