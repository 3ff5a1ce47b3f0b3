#include "kernels/dnnl/quantized_epilogue.h"

#include <cstring>

#include "core/layout.h"
#include "kernels/quantized_ops.h"

namespace octet::dnnl_backend {
namespace {

using dnnl::memory;

bool is_8bit(DataType dtype) { return dtype == DataType::kUint8 || dtype == DataType::kInt8; }

// oneDNN 2.6 gives the second use of an element-wise algorithm the first one's parameters: a chain
// using one algorithm twice with different parameters (also through hard-sigmoid's linear + clip
// or the final quantizing linear) would be miscomputed.
bool eltwise_parameters_consistent(const dnnl::post_ops& chain, std::string& reason) {
  struct Eltwise {
    dnnl::algorithm algorithm;
    float alpha, beta;
  };
  std::vector<Eltwise> seen;
  for (int i = 0; i < chain.len(); ++i) {
    if (chain.kind(i) != dnnl::primitive::kind::eltwise) continue;
    float scale = 1.0f;
    Eltwise current{};
    chain.get_params_eltwise(i, scale, current.algorithm, current.alpha, current.beta);
    for (const Eltwise& earlier : seen) {
      if (earlier.algorithm == current.algorithm && (earlier.alpha != current.alpha || earlier.beta != current.beta)) {
        reason = concat("oneDNN 2.6 miscomputes an element-wise algorithm used twice with different parameters (post-op ",
                        i, "; a linear post-op or hard-sigmoid conflicts with the quantizing linear step)");
        return false;
      }
    }
    seen.push_back(current);
  }
  return true;
}

}  // namespace

bool QuantizedEpilogue::make_attributes(int channel_dim, const memory::desc& dst_f32_desc,
                                        dnnl::primitive_attr& attributes, std::string& reason) const {
  attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attributes.set_output_scales(output_scales.size() == 1 ? 0 : 1 << channel_dim, output_scales);
  if (x_zero_point != 0) attributes.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  dnnl::post_ops chain;
  // A trailing linear post-op (a learnable affine after the activation, as in PP-LCNet) merges with
  // the quantizing step: (a x + b) / y_scale + zp = (a / y_scale) x + (b / y_scale + zp). Besides
  // saving a pass, this keeps the chain clear of oneDNN 2.6's repeated-algorithm bug.
  std::vector<PostOp> steps = post_ops;
  PostOp quantizing_step{PostOpKind::kLinear, 1.0f / y_scale, static_cast<float>(y_zero_point)};
  if (dst_type != DataType::kFloat && !steps.empty() && steps.back().kind == PostOpKind::kLinear) {
    quantizing_step.alpha = steps.back().alpha / y_scale;
    quantizing_step.beta = steps.back().beta / y_scale + static_cast<float>(y_zero_point);
    steps.pop_back();
  }
  for (const PostOp& post_op : steps) {
    if (post_op.kind != PostOpKind::kSum) {
      if (!append_post_ops({post_op}, chain, reason)) return false;
    } else if (residual == Residual::kBinary) {
      chain.append_binary(dnnl::algorithm::binary_add, dst_f32_desc);
    } else if (sum_type == DataType::kFloat) {
      chain.append_sum(1.0f);
    } else if (sum_zero_point == 0) {
      chain.append_sum(sum_scale, to_dnnl(sum_type));
    } else {
      chain.append_sum(sum_scale, sum_zero_point, to_dnnl(sum_type));
    }
  }
  if (dst_type != DataType::kFloat)
    chain.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, quantizing_step.alpha, quantizing_step.beta);
  if (!eltwise_parameters_consistent(chain, reason)) return false;
  attributes.set_post_ops(chain);
  return true;
}

