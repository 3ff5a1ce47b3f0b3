// Reference kernel of octet's QPool (quantized_ops.h): dequantize X as DequantizeLinear does, run
// the reference kernel of the float pooling op (GlobalAveragePool or AveragePool, with the node's
// attributes), quantize as QuantizeLinear does (quantize_math.h).
#include <vector>

#include "kernels/kernel_registry.h"
#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/qdq_operands.h"
#include "kernels/reference/quantize_math.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

class QuantizedPoolKernel : public Kernel {
 public:
  explicit QuantizedPoolKernel(const KernelCreateInfo& info) : description_(info.node.describe()) {
    check(info.registry != nullptr, "QPool kernels need the kernel registry");
    pool_node_ = info.node;
    pool_node_.domain = "";
    pool_node_.op_type = info.node.attr_string("operation", "");
    check(pool_node_.op_type == "GlobalAveragePool" || pool_node_.op_type == "AveragePool", description_,
          ": operation must be GlobalAveragePool or AveragePool, got '", pool_node_.op_type, "'");
    pool_node_.remove_attribute("operation");
    pool_node_.inputs = {info.node.input(kQPoolX)};
    KernelCreateInfo pool_info{pool_node_, kPoolOpset, info.find_constant, info.registry};
    pool_kernel_ = info.registry->create(pool_info, "reference").kernel;
  }

  void run(KernelContext& context) override {
    const Tensor& x = context.input(kQPoolX);
    const OperandQuantization x_quantization = input_quantization(context, kQPoolX, description_, "X");
    const OperandQuantization y_quantization = output_quantization(context, kQPoolYScale, description_);

    Tensor dequantized;
    const Tensor* real_x = &x;
    if (x_quantization.quantized) {
      dequantized = Tensor(DataType::kFloat, x.shape());
      float* values = dequantized.data<float>();
      const auto dequantize = [&]<typename Quantized>() {
        const Quantized* source = x.data<Quantized>();
        for (int64_t i = 0; i < x.element_count(); ++i)
          values[i] = static_cast<float>(static_cast<int32_t>(source[i]) - x_quantization.zero_point) *
                      x_quantization.scale;
      };
      if (x.dtype() == DataType::kUint8) {
        dequantize.operator()<uint8_t>();
      } else {
        dequantize.operator()<int8_t>();
      }
      real_x = &dequantized;
    }

    const std::vector<const Tensor*> pool_inputs{real_x};
    std::vector<Tensor> pool_outputs(1);
    KernelContext pool_context(pool_inputs, pool_outputs, context.threads());
    pool_kernel_->run(pool_context);
    if (!y_quantization.quantized) {
      context.output(0) = std::move(pool_outputs[0]);
      return;
    }
    const Tensor& real = pool_outputs[0];
    Tensor& y = context.allocate_uninitialized_output(0, y_quantization.dtype, real.shape());
    const auto quantize = [&]<typename Quantized>() {
      Quantized* values = y.data<Quantized>();
      for (int64_t i = 0; i < real.element_count(); ++i)
        values[i] = quantize_saturate<Quantized>(real.data<float>()[i] / y_quantization.scale, y_quantization.zero_point);
    };
    if (y_quantization.dtype == DataType::kUint8) {
      quantize.operator()<uint8_t>();
    } else {
      quantize.operator()<int8_t>();
    }
  }

 private:
  // The pooling node carries the attributes of the op it came from; the pooling kernels read them
  // the same way in every opset.
  static constexpr int64_t kPoolOpset = 19;

  std::string description_;
  Node pool_node_;
  std::unique_ptr<Kernel> pool_kernel_;
};

}  // namespace

void register_quantized_pool_kernel(KernelRegistry& registry) {
  registry.add(kOctetDomain, kQuantizedPool, "reference",
               [](const KernelCreateInfo& info, std::string&) -> std::unique_ptr<Kernel> {
                 return std::make_unique<QuantizedPoolKernel>(info);
               });
}

}  // namespace octet
