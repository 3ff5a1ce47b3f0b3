// Reference kernels of octet's integer fused ops QFusedConv and QFusedMatMul (quantized_ops.h).
//
// The exact int32 accumulator comes from the ConvInteger / MatMulInteger reference kernels (X minus
// its zero point times the symmetric int8 weights); this file then applies the contract's float
// steps in its order: bias, per-channel multiplier, post-ops (sum dequantizes the residual), and
// the final quantization through quantize_math.h. It is the oracle of the oneDNN int8 kernels.
#include <algorithm>
#include <vector>

#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/quantize_math.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

bool is_8bit(DataType dtype) { return dtype == DataType::kUint8 || dtype == DataType::kInt8; }

float scalar_float(const Tensor& tensor, const std::string& name) {
  check(tensor.element_count() == 1, name, " must be a scalar, got shape ", shape_to_string(tensor.shape()));
  check(tensor.dtype() == DataType::kFloat, name, " must be float, got ", dtype_name(tensor.dtype()));
  return tensor.data<float>()[0];
}

int32_t scalar_zero_point(const Tensor& tensor, DataType expected, const std::string& name) {
  check(tensor.element_count() == 1, name, " must be a scalar, got shape ", shape_to_string(tensor.shape()));
  check(tensor.dtype() == expected, name, " has type ", dtype_name(tensor.dtype()), ", expected ",
        dtype_name(expected));
  return static_cast<int32_t>(tensor.value_as_int64(0));
}

class QuantizedFusedKernel : public Kernel {
 public:
  // `integer_op_type`: the reference op computing the int32 accumulator (ConvInteger or
  // MatMulInteger). `channels_last_axis`: the output channel is the last axis (MatMul) rather than
  // axis 1 (Conv).
  QuantizedFusedKernel(const KernelCreateInfo& info, const std::string& integer_op_type, bool channels_last_axis)
      : post_ops_(read_post_ops(info.node)), channel_is_last_axis_(channels_last_axis),
        description_(info.node.describe()) {
    check(info.registry != nullptr, "QFused kernels need the kernel registry");
    integer_node_ = info.node;
    integer_node_.domain = "";
    integer_node_.op_type = integer_op_type;
    integer_node_.remove_attribute("post_ops");
    integer_node_.remove_attribute("post_op_alpha");
    integer_node_.remove_attribute("post_op_beta");
    const auto input_name = [&](size_t index) { return info.node.has_input(index) ? info.node.input(index) : ""; };
    integer_node_.inputs = {input_name(kQInputX), input_name(kQInputW), input_name(kQInputXZeroPoint)};
    KernelCreateInfo integer_info{integer_node_, info.opset, info.find_constant, info.registry};
    integer_kernel_ = info.registry->create(integer_info, "reference").kernel;
  }

