// The contract's float steps after the int32 accumulator; see quantized_epilogue_reference.h.
#include "kernels/reference/quantized_epilogue_reference.h"

#include <algorithm>

#include "kernels/quantized_ops.h"
#include "kernels/reference/quantize_math.h"

namespace octet {
namespace {

// real += (float(Sum) - sum_zero_point) * sum_scale for an 8-bit Sum, real += Sum for a float one.
void add_residual(const KernelContext& context, const std::string& description, const Shape& shape,
                  std::vector<float>& real) {
  const Tensor& sum = context.input(kQInputSum);
  check(sum.shape() == shape, description, ": Sum input shape ", shape_to_string(sum.shape()),
        " differs from the output shape ", shape_to_string(shape));
  const int64_t count = sum.element_count();
  if (sum.dtype() == DataType::kFloat) {
    const float* values = sum.data<float>();
    for (int64_t i = 0; i < count; ++i) real[i] += values[i];
    return;
  }
  check(is_8bit(sum.dtype()), description, ": Sum must be uint8, int8 or float, got ", dtype_name(sum.dtype()));
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

}  // namespace

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

void apply_quantized_epilogue_reference(KernelContext& context, const std::string& description,
                                        const std::vector<PostOp>& post_ops, float x_scale, const int32_t* accumulators,
                                        const Shape& shape, AccumulatorChannels accumulator_channels) {
  const int64_t count = element_count(shape);
  const int64_t channels = accumulator_channels.channels;
  const int64_t inner = accumulator_channels.elements_per_channel;

  // multiplier[c] = float(x_scale * w_scale[c]).
  const Tensor& w_scale = context.input(kQInputWScale);
  check(w_scale.dtype() == DataType::kFloat, description, ": w_scale must be float");
  check(w_scale.element_count() == 1 || w_scale.element_count() == channels, description, ": w_scale ",
        shape_to_string(w_scale.shape()), " must be a scalar or hold ", channels, " values");
  std::vector<float> multipliers(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c)
    multipliers[c] = x_scale * w_scale.data<float>()[w_scale.element_count() == 1 ? 0 : c];
  std::vector<float> bias(static_cast<size_t>(channels), 0.0f);
  if (const Tensor* b = context.optional_input(kQInputBias)) {
    check(b->dtype() == DataType::kInt32 && b->element_count() == channels, description, ": bias B ",
          shape_to_string(b->shape()), " must hold ", channels, " int32 values");
    for (int64_t c = 0; c < channels; ++c) bias[c] = static_cast<float>(b->data<int32_t>()[c]);
  }

  // real = (float(acc) + float(B)) * multiplier, then the post-ops.
  std::vector<float> real(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t c = i / inner % channels;
    real[i] = (static_cast<float>(accumulators[i]) + bias[c]) * multipliers[c];
  }
  for (const PostOp& post_op : post_ops) {
    if (post_op.kind == PostOpKind::kSum) {
      add_residual(context, description, shape, real);
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
  check(is_8bit(y_type), description, ": y_zero_point must be uint8 or int8, got ", dtype_name(y_type));
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

}  // namespace octet
