// Linear quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
//
// All rounding goes through quantize_math.h so that these ops and the integer kernels agree bit
// for bit.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/float16.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/quantize_math.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// Elementwise loops hand out at least this many elements per thread: below it, waking a worker
// costs more than the work.
constexpr int64_t kMinElementsPerTask = 16384;

// Per-axis quantization appeared in opset 13; opset 10 only has one scale per tensor.
constexpr int64_t kFirstOpsetWithAxis = 13;

// How scale and zero point map onto the elements. Element i uses channel (i / inner) % channels;
// per-tensor quantization is one channel spanning everything.
struct ChannelParameters {
  int64_t channels = 1;
  int64_t inner = 1;
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
};

bool is_per_tensor(const Tensor& scale) { return scale.rank() == 0 || (scale.rank() == 1 && scale.dim(0) == 1); }

// Reads scale (and zero point, 0 when omitted) for data of shape `shape`. Per-tensor when the scale
// is a scalar or a one-element vector, else per axis along `axis` (opset 13+).
ChannelParameters channel_parameters(const Shape& shape, const Tensor& scale, const Tensor* zero_point, int64_t axis,
                                     int64_t opset) {
  ChannelParameters parameters;
  parameters.inner = element_count(shape);
  if (!is_per_tensor(scale)) {
    check(opset >= kFirstOpsetWithAxis, "scale must be a scalar before opset ", kFirstOpsetWithAxis, ", got shape ",
          shape_to_string(scale.shape()));
    check(scale.rank() == 1, "scale must be a scalar or a 1-D tensor, got shape ", shape_to_string(scale.shape()));
    const int64_t rank = static_cast<int64_t>(shape.size());
    const int64_t channel_axis = normalize_axis(axis, rank, "attribute 'axis'");
    check(scale.dim(0) == shape[static_cast<size_t>(channel_axis)], "scale has ", scale.dim(0),
          " elements but input dimension ", channel_axis, " of shape ", shape_to_string(shape), " is ",
          shape[static_cast<size_t>(channel_axis)]);
    parameters.channels = scale.dim(0);
    parameters.inner = 1;
    for (int64_t i = channel_axis + 1; i < rank; ++i) parameters.inner *= shape[static_cast<size_t>(i)];
  }
  if (zero_point != nullptr) {
    check(zero_point->element_count() == scale.element_count(), "zero point shape ",
          shape_to_string(zero_point->shape()), " does not match scale shape ", shape_to_string(scale.shape()));
  }
  for (int64_t channel = 0; channel < parameters.channels; ++channel) {
    parameters.scales.push_back(static_cast<float>(scale.value_as_double(channel)));
    parameters.zero_points.push_back(zero_point ? static_cast<int32_t>(zero_point->value_as_int64(channel)) : 0);
  }
  return parameters;
}

// Calls body(begin, end, channel) over [0, count) in parallel, each call within one channel's run.
template <typename Body>
void for_each_channel_run(ThreadPool& threads, int64_t count, const ChannelParameters& parameters, Body&& body) {
  threads.parallel_for(
      count,
      [&](int64_t begin, int64_t end) {
        while (begin < end) {
          const int64_t run = begin / parameters.inner;
          const int64_t run_end = std::min(end, (run + 1) * parameters.inner);
          body(begin, run_end, run % parameters.channels);
          begin = run_end;
        }
      },
      kMinElementsPerTask);
}

// The elements of a float, float16, bfloat16 or int32 tensor as floats: a pointer into the tensor
// when it is float already, else into `converted`.
const float* float_values(const Tensor& tensor, std::vector<float>& converted) {
  if (tensor.dtype() == DataType::kFloat) return tensor.data<float>();
  const int64_t count = tensor.element_count();
  converted.resize(static_cast<size_t>(count));
  switch (tensor.dtype()) {
    case DataType::kFloat16: {
      const Float16* values = tensor.data<Float16>();
      for (int64_t i = 0; i < count; ++i) converted[i] = half_to_float(values[i]);
      break;
    }
    case DataType::kBfloat16: {
      const Bfloat16* values = tensor.data<Bfloat16>();
      for (int64_t i = 0; i < count; ++i) converted[i] = bfloat16_to_float(values[i]);
      break;
    }
    case DataType::kInt32: {
      const int32_t* values = tensor.data<int32_t>();
      for (int64_t i = 0; i < count; ++i) converted[i] = static_cast<float>(values[i]);
      break;
    }
    default:
      throw UnsupportedError(concat("input type ", dtype_name(tensor.dtype()), " is not supported"));
  }
  return converted.data();
}

