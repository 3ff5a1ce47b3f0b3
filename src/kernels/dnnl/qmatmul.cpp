// octet.QFusedMatMul on oneDNN's int8 matmul: u8 or s8 A, s8 B (a constant [K, N] reordered once
// per shape into the implementation's layout, or a run-time [..., K, N] tensor with numpy batch
// broadcasting), per-N output scales and the epilogue of quantized_epilogue.h. Plain layouts.
#include <map>
#include <optional>

#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/shape_cache.h"
#include "kernels/dnnl/quantized_epilogue.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/kernel_util.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

memory::desc plain_desc(const memory::dims& dims, memory::data_type type) {
  return memory::desc(dims, type, format_for(Layout::kPlain, dims.size()));
}

class QuantizedMatMulKernel : public Kernel {
 public:
  QuantizedMatMulKernel(const KernelCreateInfo& info, const Tensor* weights, QuantizedEpilogue epilogue)
      : fallback_(info), weights_(weights), epilogue_(std::move(epilogue)) {}

  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& a = context.input(kQInputX);
    const Tensor& b = weights_ ? *weights_ : context.input(kQInputW);
    check(a.dtype() == DataType::kUint8 || a.dtype() == DataType::kInt8, "input A is ", dtype_name(a.dtype()),
          ", expected uint8 or int8");
    check(b.dtype() == DataType::kInt8, "input B is ", dtype_name(b.dtype()), ", expected int8");
    if (epilogue_.x_type != DataType::kUndefined)
      check(a.dtype() == epilogue_.x_type, "input A is ", dtype_name(a.dtype()), " but x_zero_point is ",
            dtype_name(epilogue_.x_type));
    if (a.rank() < 2 || b.rank() < 2 || a.rank() > 6 || b.rank() > 6) {
      detail_ = "reference fallback: operand rank below 2 or above 6";
      fallback_.run(context);
      return;
    }
    const int64_t k = a.dim(a.rank() - 1);
    if (b.dim(b.rank() - 2) != k)
      throw Error(concat("inner dimensions differ: ", shape_to_string(a.shape()), " x ", shape_to_string(b.shape())));
    Shape dst_shape;
    memory::dims a_dims, b_dims, dst_dims;
    if (weights_ && b.rank() == 2) {
      // Fold the leading dimensions of A into M.
      const int64_t m = a.element_count() / std::max<int64_t>(k, 1);
      dst_shape.assign(a.shape().begin(), a.shape().end() - 1);
      dst_shape.push_back(b.dim(1));
      a_dims = {m, k};
      b_dims = {k, b.dim(1)};
      dst_dims = {m, b.dim(1)};
    } else {
      const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
      const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
      const Shape batch = broadcast_shapes(a_batch, b_batch);
      const size_t rank = batch.size() + 2;
      auto aligned = [&](const Shape& shape) {
        memory::dims dims(rank - shape.size(), 1);
        dims.insert(dims.end(), shape.begin(), shape.end());
        return dims;
      };
      a_dims = aligned(a.shape());
      b_dims = aligned(b.shape());
      dst_shape = batch;
      dst_shape.push_back(a.dim(a.rank() - 2));
      dst_shape.push_back(b.dim(b.rank() - 1));
      dst_dims = to_dims(dst_shape);
    }
    if (element_count(dst_shape) == 0 || k == 0) {
      detail_ = "reference fallback: empty operand";
      fallback_.run(context);
      return;
    }
    Prepared& prepared = prepare(a_dims, b_dims, dst_dims, a.dtype());
    if (!prepared.primitive) {
      detail_ = prepared.implementation;
      fallback_.run(context);
      return;
    }
    Tensor converted_residual;
    const float* binary_addend =
        epilogue_.stage_output(context, dst_shape, Layout::kPlain, residual_scratch_, converted_residual);
    std::unordered_map<int, memory> arguments = prepared.arguments;
    arguments[DNNL_ARG_SRC] = memory(prepared.a_desc, cpu_engine(), const_cast<void*>(a.raw_data()));
    if (!weights_) arguments[DNNL_ARG_WEIGHTS] = memory(prepared.b_desc, cpu_engine(), const_cast<void*>(b.raw_data()));
    arguments[DNNL_ARG_DST] = memory(prepared.dst_desc, cpu_engine(), context.output(0).raw_data());
    if (binary_addend) {
      arguments[DNNL_ARG_ATTR_MULTIPLE_POST_OP(prepared.binary_index) | DNNL_ARG_SRC_1] =
          memory(prepared.binary_desc, cpu_engine(), const_cast<float*>(binary_addend));
    }
    std::optional<ScopedThreadLimit> thread_limit;
    if (prepared.single_threaded) thread_limit.emplace(1);
    dnnl::stream& stream = thread_stream();
    prepared.primitive.execute(stream, arguments);
    stream.wait();
    detail_ = prepared.implementation;
  }

 private:
  struct Prepared {
    dnnl::matmul primitive;  // empty: the reference fallback runs this shape
    memory::desc a_desc, b_desc, dst_desc, binary_desc;
    int binary_index = -1;
    memory weights, bias, scratchpad;
    std::unordered_map<int, memory> arguments;
    std::string implementation;
    bool single_threaded = false;  // created and run on the calling thread alone
  };

  Prepared& prepare(const memory::dims& a_dims, const memory::dims& b_dims, const memory::dims& dst_dims,
                    DataType a_type) {
    auto key = std::make_tuple(a_dims, b_dims, a_type);
    if (Prepared* found = cache_.find(key)) return *found;
    Prepared prepared;
    prepared.a_desc = plain_desc(a_dims, to_dnnl(a_type));
    prepared.b_desc = plain_desc(b_dims, memory::data_type::s8);
    prepared.dst_desc = plain_desc(dst_dims, to_dnnl(epilogue_.dst_type));
    prepared.binary_desc = plain_desc(dst_dims, memory::data_type::f32);
    const memory::desc weights_desc =
        weights_ ? memory::desc(b_dims, memory::data_type::s8, memory::format_tag::any) : prepared.b_desc;
    memory::dims bias_dims(dst_dims.size(), 1);
    bias_dims.back() = dst_dims.back();
    const memory::desc bias_desc =
        epilogue_.bias.empty() ? memory::desc() : plain_desc(bias_dims, memory::data_type::f32);
    dnnl::primitive_attr attributes;
    std::string reason;
    if (!epilogue_.make_attributes(static_cast<int>(dst_dims.size()) - 1, prepared.binary_desc, attributes, reason))
      throw UnsupportedError(reason);  // checked at creation; unreachable
    std::optional<dnnl::matmul::primitive_desc> primitive_desc;
    // Multiply-adds: every dst element sums over K = a_dims.back().
    int64_t multiply_adds = a_dims.back();
    for (const int64_t dim : dst_dims) multiply_adds *= dim;
    prepared.single_threaded = single_threaded_work(multiply_adds);
    try {
      std::optional<ScopedThreadLimit> thread_limit;
      if (prepared.single_threaded) thread_limit.emplace(1);
      primitive_desc.emplace(dnnl::matmul::desc(prepared.a_desc, weights_desc, bias_desc, prepared.dst_desc),
                             attributes, cpu_engine());
    } catch (const dnnl::error& error) {
      prepared.implementation = concat("reference fallback: oneDNN has no int8 matmul for this shape (", error.what(), ")");
      return cache_.insert(key, std::move(prepared));
    }
    prepared.primitive = dnnl::matmul(*primitive_desc);
    prepared.implementation = implementation_name(*primitive_desc);
    prepared.scratchpad = memory(primitive_desc->scratchpad_desc(), cpu_engine());
    prepared.arguments[DNNL_ARG_SCRATCHPAD] = prepared.scratchpad;
    // The post_ops handle does not own its data: keep the attributes alive while reading it.
    const dnnl::primitive_attr primitive_attributes = primitive_desc->get_primitive_attr();
    const dnnl::post_ops chain = primitive_attributes.get_post_ops();
    for (int i = 0; i < chain.len(); ++i)
      if (chain.kind(i) == dnnl::primitive::kind::binary) prepared.binary_index = i;
    if (weights_) {
      memory user(prepared.b_desc, cpu_engine(), const_cast<void*>(weights_->raw_data()));
      prepared.weights = memory(primitive_desc->weights_desc(), cpu_engine());
      dnnl::reorder(user, prepared.weights).execute(thread_stream(), user, prepared.weights);
      thread_stream().wait();
      prepared.arguments[DNNL_ARG_WEIGHTS] = prepared.weights;
    }
    if (!epilogue_.bias.empty()) {
      prepared.bias = memory(bias_desc, cpu_engine(), const_cast<float*>(epilogue_.bias.data()));
      prepared.arguments[DNNL_ARG_BIAS] = prepared.bias;
    }
    epilogue_.add_arguments(prepared.arguments);
    return cache_.insert(key, std::move(prepared));
  }

  ReferenceFallback fallback_;
  const Tensor* weights_;  // constant B, or nullptr for a run-time one
  QuantizedEpilogue epilogue_;
  ShapeCache<std::tuple<memory::dims, memory::dims, DataType>, Prepared> cache_;
  std::vector<float> residual_scratch_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_quantized_matmul_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  if (!node.has_input(kQInputW)) {
    reason = "B is missing";
    return nullptr;
  }
  const Tensor* weights = info.find_constant(node.input(kQInputW));
  if (weights && (weights->dtype() != DataType::kInt8 || weights->rank() != 2)) {
    reason = "constant B is not a 2-D int8 tensor";
    return nullptr;
  }
  std::optional<QuantizedEpilogue> epilogue = read_quantized_epilogue(info, weights ? weights->dim(1) : -1, reason);
  if (!epilogue) return nullptr;
  // The post-op chain is checked here so that a decline shows at session creation.
  dnnl::primitive_attr probe;
  if (!epilogue->make_attributes(1, memory::desc({1, 1}, memory::data_type::f32, memory::format_tag::ab), probe,
                                 reason))
    return nullptr;
  return std::make_unique<QuantizedMatMulKernel>(info, weights, std::move(*epilogue));
}

}  // namespace octet::dnnl_backend
