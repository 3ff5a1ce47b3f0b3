// QPool (quantized_ops.h) on the CPU: GlobalAveragePool / AveragePool between an absorbed
// DequantizeLinear and QuantizeLinear. The pooling itself is the fastest float kernel of the
// pooling op (oneDNN's), run on X dequantized by the vector loops of quantize_loops.h, and its
// result is quantized by the same loops: exactly what the QDQ graph computes with the same kernels.
// The gain is the nodes removed: the dequantized input only lives as this node's temporary, and the
// pooled output (usually small) is quantized here rather than by a separate QuantizeLinear.
// GlobalAveragePool of an 8-bit X (the squeeze of squeeze-excitation blocks) skips the float
// tensor altogether: integer sums per channel, one division (global_average_of_8bit).
#include <algorithm>
#include <vector>

#include "core/layout.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/quantize_loops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/qdq_operands.h"

namespace octet::dnnl_backend {
namespace {

// Rows of 8-bit values whose sum an int32 holds exactly (2^23 * 255 < 2^31).
constexpr int64_t kRowsPerPartialSum = int64_t{1} << 23;
// Elements per thread below which the pool's worker is not woken (see quantize.cpp).
constexpr int64_t kMinElementsPerTask = int64_t{1} << 16;
// Pooling kernels read their attributes the same way in every opset.
constexpr int64_t kPoolOpset = 19;

class QuantizedPoolKernel : public Kernel {
 public:
  QuantizedPoolKernel(const KernelCreateInfo& info, Node pool_node)
      : description_(info.node.describe()),
        global_average_(pool_node.op_type == "GlobalAveragePool"),
        pool_node_(std::move(pool_node)) {
    KernelCreateInfo pool_info{pool_node_, kPoolOpset, info.find_constant, info.registry};
    KernelChoice choice = info.registry->create(pool_info);
    pool_kernel_ = std::move(choice.kernel);
    pool_implementation_ = choice.implementation;
  }

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override {
    return detail_.empty() ? concat(pool_implementation_, " ", pool_node_.op_type, " ", pool_kernel_->detail())
                           : detail_;
  }

  void run(KernelContext& context) override {
    const Tensor& x = context.input(kQPoolX);
    const OperandQuantization x_quantization = input_quantization(context, kQPoolX, description_, "X");
    const OperandQuantization y_quantization = output_quantization(context, kQPoolYScale, description_);
    ThreadPool& threads = context.threads();
    if (global_average_ && x_quantization.quantized && x.rank() >= 3) {
      global_average_of_8bit(x, x_quantization, y_quantization, context);
      return;
    }
    detail_.clear();

    Tensor dequantized;
    const Tensor* real_x = &x;
    if (x_quantization.quantized) {
      dequantized = Tensor::uninitialized(DataType::kFloat, x.shape());
      dequantized.set_layout(x.layout());
      float* values = dequantized.data<float>();
      threads.parallel_for(
          x.element_count(),
          [&](int64_t begin, int64_t end) {
            if (x.dtype() == DataType::kUint8) {
              dequantize_loop(x.data<uint8_t>() + begin, end - begin, x_quantization.scale, x_quantization.zero_point,
                              values + begin);
            } else {
              dequantize_loop(x.data<int8_t>() + begin, end - begin, x_quantization.scale, x_quantization.zero_point,
                              values + begin);
            }
          },
          kMinElementsPerTask);
      real_x = &dequantized;
    }
    Tensor plain_x;
    if (real_x->layout() != Layout::kPlain && !pool_kernel_->accepts_channels_last()) {
      plain_x = to_plain(*real_x, threads);
      real_x = &plain_x;
    }

    const std::vector<const Tensor*> pool_inputs{real_x};
    std::vector<Tensor> pool_outputs(1);
    KernelContext pool_context(pool_inputs, pool_outputs, threads);
    pool_kernel_->run(pool_context);
    if (!y_quantization.quantized) {
      context.output(0) = std::move(pool_outputs[0]);
      return;
    }
    const Tensor& real = pool_outputs[0];
    Tensor& y = context.allocate_uninitialized_output(0, y_quantization.dtype, real.shape());
    y.set_layout(real.layout());
    threads.parallel_for(
        real.element_count(),
        [&](int64_t begin, int64_t end) {
          if (y_quantization.dtype == DataType::kUint8) {
            quantize_loop(real.data<float>() + begin, end - begin, y_quantization.scale, y_quantization.zero_point,
                          y.data<uint8_t>() + begin);
          } else {
            quantize_loop(real.data<float>() + begin, end - begin, y_quantization.scale, y_quantization.zero_point,
                          y.data<int8_t>() + begin);
          }
        },
        kMinElementsPerTask);
  }

