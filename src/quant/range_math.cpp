#include "quant/range_math.h"

#include <algorithm>
#include <cmath>

#include "kernels/reference/quantize_math.h"
#include "octet/status.h"

namespace octet {
namespace {

// int8 weights and symmetric activations use [-127, 127]: the range stays symmetric around zero
// and -128 * -128 products never appear (see QUANTIZATION.md, "Numbers and conventions").
constexpr int32_t kSymmetricInt8Min = -127;
constexpr int32_t kInt8Min = -128;
constexpr int32_t kInt8Max = 127;
constexpr int32_t kUint8Min = 0;
constexpr int32_t kUint8Max = 255;

}  // namespace

std::string quantized_type_name(QuantizedType type) { return type == QuantizedType::kUint8 ? "uint8" : "int8"; }

QuantizationParameters compute_quantization_parameters(float min, float max, QuantizedType type, RangeMode mode) {
  check(std::isfinite(min) && std::isfinite(max), "quantization range [", min, ", ", max, "] is not finite");
  check(min <= max, "quantization range [", min, ", ", max, "] has min > max");
  const float low = std::min(min, 0.0f);
  const float high = std::max(max, 0.0f);

  QuantizationParameters parameters;
  parameters.type = type;
  if (mode == RangeMode::kSymmetric) {
    parameters.zero_point = 0;
    if (type == QuantizedType::kUint8) {
      check(low >= 0.0f, "symmetric uint8 quantization needs non-negative data, got min ", min,
            " (use int8 for signed data)");
      parameters.quantized_min = kUint8Min;
      parameters.quantized_max = kUint8Max;
      parameters.scale = high / static_cast<float>(kUint8Max);
    } else {
      parameters.quantized_min = kSymmetricInt8Min;
      parameters.quantized_max = kInt8Max;
      parameters.scale = std::max(-low, high) / static_cast<float>(kInt8Max);
    }
    parameters.scale = std::max(parameters.scale, kMinimumScale);
    return parameters;
  }

  parameters.quantized_min = type == QuantizedType::kUint8 ? kUint8Min : kInt8Min;
  parameters.quantized_max = type == QuantizedType::kUint8 ? kUint8Max : kInt8Max;
  const float level_count = static_cast<float>(parameters.quantized_max - parameters.quantized_min);
  parameters.scale = std::max((high - low) / level_count, kMinimumScale);
  // low / scale lies in [-level_count, 0], so the rounded zero point stays in range; the clamp
  // only guards against the floored scale of a degenerate range.
  const float zero_point = static_cast<float>(parameters.quantized_min) - round_half_to_even(low / parameters.scale);
  parameters.zero_point = std::clamp(static_cast<int32_t>(zero_point), parameters.quantized_min,
                                     parameters.quantized_max);
  return parameters;
}

int32_t quantize_value(float value, const QuantizationParameters& parameters) {
  const float scaled = value / parameters.scale;
  // quantize_saturate clamps to the full type range; symmetric int8 further excludes -128.
  const int32_t quantized = parameters.type == QuantizedType::kUint8
                                ? quantize_saturate<uint8_t>(scaled, parameters.zero_point)
                                : quantize_saturate<int8_t>(scaled, parameters.zero_point);
  return std::clamp(quantized, parameters.quantized_min, parameters.quantized_max);
}

float dequantize_value(int32_t quantized, const QuantizationParameters& parameters) {
  return static_cast<float>(quantized - parameters.zero_point) * parameters.scale;
}

}  // namespace octet
