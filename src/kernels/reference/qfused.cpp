// Reference kernels of octet's integer fused ops QFusedConv and QFusedMatMul (quantized_ops.h).
//
// The exact int32 accumulator comes from the ConvInteger / MatMulInteger reference kernels (X minus
// its zero point times the symmetric int8 weights); quantized_epilogue_reference.h then applies the
// contract's float steps in its order: bias, per-channel multiplier, post-ops (sum dequantizes the
// residual), and the final quantization through quantize_math.h. It is the oracle of the oneDNN
// int8 kernels.
#include <algorithm>
#include <vector>

#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/quantized_epilogue_reference.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

class QuantizedFusedKernel : public Kernel {
 public:
  // `integer_op_type`: the reference op computing the int32 accumulator (ConvInteger or
  // MatMulInteger). `channels_last_axis`: the output channel is the last axis (MatMul) rather than
  // axis 1 (Conv).
  QuantizedFusedKernel(const KernelCreateInfo& info, const std::string& integer_op_type, bool channels_last_axis)
      : post_ops_(read_post_ops(info.node)),
        channel_is_last_axis_(channels_last_axis),
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
    check(accumulators.rank() >= 1, description_, ": scalar result");
    AccumulatorChannels accumulator_channels;
    accumulator_channels.channels = channel_is_last_axis_ ? shape.back() : shape.at(1);
    accumulator_channels.elements_per_channel =
        channel_is_last_axis_
            ? 1
            : accumulators.element_count() / std::max<int64_t>(1, shape[0] * accumulator_channels.channels);
    apply_quantized_epilogue_reference(context, description_, post_ops_, x_scale, accumulators.data<int32_t>(), shape,
                                       accumulator_channels);
  }

 private:
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
