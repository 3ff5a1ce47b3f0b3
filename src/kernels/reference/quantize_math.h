// Requantization rounding: the one definition every quantized kernel uses.
//
// ONNX QuantizeLinear defines y = saturate(round(x / y_scale) + y_zero_point), where round is
// round-half-to-even and saturate clamps to the range of the output type ([0, 255] for uint8,
// [-128, 127] for int8). QLinearConv, QLinearMatMul and the other integer kernels turn their int32
// accumulators into 8-bit outputs the same way, so they all call quantize_saturate() below; a
// kernel that rounds on its own would drift from the reference by one step on ties.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace octet {

// Adding 1.5 * 2^23 to a float of magnitude below 2^22 leaves no mantissa bits for a fraction, so
// the addition itself rounds to an integer in the current rounding mode (round-to-nearest-even,
// which octet never changes). Unlike std::nearbyint, this compiles to plain SIMD adds in loops.
inline constexpr float kRoundingShift = 12582912.0f;  // 1.5 * 2^23
inline constexpr float kRoundingShiftLimit = 4194304.0f;  // 2^22: the trick is exact below this magnitude

// Rounds to the nearest integer, ties to even, for |value| < kRoundingShiftLimit only.
inline float round_half_to_even_bounded(float value) { return (value + kRoundingShift) - kRoundingShift; }

// Rounds to the nearest integer, ties to even (2.5 -> 2, 3.5 -> 4, -2.5 -> -2), for any float.
inline float round_half_to_even(float value) {
  // Floats at or above 2^23 are integers already; between 2^22 and 2^23 the shift would lose a bit.
  if (!(std::fabs(value) < kRoundingShiftLimit)) return std::nearbyint(value);
  return round_half_to_even_bounded(value);
}

// The quantized value of `scaled` (a real value already divided by the scale, or an accumulator
// already multiplied by the requantization multiplier): round half to even, add `zero_point`,
// saturate to Quantized's range. Quantized is int8_t, uint8_t, int16_t or uint16_t. NaN gives the
// lowest value of the range (ONNX leaves it undefined).
template <typename Quantized>
inline Quantized quantize_saturate(float scaled, int32_t zero_point) {
  static_assert(std::numeric_limits<Quantized>::is_integer && sizeof(Quantized) <= 2,
                "quantize_saturate targets 8- and 16-bit integers; use saturate_to_int32 for int32");
  constexpr int32_t kQuantizedMin = std::numeric_limits<Quantized>::min();
  constexpr int32_t kQuantizedMax = std::numeric_limits<Quantized>::max();
  // Rounding is monotonic and the bounds are integers, so clamping before rounding gives the same
  // result as clamping after, and keeps the value small enough for the rounding shift.
  const float lowest = static_cast<float>(kQuantizedMin - zero_point);
  const float highest = static_cast<float>(kQuantizedMax - zero_point);
  float clamped = scaled > lowest ? scaled : lowest;  // written so that NaN takes `lowest`
  clamped = clamped < highest ? clamped : highest;
  const float rounded = round_half_to_even_bounded(clamped);
  return static_cast<Quantized>(static_cast<int32_t>(rounded) + zero_point);
}

// Rounds half to even and saturates to int32: for int32 quantities such as a bias quantized with
// scale input_scale * weight_scale. Computed in double so that every int32 is representable.
// NaN gives 0.
inline int32_t saturate_to_int32(double scaled) {
  constexpr double kInt32Min = std::numeric_limits<int32_t>::min();
  constexpr double kInt32Max = std::numeric_limits<int32_t>::max();
  if (std::isnan(scaled)) return 0;
  const double rounded = std::nearbyint(scaled);
  if (rounded <= kInt32Min) return std::numeric_limits<int32_t>::min();
  if (rounded >= kInt32Max) return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(rounded);
}

}  // namespace octet