  void run(KernelContext& context) override {
    const Tensor& x = context.input(kQInputX);
    const Tensor& w = context.input(kQInputW);
    check(is_8bit(x.dtype()), description_, ": X must be uint8 or int8, got ", dtype_name(x.dtype()));
    check(w.dtype() == DataType::kInt8, description_, ": W must be int8, got ", dtype_name(w.dtype()));
    const float x_scale = scalar_float(context.input(kQInputXScale), "x_scale");
    const Tensor* x_zero_point = context.optional_input(kQInputXZeroPoint);
    if (x_zero_point) scalar_zero_point(*x_zero_point, x.dtype(), "x_zero_point");

    // acc = sum (X - x_zero_point) * W, exact in int32.
    const std::vector<const Tensor*> integer_inputs{&x, &w, x_zero_point};
    std::vector<Tensor> integer_outputs(1);
    KernelContext integer_context(integer_inputs, integer_outputs, context.threads());
    integer_kernel_->run(integer_context);
    const Tensor& accumulators = integer_outputs[0];
    const Shape& shape = accumulators.shape();
    const int64_t count = accumulators.element_count();
    const int64_t rank = accumulators.rank();
    check(rank >= 1, description_, ": scalar result");
    const int64_t channels = channel_is_last_axis_ ? shape.back() : shape.at(1);
    const int64_t inner = channel_is_last_axis_ ? 1 : count / std::max<int64_t>(1, shape[0] * channels);

    // multiplier[c] = float(x_scale * w_scale[c]).
    const Tensor& w_scale = context.input(kQInputWScale);
    check(w_scale.dtype() == DataType::kFloat, "w_scale must be float");
    check(w_scale.element_count() == 1 || w_scale.element_count() == channels, description_, ": w_scale ",
          shape_to_string(w_scale.shape()), " must be a scalar or hold ", channels, " values");
    std::vector<float> multipliers(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c)
      multipliers[c] = x_scale * w_scale.data<float>()[w_scale.element_count() == 1 ? 0 : c];
    std::vector<float> bias(static_cast<size_t>(channels), 0.0f);
    if (const Tensor* b = context.optional_input(kQInputBias)) {
      check(b->dtype() == DataType::kInt32 && b->element_count() == channels, description_, ": bias B ",
            shape_to_string(b->shape()), " must hold ", channels, " int32 values");
      for (int64_t c = 0; c < channels; ++c) bias[c] = static_cast<float>(b->data<int32_t>()[c]);
    }

    // real = (float(acc) + float(B)) * multiplier.
    std::vector<float> real(static_cast<size_t>(count));
    const int32_t* acc = accumulators.data<int32_t>();
    for (int64_t i = 0; i < count; ++i) {
      const int64_t c = i / inner % channels;
      real[i] = (static_cast<float>(acc[i]) + bias[c]) * multipliers[c];
    }
    for (const PostOp& post_op : post_ops_) {
      if (post_op.kind == PostOpKind::kSum) {
        add_residual(context, shape, real);
      } else {
        apply_post_op(post_op, real.data(), count);
      }
    }

    const Tensor* y_scale = context.optional_input(kQInputYScale);
    const Tensor* y_zero_point = context.optional_input(kQInputYZeroPoint);
    if (!y_scale || !y_zero_point) {
      float* y = context.allocate_uninitialized_output(0, DataType::kFloat, shape).data<float>();
      std::copy(real.begin(), real.end(), y);
      return;
    }
    const DataType y_type = y_zero_point->dtype();
    check(is_8bit(y_type), description_, ": y_zero_point must be uint8 or int8, got ", dtype_name(y_type));
    const float inverse_scale = 1.0f / scalar_float(*y_scale, "y_scale");
    const int32_t y_zero = scalar_zero_point(*y_zero_point, y_type, "y_zero_point");
    Tensor& y = context.allocate_uninitialized_output(0, y_type, shape);
    const auto quantize = [&]<typename Quantized>() {
      Quantized* values = y.data<Quantized>();
      for (int64_t i = 0; i < count; ++i) values[i] = quantize_saturate<Quantized>(real[i] * inverse_scale, y_zero);
    };
    if (y_type == DataType::kUint8) {
      quantize.template operator()<uint8_t>();
    } else {
      quantize.template operator()<int8_t>();
    }
  }

 private:
  // real += (float(Sum) - sum_zero_point) * sum_scale for an 8-bit Sum, real += Sum for a float one.
  void add_residual(const KernelContext& context, const Shape& shape, std::vector<float>& real) const {
    const Tensor& sum = context.input(kQInputSum);
    check(sum.shape() == shape, description_, ": Sum input shape ", shape_to_string(sum.shape()),
          " differs from the output shape ", shape_to_string(shape));
    const int64_t count = sum.element_count();
    if (sum.dtype() == DataType::kFloat) {
      const float* values = sum.data<float>();
      for (int64_t i = 0; i < count; ++i) real[i] += values[i];
      return;
    }
    check(is_8bit(sum.dtype()), description_, ": Sum must be uint8, int8 or float, got ", dtype_name(sum.dtype()));
    const float scale = scalar_float(context.input(kQInputSumScale), "sum_scale");
    const float zero_point =
        static_cast<float>(scalar_zero_point(context.input(kQInputSumZeroPoint), sum.dtype(), "sum_zero_point"));
    const auto add = [&]<typename Quantized>() {
      const Quantized* values = sum.data<Quantized>();
      for (int64_t i = 0; i < count; ++i) real[i] += (static_cast<float>(values[i]) - zero_point) * scale;
    };
    if (sum.dtype() == DataType::kUint8) {
      add.template operator()<uint8_t>();
    } else {
      add.template operator()<int8_t>();
    }
  }

  std::vector<PostOp> post_ops_;
  bool channel_is_last_axis_;
  std::string description_;
  Node integer_node_;
  std::unique_ptr<Kernel> integer_kernel_;
};

KernelFactory quantized_fused_factory(const char* integer_op_type, bool channel_is_last_axis) {
  return [=](const KernelCreateInfo& info, std::string&) -> std::unique_ptr<Kernel> {
    return std::make_unique<QuantizedFusedKernel>(info, integer_op_type, channel_is_last_axis);
  };
}

}  // namespace

void register_quantized_fused_kernels(KernelRegistry& registry) {
  registry.add(kOctetDomain, kQuantizedFusedConv, "reference", quantized_fused_factory("ConvInteger", false));
  registry.add(kOctetDomain, kQuantizedFusedMatMul, "reference", quantized_fused_factory("MatMulInteger", true));
}

}  // namespace octet
