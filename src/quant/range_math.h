// Affine quantization parameters: the one place that turns a real range [min, max] into a scale and
// a zero point, and a real value into its quantized integer.
//
// Mapping (ONNX QuantizeLinear): q = clamp(round_half_to_even(x / scale) + zero_point, qmin, qmax),
// x' = (q - zero_point) * scale. Rounding and saturation come from kernels/reference/quantize_math.h,
// which the integer kernels use too, so calibration and inference never disagree on a tie.
#pragma once

#include <cstdint>
#include <string>

namespace octet {

enum class QuantizedType { kUint8, kInt8 };

// kSymmetric: zero point 0 (int8 weights and signed activations in [-127, 127]; uint8 activations
// after ReLU-like ops in [0, 255]). kAsymmetric: the zero point places min and max at qmin and qmax.
enum class RangeMode { kSymmetric, kAsymmetric };

std::string quantized_type_name(QuantizedType type);

// Smallest scale octet emits. A range that is empty after widening to zero (an all-zero tensor)
// has no natural scale; any positive one maps 0 exactly to the zero point, and this one is small
// enough not to clip any real data that might appear later, while 1 / scale stays a finite float.
// Ranges narrower than 255 * kMinimumScale are treated the same way (their scale is floored).
inline constexpr float kMinimumScale = 1e-8f;

struct QuantizationParameters {
  QuantizedType type = QuantizedType::kUint8;
  float scale = 1.0f;       // > 0, finite
  int32_t zero_point = 0;   // within [quantized_min, quantized_max]
  int32_t quantized_min = 0;    // smallest integer used: 0 (uint8), -128 (int8), -127 (symmetric int8)
  int32_t quantized_max = 255;  // largest integer used

  // The real values that quantized_min and quantized_max stand for.
  float real_min() const { return static_cast<float>(quantized_min - zero_point) * scale; }
  float real_max() const { return static_cast<float>(quantized_max - zero_point) * scale; }
};

// Scale and zero point for values in [min, max] (finite, min <= max; throws Error otherwise).
// The range is first widened to include 0, so that real zero (padding, ReLU floor) is exactly an
// integer. Symmetric uint8 requires non-negative data (min >= 0); the caller
// picks int8 for signed data (throws Error otherwise). Symmetric int8 uses [-127, 127].
QuantizationParameters compute_quantization_parameters(float min, float max, QuantizedType type, RangeMode mode);

// q = clamp(round_half_to_even(value / scale) + zero_point, quantized_min, quantized_max).
int32_t quantize_value(float value, const QuantizationParameters& parameters);
// (q - zero_point) * scale.
float dequantize_value(int32_t quantized, const QuantizationParameters& parameters);

}  // namespace octet