// Calls function.template operator()<Q>() for the 8-bit quantized types.
template <typename Function>
void dispatch_quantized(DataType dtype, Function&& function) {
  switch (dtype) {
    case DataType::kUint8: function.template operator()<uint8_t>(); return;
    case DataType::kInt8: function.template operator()<int8_t>(); return;
    default: throw UnsupportedError(concat("quantized type ", dtype_name(dtype), " is not supported"));
  }
}

// y = saturate(round(x / y_scale) + y_zero_point). Inputs: x, y_scale, optional y_zero_point whose
// type (uint8 when omitted) is the output type.
class QuantizeLinearKernel : public Kernel {
 public:
  explicit QuantizeLinearKernel(const KernelCreateInfo& info)
      : opset_(info.opset), axis_(info.node.attr_int("axis", 1)) {
    // Opset 21 blocked quantization: refuse rather than silently ignore it.
    if (info.node.attr_int("block_size", 0) != 0)
      throw UnsupportedError("QuantizeLinear: attribute 'block_size' (blocked quantization) is not supported");
    // Opset 21's output_dtype picks the type when the zero point is omitted; 0 (its default) means uint8.
    const int64_t output_dtype = info.node.attr_int("output_dtype", 0);
    output_dtype_ = output_dtype == 0 ? DataType::kUint8 : static_cast<DataType>(output_dtype);
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Tensor& scale = context.input(1);
    const Tensor* zero_point = context.optional_input(2);
    const DataType dst_dtype = zero_point ? zero_point->dtype() : output_dtype_;
    const ChannelParameters parameters = channel_parameters(src.shape(), scale, zero_point, axis_, opset_);
    std::vector<float> converted;
    const float* src_values = float_values(src, converted);
    dispatch_quantized(dst_dtype, [&]<typename Quantized>() {
      Quantized* dst = context.allocate_output(0, dst_dtype, src.shape()).template data<Quantized>();
      for_each_channel_run(context.threads(), src.element_count(), parameters,
                           [&](int64_t begin, int64_t end, int64_t channel) {
                             const float channel_scale = parameters.scales[channel];
                             const int32_t channel_zero_point = parameters.zero_points[channel];
                             // Divide, as the ONNX definition does: multiplying by 1 / scale would
                             // move values that sit exactly on a .5 tie.
                             for (int64_t i = begin; i < end; ++i)
                               dst[i] = quantize_saturate<Quantized>(src_values[i] / channel_scale, channel_zero_point);
                           });
    });
  }

 private:
  int64_t opset_;
  int64_t axis_;
  DataType output_dtype_;
};

// Writes a float result into a float, float16 or bfloat16 output.
template <typename Destination>
Destination from_float(float value);
template <>
float from_float<float>(float value) { return value; }
template <>
Float16 from_float<Float16>(float value) { return float_to_half(value); }
template <>
Bfloat16 from_float<Bfloat16>(float value) { return float_to_bfloat16(value); }

// y = (x - x_zero_point) * x_scale. The output has the scale's type. int32 inputs (quantized
// biases) must have a zero point of 0.
class DequantizeLinearKernel : public Kernel {
 public:
  explicit DequantizeLinearKernel(const KernelCreateInfo& info)
      : opset_(info.opset), axis_(info.node.attr_int("axis", 1)) {
    if (info.node.attr_int("block_size", 0) != 0)
      throw UnsupportedError("DequantizeLinear: attribute 'block_size' (blocked quantization) is not supported");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Tensor& scale = context.input(1);
    const Tensor* zero_point = context.optional_input(2);
    if (zero_point != nullptr) {
      check(zero_point->dtype() == src.dtype(), "zero point type ", dtype_name(zero_point->dtype()),
            " differs from input type ", dtype_name(src.dtype()));
    }
    const ChannelParameters parameters = channel_parameters(src.shape(), scale, zero_point, axis_, opset_);
    if (src.dtype() == DataType::kInt32) {
      for (int32_t value : parameters.zero_points) check(value == 0, "int32 input needs a zero point of 0, got ", value);
    }
    Tensor& dst = context.allocate_output(0, scale.dtype(), src.shape());
    dispatch_source(src.dtype(), [&]<typename Quantized>() {
      dispatch_destination(scale.dtype(), [&]<typename Destination>() {
        run_typed<Quantized, Destination>(context.threads(), src, parameters, dst);
      });
    });
  }

