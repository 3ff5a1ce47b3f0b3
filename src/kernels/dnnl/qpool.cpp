// QPool (quantized_ops.h) on the CPU: GlobalAveragePool / AveragePool between an absorbed
// DequantizeLinear and QuantizeLinear. The pooling itself is the fastest float kernel of the
// pooling op (oneDNN's), run on X dequantized by the vector loops of quantize_loops.h, and its
// result is quantized by the same loops: exactly what the QDQ graph computes with the same kernels.
// The gain is the nodes removed: the dequantized input only lives as this node's temporary, and the
// pooled output (usually small) is quantized here rather than by a separate QuantizeLinear.
#include <vector>

#include "core/layout.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/dnnl/quantize_loops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/qdq_operands.h"

namespace octet::dnnl_backend {
namespace {

constexpr int64_t kMinElementsPerTask = 8192;
// Pooling kernels read their attributes the same way in every opset.
constexpr int64_t kPoolOpset = 19;

class QuantizedPoolKernel : public Kernel {
 public:
  QuantizedPoolKernel(const KernelCreateInfo& info, Node pool_node)
      : description_(info.node.describe()), pool_node_(std::move(pool_node)) {
    KernelCreateInfo pool_info{pool_node_, kPoolOpset, info.find_constant, info.registry};
    KernelChoice choice = info.registry->create(pool_info);
    pool_kernel_ = std::move(choice.kernel);
    pool_implementation_ = choice.implementation;
  }

  bool accepts_channels_last() const override { return true; }
  std::string detail() const override {
    return concat(pool_implementation_, " ", pool_node_.op_type, " ", pool_kernel_->detail());
  }

  void run(KernelContext& context) override {
    const Tensor& x = context.input(kQPoolX);
    const OperandQuantization x_quantization = input_quantization(context, kQPoolX, description_, "X");
    const OperandQuantization y_quantization = output_quantization(context, kQPoolYScale, description_);
    ThreadPool& threads = context.threads();

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
  std::string description_;
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