 private:
  // GlobalAveragePool of an 8-bit X (an SE block's squeeze): per (n, c) the exact integer sum of X,
  // its mean in double, (sum - count * x_zero_point) * x_scale / count, rounded once to float; then
  // quantized as QuantizeLinear does. The float pools of the QDQ graph sum dequantized floats in
  // their own order, so the result may differ from theirs by one step where their value lies
  // within float rounding of a tie, as the oneDNN float pool already does (the QPool contract).
  void global_average_of_8bit(const Tensor& x, const OperandQuantization& x_quantization,
                              const OperandQuantization& y_quantization, KernelContext& context) {
    const int64_t batch = x.dim(0), channels = x.dim(1);
    const int64_t count = x.element_count() / (batch * channels);
    Shape y_shape{batch, channels};
    y_shape.resize(x.shape().size(), 1);
    const bool channels_last = x.layout() == Layout::kChannelsLast;
    sums_.assign(static_cast<size_t>(batch * channels), 0);
    std::vector<int32_t> partial(static_cast<size_t>(channels_last ? channels : 1));
    const auto accumulate = [&]<typename Quantized>() {
      const Quantized* values = x.data<Quantized>();
      for (int64_t n = 0; n < batch; ++n) {
        int64_t* sums = sums_.data() + n * channels;
        const Quantized* image = values + n * channels * count;
        // int32 partial sums over at most 2^23 elements cannot overflow.
        for (int64_t begin = 0; begin < count; begin += kRowsPerPartialSum) {
          const int64_t rows = std::min(kRowsPerPartialSum, count - begin);
          if (channels_last) {
            std::fill(partial.begin(), partial.end(), 0);
            add_rows(image + begin * channels, rows, channels, partial.data());
            for (int64_t c = 0; c < channels; ++c) sums[c] += partial[c];
          } else {
            for (int64_t c = 0; c < channels; ++c) {
              partial[0] = 0;
              add_rows(image + c * count + begin, rows, 1, partial.data());
              sums[c] += partial[0];
            }
          }
        }
      }
    };
    if (x.dtype() == DataType::kUint8) {
      accumulate.operator()<uint8_t>();
    } else {
      accumulate.operator()<int8_t>();
    }
    std::vector<float> means(sums_.size());
    for (size_t i = 0; i < sums_.size(); ++i) {
      const double centered = static_cast<double>(sums_[i] - count * int64_t{x_quantization.zero_point});
      means[i] = static_cast<float>(centered * static_cast<double>(x_quantization.scale) / static_cast<double>(count));
    }
    Tensor& y = context.allocate_uninitialized_output(
        0, y_quantization.quantized ? y_quantization.dtype : DataType::kFloat, y_shape);
    y.set_layout(x.layout());  // [N, C, 1, ...]: the same bytes in either layout
    const int64_t outputs = static_cast<int64_t>(means.size());
    if (!y_quantization.quantized) {
      std::copy(means.begin(), means.end(), y.data<float>());
    } else if (y_quantization.dtype == DataType::kUint8) {
      quantize_loop(means.data(), outputs, y_quantization.scale, y_quantization.zero_point, y.data<uint8_t>());
    } else {
      quantize_loop(means.data(), outputs, y_quantization.scale, y_quantization.zero_point, y.data<int8_t>());
    }
    detail_ = "integer sums of the 8-bit input";
  }

  std::string description_;
  bool global_average_ = false;
  std::vector<int64_t> sums_;
  std::string detail_;
  Node pool_node_;
  std::unique_ptr<Kernel> pool_kernel_;
  std::string pool_implementation_;
};

}  // namespace

std::unique_ptr<Kernel> create_quantized_pool_kernel(const KernelCreateInfo& info, std::string& reason) {
  if (!info.registry) {
    reason = "no kernel registry for the pooling kernel";
    return nullptr;
  }
  Node pool_node = info.node;
  pool_node.domain = "";
  pool_node.op_type = info.node.attr_string("operation", "");
  if (pool_node.op_type != "GlobalAveragePool" && pool_node.op_type != "AveragePool") {
    reason = concat("operation '", pool_node.op_type, "'");
    return nullptr;
  }
  pool_node.remove_attribute("operation");
  pool_node.inputs = {info.node.input(kQPoolX)};
  return std::make_unique<QuantizedPoolKernel>(info, std::move(pool_node));
}

}  // namespace octet::dnnl_backend
