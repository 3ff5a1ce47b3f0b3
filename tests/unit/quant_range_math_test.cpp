// Tests of src/quant/range_math.h: scales and zero points worked out by hand, ties, and a sweep of
// random ranges against an independent formula (std::nearbyint, clamped by hand).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "octet/status.h"
#include "quant/range_math.h"

namespace octet {
namespace {

TEST(QuantRangeMath, AsymmetricUint8ByHand) {
  // [-1, 3]: scale 4/255; zero point = round(1 / (4/255)) = round(63.75) = 64.
  const QuantizationParameters parameters =
      compute_quantization_parameters(-1.0f, 3.0f, QuantizedType::kUint8, RangeMode::kAsymmetric);
  EXPECT_FLOAT_EQ(parameters.scale, 4.0f / 255.0f);
  ASSERT_EQ(parameters.zero_point, 64);
  ASSERT_EQ(parameters.quantized_min, 0);
  ASSERT_EQ(parameters.quantized_max, 255);
  ASSERT_EQ(quantize_value(0.0f, parameters), 64);
  ASSERT_EQ(quantize_value(-1.0f, parameters), 0);
  ASSERT_EQ(quantize_value(3.0f, parameters), 255);
  ASSERT_EQ(quantize_value(100.0f, parameters), 255);
  ASSERT_EQ(quantize_value(-100.0f, parameters), 0);
}

TEST(QuantRangeMath, AsymmetricInt8ByHand) {
  const QuantizationParameters parameters =
      compute_quantization_parameters(-1.0f, 3.0f, QuantizedType::kInt8, RangeMode::kAsymmetric);
  EXPECT_FLOAT_EQ(parameters.scale, 4.0f / 255.0f);
  ASSERT_EQ(parameters.zero_point, -128 + 64);
  ASSERT_EQ(quantize_value(0.0f, parameters), -64);
  ASSERT_EQ(quantize_value(-5.0f, parameters), -128);
}

TEST(QuantRangeMath, RangeIsWidenedToIncludeZero) {
  const QuantizationParameters positive =
      compute_quantization_parameters(2.0f, 5.0f, QuantizedType::kUint8, RangeMode::kAsymmetric);
  EXPECT_FLOAT_EQ(positive.scale, 5.0f / 255.0f);
  ASSERT_EQ(positive.zero_point, 0);
  const QuantizationParameters negative =
      compute_quantization_parameters(-5.0f, -2.0f, QuantizedType::kUint8, RangeMode::kAsymmetric);
  EXPECT_FLOAT_EQ(negative.scale, 5.0f / 255.0f);
  ASSERT_EQ(negative.zero_point, 255);
  ASSERT_EQ(quantize_value(0.0f, negative), 255);
}

TEST(QuantRangeMath, SymmetricInt8UsesMinus127To127) {
  const QuantizationParameters parameters =
      compute_quantization_parameters(-2.0f, 1.0f, QuantizedType::kInt8, RangeMode::kSymmetric);
  EXPECT_FLOAT_EQ(parameters.scale, 2.0f / 127.0f);
  ASSERT_EQ(parameters.zero_point, 0);
  ASSERT_EQ(parameters.quantized_min, -127);
  ASSERT_EQ(parameters.quantized_max, 127);
  ASSERT_EQ(quantize_value(-2.0f, parameters), -127);
  ASSERT_EQ(quantize_value(-100.0f, parameters), -127);  // never -128
  ASSERT_EQ(quantize_value(100.0f, parameters), 127);
}

TEST(QuantRangeMath, SymmetricUint8AfterRelu) {
  const QuantizationParameters parameters =
      compute_quantization_parameters(0.0f, 6.0f, QuantizedType::kUint8, RangeMode::kSymmetric);
  EXPECT_FLOAT_EQ(parameters.scale, 6.0f / 255.0f);
  ASSERT_EQ(parameters.zero_point, 0);
  ASSERT_EQ(quantize_value(6.0f, parameters), 255);
  ASSERT_EQ(quantize_value(-1.0f, parameters), 0);
  EXPECT_THROW(compute_quantization_parameters(-0.5f, 6.0f, QuantizedType::kUint8, RangeMode::kSymmetric), Error);
}

TEST(QuantRangeMath, TiesRoundHalfToEven) {
  // Scale exactly 1 and zero point 10: x + 10 rounded half to even.
  const QuantizationParameters parameters =
      compute_quantization_parameters(-10.0f, 245.0f, QuantizedType::kUint8, RangeMode::kAsymmetric);
  ASSERT_EQ(parameters.scale, 1.0f);
  ASSERT_EQ(parameters.zero_point, 10);
  ASSERT_EQ(quantize_value(0.5f, parameters), 10);
  ASSERT_EQ(quantize_value(1.5f, parameters), 12);
  ASSERT_EQ(quantize_value(2.5f, parameters), 12);
  ASSERT_EQ(quantize_value(-0.5f, parameters), 10);
  ASSERT_EQ(quantize_value(-1.5f, parameters), 8);
  // Zero point on a tie: -2.5 / 1 rounds to -2, so the zero point is 0 + 2 (not 3).
  const QuantizationParameters tie_zero_point =
      compute_quantization_parameters(-2.5f, 252.5f, QuantizedType::kUint8, RangeMode::kAsymmetric);
  ASSERT_EQ(tie_zero_point.scale, 1.0f);
  ASSERT_EQ(tie_zero_point.zero_point, 2);
  const QuantizationParameters symmetric =
      compute_quantization_parameters(-127.0f, 127.0f, QuantizedType::kInt8, RangeMode::kSymmetric);
  ASSERT_EQ(symmetric.scale, 1.0f);
  ASSERT_EQ(quantize_value(-2.5f, symmetric), -2);
  ASSERT_EQ(quantize_value(-3.5f, symmetric), -4);
}

TEST(QuantRangeMath, DegenerateRangeGetsMinimumScale) {
  for (QuantizedType type : {QuantizedType::kUint8, QuantizedType::kInt8}) {
    for (RangeMode mode : {RangeMode::kSymmetric, RangeMode::kAsymmetric}) {
      const QuantizationParameters parameters = compute_quantization_parameters(0.0f, 0.0f, type, mode);
      EXPECT_EQ(parameters.scale, kMinimumScale) << quantized_type_name(type);
      EXPECT_EQ(quantize_value(0.0f, parameters), parameters.zero_point);
      EXPECT_GE(parameters.zero_point, parameters.quantized_min);
      EXPECT_LE(parameters.zero_point, parameters.quantized_max);
    }
  }
}

TEST(QuantRangeMath, RejectsBadRanges) {
  EXPECT_THROW(compute_quantization_parameters(1.0f, -1.0f, QuantizedType::kUint8, RangeMode::kAsymmetric), Error);
  EXPECT_THROW(compute_quantization_parameters(NAN, 1.0f, QuantizedType::kUint8, RangeMode::kAsymmetric), Error);
  EXPECT_THROW(compute_quantization_parameters(0.0f, INFINITY, QuantizedType::kInt8, RangeMode::kSymmetric), Error);
}

// Random ranges and values: zero is exact, every value matches clamp(nearbyint(x / scale) + zp),
// and values inside the range come back within half a step.
TEST(QuantRangeMath, RandomSweepAgainstIndependentFormula) {
  std::mt19937 generator(7);
  std::uniform_real_distribution<float> bound(-50.0f, 50.0f);
  for (int trial = 0; trial < 200; ++trial) {
    float min = bound(generator);
    float max = bound(generator);
    if (min > max) std::swap(min, max);
    for (QuantizedType type : {QuantizedType::kUint8, QuantizedType::kInt8}) {
      for (RangeMode mode : {RangeMode::kSymmetric, RangeMode::kAsymmetric}) {
        if (type == QuantizedType::kUint8 && mode == RangeMode::kSymmetric) {
          if (min < 0.0f) continue;
        }
        const QuantizationParameters parameters = compute_quantization_parameters(min, max, type, mode);
        const std::string context = "range [" + std::to_string(min) + ", " + std::to_string(max) + "] " +
                                    quantized_type_name(type) + (mode == RangeMode::kSymmetric ? " sym" : " asym");
        ASSERT_EQ(quantize_value(0.0f, parameters), parameters.zero_point) << context;
        ASSERT_LE(parameters.real_min(), std::min(min, 0.0f) + parameters.scale / 2) << context;
        ASSERT_GE(parameters.real_max(), std::max(max, 0.0f) - parameters.scale / 2) << context;
        std::uniform_real_distribution<float> value(min - 5.0f, max + 5.0f);
        for (int i = 0; i < 100; ++i) {
          const float x = value(generator);
          const float expected_unclamped = std::nearbyint(x / parameters.scale) + parameters.zero_point;
          const int32_t expected = static_cast<int32_t>(std::clamp(
              expected_unclamped, static_cast<float>(parameters.quantized_min),
              static_cast<float>(parameters.quantized_max)));
          ASSERT_EQ(quantize_value(x, parameters), expected) << context << " x " << x;
          if (x >= parameters.real_min() && x <= parameters.real_max()) {
            ASSERT_NEAR(dequantize_value(expected, parameters), x, parameters.scale * 0.5001) << context;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace octet