void QuantizedEpilogue::add_arguments(std::unordered_map<int, memory>& arguments) const {
  if (x_zero_point == 0) return;
  if (!zero_point_memory_) {
    zero_point_memory_ = memory(memory::desc({1}, memory::data_type::s32, memory::format_tag::a), cpu_engine());
    *static_cast<int32_t*>(zero_point_memory_.get_data_handle()) = x_zero_point;
  }
  arguments[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zero_point_memory_;
}

const float* QuantizedEpilogue::stage_output(KernelContext& context, const Shape& shape, Layout layout,
                                             std::vector<float>& scratch, Tensor& converted_residual) const {
  if (residual == Residual::kNone) {
    context.allocate_uninitialized_output(0, dst_type, shape).set_layout(layout);
    return nullptr;
  }
  const Tensor& given = context.input(kQInputSum);
  // Not check(): its arguments, shape_to_string's streams, would be built on every run.
  if (given.shape() != shape)
    throw Error(concat("residual input shape ", shape_to_string(given.shape()), " differs from the output shape ",
                       shape_to_string(shape)));
  check(given.dtype() == sum_type, "residual input is ", dtype_name(given.dtype()), ", its zero point says ",
        dtype_name(sum_type));
  const Tensor* addend = &given;
  Tensor* owned = context.donated_input(kQInputSum);
  if (given.layout() != layout) {
    converted_residual = layout == Layout::kChannelsLast ? to_channels_last(given, context.threads())
                                                         : to_plain(given, context.threads());
    addend = &converted_residual;
    owned = &converted_residual;
  }
  if (residual == Residual::kSum) {
    // The sum post-op accumulates into the dst: the residual becomes the output buffer.
    if (owned && owned->dtype() == dst_type) {
      context.output(0) = std::move(*owned);
    } else {
      Tensor& dst = context.allocate_uninitialized_output(0, dst_type, shape);
      std::memcpy(dst.raw_data(), addend->raw_data(), addend->byte_size());
    }
    context.output(0).set_layout(layout);
    return nullptr;
  }
  context.allocate_uninitialized_output(0, dst_type, shape).set_layout(layout);
  if (addend->dtype() == DataType::kFloat) return addend->data<float>();
  // An 8-bit residual next to a float dst: dequantized as the reference does.
  const int64_t count = addend->element_count();
  scratch.resize(static_cast<size_t>(count));
  const float zero_point = static_cast<float>(sum_zero_point);
  if (addend->dtype() == DataType::kUint8) {
    const uint8_t* values = addend->data<uint8_t>();
    for (int64_t i = 0; i < count; ++i) scratch[i] = (static_cast<float>(values[i]) - zero_point) * sum_scale;
  } else {
    const int8_t* values = addend->data<int8_t>();
    for (int64_t i = 0; i < count; ++i) scratch[i] = (static_cast<float>(values[i]) - zero_point) * sum_scale;
  }
  return scratch.data();
}

std::optional<QuantizedEpilogue> read_quantized_epilogue(const KernelCreateInfo& info, int64_t channels,
                                                         std::string& reason) {
  const Node& node = info.node;
  static const char* const kNames[] = {"X",         "x_scale",        "x_zero_point", "W",
                                       "w_scale",   "B",              "Sum",          "sum_scale",
                                       "sum_zero_point", "y_scale", "y_zero_point"};
  bool missing = false;
  // The constant input `index`, nullptr when omitted; a computed one declines the node.
  const auto constant = [&](size_t index) -> const Tensor* {
    if (!node.has_input(index)) return nullptr;
    const Tensor* tensor = info.find_constant(node.input(index));
    if (!tensor && !missing) {
      missing = true;
      reason = concat(kNames[index], " is not a constant");
    }
    return tensor;
  };
  const Tensor* x_scale = constant(kQInputXScale);
  const Tensor* x_zero_point = constant(kQInputXZeroPoint);
  const Tensor* w_scale = constant(kQInputWScale);
  const Tensor* bias = constant(kQInputBias);
  const Tensor* sum_scale = constant(kQInputSumScale);
  const Tensor* sum_zero_point = constant(kQInputSumZeroPoint);
  const Tensor* y_scale = constant(kQInputYScale);
  const Tensor* y_zero_point = constant(kQInputYZeroPoint);
  if (missing) return std::nullopt;
  if (!x_scale || !w_scale) {
    reason = "x_scale or w_scale is missing";
    return std::nullopt;
  }
  const auto scalar_float = [](const Tensor* tensor) {
    return tensor && tensor->dtype() == DataType::kFloat && tensor->element_count() == 1;
  };
  const auto scalar_8bit = [](const Tensor* tensor) { return tensor && is_8bit(tensor->dtype()) && tensor->element_count() == 1; };

  QuantizedEpilogue epilogue;
  if (!scalar_float(x_scale) || (x_zero_point && !scalar_8bit(x_zero_point))) {
    reason = "x_scale / x_zero_point are not float / 8-bit scalars";
    return std::nullopt;
  }
  if (x_zero_point) {
    epilogue.x_type = x_zero_point->dtype();
    epilogue.x_zero_point = static_cast<int32_t>(x_zero_point->value_as_int64(0));
  }
  const int64_t scale_count = w_scale->element_count();
  if (w_scale->dtype() != DataType::kFloat || !(scale_count == 1 || (channels > 0 && scale_count == channels))) {
    reason = concat("w_scale ", shape_to_string(w_scale->shape()), " is not one float or one per output channel");
    return std::nullopt;
  }
  const float input_scale = x_scale->data<float>()[0];
  for (int64_t c = 0; c < scale_count; ++c) epilogue.output_scales.push_back(input_scale * w_scale->data<float>()[c]);
  if (bias) {
    if (channels < 0) channels = bias->element_count();  // a run-time B: N is known from the bias
    if (bias->dtype() != DataType::kInt32 || bias->element_count() != channels) {
      reason = concat("bias B ", shape_to_string(bias->shape()), " is not ", channels, " int32 values");
      return std::nullopt;
    }
    for (int64_t c = 0; c < channels; ++c) epilogue.bias.push_back(static_cast<float>(bias->data<int32_t>()[c]));
  }
  if (y_scale || y_zero_point) {
    if (!scalar_float(y_scale) || !scalar_8bit(y_zero_point)) {
      reason = "y_scale / y_zero_point are not a float and an 8-bit scalar";
      return std::nullopt;
    }
    epilogue.dst_type = y_zero_point->dtype();
    epilogue.y_scale = y_scale->data<float>()[0];
    epilogue.y_zero_point = static_cast<int32_t>(y_zero_point->value_as_int64(0));
  }
  epilogue.post_ops = read_post_ops(node);
  for (const PostOp& post_op : epilogue.post_ops) {
    if (post_op.kind != PostOpKind::kSum) continue;
    if (!node.has_input(kQInputSum)) {
      reason = "sum post-op without a Sum input";
      return std::nullopt;
    }
    epilogue.sum_type = DataType::kFloat;
    if (sum_zero_point) {
      if (!scalar_float(sum_scale) || !scalar_8bit(sum_zero_point)) {
        reason = "sum_scale / sum_zero_point are not a float and an 8-bit scalar";
        return std::nullopt;
      }
      epilogue.sum_type = sum_zero_point->dtype();
      epilogue.sum_scale = sum_scale->data<float>()[0];
      epilogue.sum_zero_point = static_cast<int32_t>(sum_zero_point->value_as_int64(0));
    }
    // The sum post-op reinterprets the dst as the residual's type, which needs the same size.
    const bool same_size = (epilogue.sum_type == DataType::kFloat) == (epilogue.dst_type == DataType::kFloat);
    epilogue.residual = same_size ? QuantizedEpilogue::Residual::kSum : QuantizedEpilogue::Residual::kBinary;
  }
  return epilogue;
}

}  // namespace octet::dnnl_backend
