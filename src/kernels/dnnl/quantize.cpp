// QuantizeLinear / DequantizeLinear with one scale and zero point for the whole tensor (the form
// octet's activations use), float <-> uint8/int8: the multi-versioned loops of quantize_loops.h
// (AVX-512 / AVX2 / SSE2 chosen at load time), split over the context's threads. Elementwise, so
// any layout works and the output keeps the input's. Rounding is quantize_math.h's, bit for bit
// the reference's. Per-axis parameters, other types and blocked quantization go to the reference
// kernel.
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/quantize_loops.h"

namespace octet::dnnl_backend {
namespace {

// Below this many elements per thread, waking a worker costs more than the work: the vector loops
// convert a few thousand elements per microsecond, and the pool's sleeping worker takes 10 to 50 us
// to wake on this kind of VM (longer when the other core is busy), so two threads split tensors
// from 128k elements on.
constexpr int64_t kMinElementsPerTask = int64_t{1} << 16;

bool is_scalar(const Tensor* tensor) { return tensor && tensor->element_count() == 1; }

class PerTensorQuantizeKernel : public Kernel {
 public:
  PerTensorQuantizeKernel(const KernelCreateInfo& info, bool quantize)
      : fallback_(info), quantize_(quantize) {
    const int64_t output_dtype = info.node.attr_int("output_dtype", 0);
    default_dtype_ = output_dtype == 0 ? DataType::kUint8 : static_cast<DataType>(output_dtype);
  }

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override { return detail_; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Tensor& scale = context.input(1);
    const Tensor* zero_point = context.optional_input(2);
    const DataType quantized_type = quantize_ ? (zero_point ? zero_point->dtype() : default_dtype_) : src.dtype();
    const bool eight_bit = quantized_type == DataType::kUint8 || quantized_type == DataType::kInt8;
    const bool supported = eight_bit && scale.dtype() == DataType::kFloat && is_scalar(&scale) &&
                           (!zero_point || (is_scalar(zero_point) && zero_point->dtype() == quantized_type)) &&
                           (!quantize_ || src.dtype() == DataType::kFloat);
    if (!supported) {
      detail_ = "reference fallback: per-axis parameters or a type other than float <-> uint8/int8";
      fallback_.run(context);
      return;
    }
    detail_ = "per-tensor loop";
    const float scale_value = scale.data<float>()[0];
    const int32_t zero_value = zero_point ? static_cast<int32_t>(zero_point->value_as_int64(0)) : 0;
    const int64_t count = src.element_count();
    const DataType dst_type = quantize_ ? quantized_type : DataType::kFloat;
    Tensor& dst = context.allocate_uninitialized_output(0, dst_type, src.shape());
    dst.set_layout(src.layout());
    if (quantized_type == DataType::kUint8) {
      run_typed<uint8_t>(context.threads(), src, dst, scale_value, zero_value, count);
    } else {
      run_typed<int8_t>(context.threads(), src, dst, scale_value, zero_value, count);
    }
  }

 private:
  template <typename Quantized>
  void run_typed(ThreadPool& threads, const Tensor& src, Tensor& dst, float scale, int32_t zero_point,
                 int64_t count) const {
    if (quantize_) {
      const float* source = src.data<float>();
      Quantized* destination = dst.data<Quantized>();
      threads.parallel_for(
          count,
          [&](int64_t begin, int64_t end) {
            quantize_loop(source + begin, end - begin, scale, zero_point, destination + begin);
          },
          kMinElementsPerTask);
    } else {
      const Quantized* source = src.data<Quantized>();
      float* destination = dst.data<float>();
      threads.parallel_for(
          count,
          [&](int64_t begin, int64_t end) {
            dequantize_loop(source + begin, end - begin, scale, zero_point, destination + begin);
          },
          kMinElementsPerTask);
    }
  }

  ReferenceFallback fallback_;
  bool quantize_;
  DataType default_dtype_;
  std::string detail_;
};

}  // namespace

std::unique_ptr<Kernel> create_quantize_kernel(const KernelCreateInfo& info, std::string& reason) {
  const Node& node = info.node;
  if (node.attr_int("block_size", 0) != 0) {
    reason = "blocked quantization";
    return nullptr;
  }
  const Tensor* scale = node.has_input(1) ? info.find_constant(node.input(1)) : nullptr;
  if (scale && !is_scalar(scale)) {
    reason = "per-axis scale";
    return nullptr;
  }
  return std::make_unique<PerTensorQuantizeKernel>(info, node.op_type == "QuantizeLinear");
}

}  // namespace octet::dnnl_backend
