// Reference kernel of octet's QBinary (quantized_ops.h): dequantize each 8-bit operand as
// DequantizeLinear does, add or multiply in float with broadcasting, apply the post-ops, and
// quantize as QuantizeLinear does (quantize_math.h). Exactly the QDQ graph the op replaces; the
// oracle of the oneDNN-backend kernel.
#include <vector>

#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/qdq_operands.h"
#include "kernels/reference/quantize_math.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// The real values of an operand: DequantizeLinear's float((q - zero_point)) * scale, or a float copy.
std::vector<float> real_values(const Tensor& tensor, const OperandQuantization& quantization) {
  const int64_t count = tensor.element_count();
  std::vector<float> values(static_cast<size_t>(count));
  const auto dequantize = [&]<typename Quantized>() {
    const Quantized* source = tensor.data<Quantized>();
    for (int64_t i = 0; i < count; ++i)
      values[i] = static_cast<float>(static_cast<int32_t>(source[i]) - quantization.zero_point) * quantization.scale;
  };
  switch (tensor.dtype()) {
    case DataType::kUint8: dequantize.operator()<uint8_t>(); break;
    case DataType::kInt8: dequantize.operator()<int8_t>(); break;
    default: values.assign(tensor.data<float>(), tensor.data<float>() + count);
  }
  return values;
}

class QuantizedBinaryKernel : public Kernel {
 public:
  explicit QuantizedBinaryKernel(const KernelCreateInfo& info)
      : description_(info.node.describe()),
        post_ops_(info.node.has_attribute("post_ops") ? read_post_ops(info.node) : std::vector<PostOp>{}) {
    const std::string operation = info.node.attr_string("operation", "");
    check(operation == "Add" || operation == "Mul", description_, ": operation must be Add or Mul, got '", operation,
          "'");
    multiply_ = operation == "Mul";
    for (const PostOp& post_op : post_ops_)
      check(post_op.kind != PostOpKind::kSum, description_, ": QBinary takes no 'sum' post-op");
  }

  void run(KernelContext& context) override {
    const Tensor& a = context.input(kQBinaryA);
    const Tensor& b = context.input(kQBinaryB);
    const OperandQuantization a_quantization = input_quantization(context, kQBinaryA, description_, "A");
    const OperandQuantization b_quantization = input_quantization(context, kQBinaryB, description_, "B");
    const OperandQuantization y_quantization = output_quantization(context, kQBinaryYScale, description_);
    const std::vector<float> a_values = real_values(a, a_quantization);
    const std::vector<float> b_values = real_values(b, b_quantization);

    const Shape shape = broadcast_shapes(a.shape(), b.shape());
    const std::vector<int64_t> a_strides = broadcast_strides(a.shape(), shape);
    const std::vector<int64_t> b_strides = broadcast_strides(b.shape(), shape);
    const int64_t count = element_count(shape);
    std::vector<float> real(static_cast<size_t>(count));
    std::vector<int64_t> index(shape.size(), 0);  // odometer over the output's axes
    int64_t a_offset = 0;
    int64_t b_offset = 0;
    for (int64_t i = 0; i < count; ++i) {
      const float x = a_values[a_offset];
      const float y = b_values[b_offset];
      real[i] = multiply_ ? x * y : x + y;
      for (size_t axis = shape.size(); axis-- > 0;) {
        a_offset += a_strides[axis];
        b_offset += b_strides[axis];
        if (++index[axis] < shape[axis]) break;
        a_offset -= a_strides[axis] * shape[axis];
        b_offset -= b_strides[axis] * shape[axis];
        index[axis] = 0;
      }
    }
    for (const PostOp& post_op : post_ops_) apply_post_op(post_op, real.data(), count);

    if (!y_quantization.quantized) {
      float* y = context.allocate_uninitialized_output(0, DataType::kFloat, shape).data<float>();
      std::copy(real.begin(), real.end(), y);
      return;
    }
    Tensor& y = context.allocate_uninitialized_output(0, y_quantization.dtype, shape);
    const auto quantize = [&]<typename Quantized>() {
      Quantized* values = y.data<Quantized>();
      for (int64_t i = 0; i < count; ++i)
        values[i] = quantize_saturate<Quantized>(real[i] / y_quantization.scale, y_quantization.zero_point);
    };
    if (y_quantization.dtype == DataType::kUint8) {
      quantize.operator()<uint8_t>();
    } else {
      quantize.operator()<int8_t>();
    }
  }

 private:
  std::string description_;
  std::vector<PostOp> post_ops_;
  bool multiply_ = false;
};

}  // namespace

void register_quantized_binary_kernel(KernelRegistry& registry) {
  registry.add(kOctetDomain, kQuantizedBinary, "reference",
               [](const KernelCreateInfo& info, std::string&) -> std::unique_ptr<Kernel> {
                 return std::make_unique<QuantizedBinaryKernel>(info);
               });
}

}  // namespace octet