 private:
  template <typename Function>
  static void dispatch_source(DataType dtype, Function&& function) {
    if (dtype == DataType::kInt32) {
      function.template operator()<int32_t>();
    } else {
      dispatch_quantized(dtype, function);
    }
  }

  template <typename Function>
  static void dispatch_destination(DataType dtype, Function&& function) {
    switch (dtype) {
      case DataType::kFloat: function.template operator()<float>(); return;
      case DataType::kFloat16: function.template operator()<Float16>(); return;
      case DataType::kBfloat16: function.template operator()<Bfloat16>(); return;
      default: throw UnsupportedError(concat("scale type ", dtype_name(dtype), " is not supported"));
    }
  }

  template <typename Quantized, typename Destination>
  static void run_typed(ThreadPool& threads, const Tensor& src, const ChannelParameters& parameters, Tensor& dst) {
    const Quantized* src_values = src.data<Quantized>();
    Destination* dst_values = dst.data<Destination>();
    for_each_channel_run(threads, src.element_count(), parameters, [&](int64_t begin, int64_t end, int64_t channel) {
      const float channel_scale = parameters.scales[channel];
      const int64_t channel_zero_point = parameters.zero_points[channel];
      for (int64_t i = begin; i < end; ++i) {
        const float centered = static_cast<float>(static_cast<int64_t>(src_values[i]) - channel_zero_point);
        dst_values[i] = from_float<Destination>(centered * channel_scale);
      }
    });
  }

  int64_t opset_;
  int64_t axis_;
};

// Quantizes float x to uint8 with a scale and zero point chosen from x's range, which is widened to
// include 0 so that 0 is exact: scale = (max - min) / 255, zero_point = round(saturate(-min / scale)).
// Outputs y, y_scale, y_zero_point.
class DynamicQuantizeLinearKernel : public Kernel {
 public:
  explicit DynamicQuantizeLinearKernel(const KernelCreateInfo& info) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check(src.dtype() == DataType::kFloat, "input type must be float, got ", dtype_name(src.dtype()));
    const float* src_values = src.data<float>();
    const int64_t count = src.element_count();

    float minimum = 0.0f;
    float maximum = 0.0f;
    for (int64_t i = 0; i < count; ++i) {
      minimum = std::min(minimum, src_values[i]);
      maximum = std::max(maximum, src_values[i]);
    }
    constexpr float kQuantizedMin = std::numeric_limits<uint8_t>::min();
    constexpr float kQuantizedMax = std::numeric_limits<uint8_t>::max();
    // An all-zero input has an empty range. ONNX Runtime then uses scale 1 (the ONNX reference
    // implementation 1 / 255); either way the zero point and every output are 0.
    const float scale = maximum == minimum ? 1.0f : (maximum - minimum) / (kQuantizedMax - kQuantizedMin);
    const float initial_zero_point = std::clamp(kQuantizedMin - minimum / scale, kQuantizedMin, kQuantizedMax);
    const int32_t zero_point = static_cast<int32_t>(round_half_to_even(initial_zero_point));

    uint8_t* dst = context.allocate_output(0, DataType::kUint8, src.shape()).data<uint8_t>();
    ChannelParameters parameters;
    parameters.inner = count;
    for_each_channel_run(context.threads(), count, parameters, [&](int64_t begin, int64_t end, int64_t) {
      for (int64_t i = begin; i < end; ++i) dst[i] = quantize_saturate<uint8_t>(src_values[i] / scale, zero_point);
    });
    if (context.output_requested(1)) context.allocate_output(1, DataType::kFloat, {}).data<float>()[0] = scale;
    if (context.output_requested(2))
      context.allocate_output(2, DataType::kUint8, {}).data<uint8_t>()[0] = static_cast<uint8_t>(zero_point);
  }
};

}  // namespace

void register_quantize_kernels(KernelRegistry& registry) {
  register_reference<QuantizeLinearKernel>(registry, "QuantizeLinear");
  register_reference<DequantizeLinearKernel>(registry, "DequantizeLinear");
  register_reference<DynamicQuantizeLinearKernel>(registry, "DynamicQuantizeLinear");
}

}  // namespace octet
