// Requantization rounding (quantize_math.h) and QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, checked exactly against the ONNX formulas written here with the C
// library's std::nearbyint (round half to even in the default rounding mode) and plain clamps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/float16.h"
#include "core/layout.h"
#include "kernel_test_util.h"
#include "kernels/reference/quantize_math.h"
#include "octet/tensor.h"

namespace octet {
namespace {

using testing::int_attribute;
using testing::make_node;
using testing::random_tensor;
using testing::run_node;

// saturate(round(scaled) + zero_point), all in double so that nothing can overflow or round twice.
template <typename Quantized>
int32_t naive_quantize(float scaled, int32_t zero_point) {
  const double value = std::nearbyint(static_cast<double>(scaled)) + zero_point;
  const double clamped = std::clamp(value, static_cast<double>(std::numeric_limits<Quantized>::min()),
                                    static_cast<double>(std::numeric_limits<Quantized>::max()));
  return static_cast<int32_t>(clamped);
}

// ---------------------------------------------------------------------------------------------
// quantize_math.h

TEST(QuantizeMathTest, RoundHalfToEvenMatchesNearbyint) {
  std::vector<float> values;
  // Every quarter in [-1024, 1024]: all the .5 ties and the values either side of them.
  for (int k = -4096; k <= 4096; ++k) values.push_back(static_cast<float>(k) / 4);
  // Random magnitudes across the whole range, including around 2^22 and 2^23 where the rounding
  // shift stops working and the fallback takes over.
  std::mt19937 generator(1);
  std::uniform_real_distribution<float> exponent(-10.0f, 40.0f);
  for (int i = 0; i < 20000; ++i) {
    const float magnitude = std::exp2(exponent(generator));
    values.push_back(i % 2 ? magnitude : -magnitude);
  }
  for (float power : {4194304.0f, 8388608.0f, 16777216.0f}) {  // 2^22, 2^23, 2^24
    // The floats either side of each power, one ulp apart.
    float below = power;
    float above = power;
    for (int step = 0; step < 8; ++step) {
      below = std::nextafter(below, 0.0f);
      above = std::nextafter(above, std::numeric_limits<float>::infinity());
      for (float value : {below, above, -below, -above}) values.push_back(value);
    }
  }
  for (float value : values) {
    ASSERT_EQ(round_half_to_even(value), std::nearbyint(value)) << "value " << value;
  }
  EXPECT_EQ(round_half_to_even(2.5f), 2.0f);
  EXPECT_EQ(round_half_to_even(3.5f), 4.0f);
  EXPECT_EQ(round_half_to_even(-2.5f), -2.0f);
  EXPECT_EQ(round_half_to_even(-3.5f), -4.0f);
}

TEST(QuantizeMathTest, QuantizeSaturateTiesAndSaturation) {
  // Ties go to the even integer before the zero point is added.
  EXPECT_EQ(quantize_saturate<int8_t>(0.5f, 0), 0);
  EXPECT_EQ(quantize_saturate<int8_t>(1.5f, 0), 2);
  EXPECT_EQ(quantize_saturate<int8_t>(2.5f, 0), 2);
  EXPECT_EQ(quantize_saturate<int8_t>(-0.5f, 0), 0);
  EXPECT_EQ(quantize_saturate<int8_t>(-1.5f, 0), -2);
  EXPECT_EQ(quantize_saturate<int8_t>(-2.5f, 0), -2);
  EXPECT_EQ(quantize_saturate<uint8_t>(0.5f, 129), 129);
  EXPECT_EQ(quantize_saturate<uint8_t>(2.5f, 129), 131);
  EXPECT_EQ(quantize_saturate<int8_t>(2.5f, -3), -1);
  // Saturation, including a tie just past each end and infinities.
  const float infinity = std::numeric_limits<float>::infinity();
  EXPECT_EQ(quantize_saturate<int8_t>(127.5f, 0), 127);
  EXPECT_EQ(quantize_saturate<int8_t>(-128.5f, 0), -128);
  EXPECT_EQ(quantize_saturate<int8_t>(1e30f, 0), 127);
  EXPECT_EQ(quantize_saturate<int8_t>(-infinity, 5), -128);
  EXPECT_EQ(quantize_saturate<uint8_t>(-0.6f, 0), 0);
  EXPECT_EQ(quantize_saturate<uint8_t>(200.0f, 100), 255);
  EXPECT_EQ(quantize_saturate<uint8_t>(infinity, 100), 255);
  EXPECT_EQ(quantize_saturate<uint8_t>(-1e30f, 255), 0);
  EXPECT_EQ(quantize_saturate<int16_t>(40000.0f, 0), 32767);
  EXPECT_EQ(quantize_saturate<uint16_t>(-1.5f, 1), 0);
  EXPECT_EQ(quantize_saturate<uint8_t>(std::nanf(""), 7), 0) << "NaN takes the lowest value";
}

TEST(QuantizeMathTest, QuantizeSaturateSweepMatchesNaiveFormula) {
  std::mt19937 generator(2);
  std::uniform_real_distribution<float> distribution(-400.0f, 400.0f);
  for (int32_t zero_point : {-128, -77, -1, 0, 1, 100, 127}) {
    for (int i = 0; i < 4000; ++i) {
      // Every other value sits exactly on a tie.
      const float scaled = i % 2 ? distribution(generator) : std::floor(distribution(generator)) + 0.5f;
      ASSERT_EQ(quantize_saturate<int8_t>(scaled, zero_point), naive_quantize<int8_t>(scaled, zero_point))
          << "int8 scaled " << scaled << " zero point " << zero_point;
      const int32_t unsigned_zero_point = zero_point + 128;
      ASSERT_EQ(quantize_saturate<uint8_t>(scaled, unsigned_zero_point),
                naive_quantize<uint8_t>(scaled, unsigned_zero_point))
          << "uint8 scaled " << scaled << " zero point " << unsigned_zero_point;
    }
  }
}

TEST(QuantizeMathTest, SaturateToInt32) {
  EXPECT_EQ(saturate_to_int32(2.5), 2);
  EXPECT_EQ(saturate_to_int32(3.5), 4);
  EXPECT_EQ(saturate_to_int32(-2.5), -2);
  EXPECT_EQ(saturate_to_int32(-7.49), -7);
  EXPECT_EQ(saturate_to_int32(2147483646.5), 2147483646);
  EXPECT_EQ(saturate_to_int32(3e9), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(saturate_to_int32(-3e9), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(saturate_to_int32(std::nan("")), 0);
}

// ---------------------------------------------------------------------------------------------
// QuantizeLinear

struct QuantizeCase {
  Shape shape;
  std::vector<float> scales;  // one: per tensor (given as a scalar)
  std::vector<int32_t> zero_points;  // empty: zero point omitted (uint8, 0)
  DataType dtype = DataType::kUint8;
  int64_t axis = 1;
  int64_t opset = 13;

  std::string describe() const {
    std::ostringstream stream;
    stream << "shape " << shape_to_string(shape) << " " << dtype_name(dtype) << " axis " << axis << " opset "
           << opset << " scales";
    for (float scale : scales) stream << " " << scale;
    stream << " zero points";
    for (int32_t zero_point : zero_points) stream << " " << zero_point;
    return stream.str();
  }
};

// Scale and zero-point tensors for a case: scalars when per tensor, 1-D otherwise.
Tensor scale_tensor(const QuantizeCase& test) {
  if (test.scales.size() == 1) return Tensor::scalar<float>(test.scales[0]);
  return Tensor::from_vector<float>({static_cast<int64_t>(test.scales.size())}, test.scales);
}

Tensor zero_point_tensor(const QuantizeCase& test) {
  const Shape shape = test.zero_points.size() == 1 ? Shape{} : Shape{static_cast<int64_t>(test.zero_points.size())};
  Tensor tensor(test.dtype, shape);
  for (size_t i = 0; i < test.zero_points.size(); ++i) {
    if (test.dtype == DataType::kUint8) tensor.data<uint8_t>()[i] = static_cast<uint8_t>(test.zero_points[i]);
    if (test.dtype == DataType::kInt8) tensor.data<int8_t>()[i] = static_cast<int8_t>(test.zero_points[i]);
    if (test.dtype == DataType::kInt32) tensor.data<int32_t>()[i] = test.zero_points[i];
  }
  return tensor;
}

// Channel of flat element `index` for per-axis parameters (0 when per tensor).
int64_t channel_of(const QuantizeCase& test, int64_t index) {
  if (test.scales.size() == 1) return 0;
  const int64_t rank = static_cast<int64_t>(test.shape.size());
  const int64_t axis = test.axis < 0 ? test.axis + rank : test.axis;
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= test.shape[static_cast<size_t>(d)];
  return (index / inner) % test.shape[static_cast<size_t>(axis)];
}

// Random values with some exactly on ties: x = (k + 0.5) * scale with a power-of-two scale makes
// x / scale exactly k + 0.5.
Tensor quantize_input(const QuantizeCase& test, uint32_t seed) {
  Tensor src = random_tensor(test.shape, seed, -3.0f, 3.0f);
  float* values = src.data<float>();
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> tie(-300, 300);
  for (int64_t i = 0; i < src.element_count(); i += 3) {
    values[i] = (static_cast<float>(tie(generator)) + 0.5f) * test.scales[static_cast<size_t>(channel_of(test, i))];
  }
  return src;
}

void check_quantize_linear(const QuantizeCase& test, uint32_t seed, int threads = 1) {
  const Tensor src = quantize_input(test, seed);
  const Tensor scale = scale_tensor(test);
  const Tensor zero_point = zero_point_tensor(test);
  const bool has_zero_point = !test.zero_points.empty();
  const Node node = make_node("QuantizeLinear", has_zero_point ? 3 : 2, 1, {int_attribute("axis", test.axis)});
  std::vector<const Tensor*> inputs = {&src, &scale};
  if (has_zero_point) inputs.push_back(&zero_point);
  const std::vector<Tensor> outputs = run_node(node, inputs, test.opset, {}, threads);
  const Tensor& dst = outputs[0];
  ASSERT_EQ(dst.dtype(), test.dtype) << test.describe();
  ASSERT_EQ(dst.shape(), test.shape) << test.describe();
  for (int64_t i = 0; i < src.element_count(); ++i) {
    const size_t channel = static_cast<size_t>(channel_of(test, i));
    const float scaled = src.data<float>()[i] / test.scales[channel];
    const int32_t zero_point_value = has_zero_point ? test.zero_points[channel] : 0;
    const int32_t expected = test.dtype == DataType::kInt8 ? naive_quantize<int8_t>(scaled, zero_point_value)
                                                           : naive_quantize<uint8_t>(scaled, zero_point_value);
    ASSERT_EQ(dst.value_as_int64(i), expected)
        << test.describe() << " element " << i << " x " << src.data<float>()[i] << " x / scale " << scaled;
  }
}

TEST(QuantizeLinearKernelTest, PerTensor) {
  // Omitted zero point: uint8 with zero point 0, so negatives saturate to 0.
  check_quantize_linear({{7, 3}, {0.015625f}, {}, DataType::kUint8}, 1);
  check_quantize_linear({{7, 3}, {0.015625f}, {}, DataType::kUint8, 1, 10}, 2);
  check_quantize_linear({{5, 1, 9}, {0.03125f}, {131}, DataType::kUint8}, 3);
  check_quantize_linear({{5, 1, 9}, {0.0078125f}, {-5}, DataType::kInt8}, 4);
  check_quantize_linear({{11}, {0.013f}, {3}, DataType::kInt8, 1, 10}, 5);  // non-power-of-two scale
  check_quantize_linear({{}, {0.25f}, {1}, DataType::kInt8}, 6);            // scalar input
}

TEST(QuantizeLinearKernelTest, PerAxisIncludingNegativeAxes) {
  const Shape shape = {3, 4, 5};
  check_quantize_linear({shape, {0.5f, 0.25f, 0.125f, 0.0625f}, {0, 10, 128, 255}, DataType::kUint8, 1}, 11);
  check_quantize_linear({shape, {0.5f, 0.25f, 0.125f, 0.0625f}, {-128, -3, 0, 127}, DataType::kInt8, -2}, 12);
  check_quantize_linear({shape, {0.03125f, 0.017f, 0.0625f}, {1, 2, 3}, DataType::kInt8, 0}, 13);
  check_quantize_linear({shape, {0.5f, 0.25f, 0.125f, 0.0625f, 0.01f}, {}, DataType::kUint8, -1}, 14);
}

TEST(QuantizeLinearKernelTest, DividesByScaleAsOnnxDoes) {
  // -0.994999945f / 0.01f is exactly -99.5 (a tie, to -100), but -0.994999945f * (1 / 0.01f) is
  // -99.4999924 (to -99): a kernel multiplying by the reciprocal would be off by one here.
  const Tensor src = Tensor::from_vector<float>({2}, {-0.994999945f, -1.17499995f});
  const Tensor scale = Tensor::scalar<float>(0.01f);
  const Tensor zero_point = Tensor::scalar<int8_t>(0);
  const std::vector<Tensor> outputs = run_node(make_node("QuantizeLinear", 3, 1), {&src, &scale, &zero_point}, 13);
  EXPECT_EQ(outputs[0].data<int8_t>()[0], -100);
  EXPECT_EQ(outputs[0].data<int8_t>()[1], -118);  // -117.5 to even
}

TEST(QuantizeLinearKernelTest, ParallelRunsSplitInsideChannels) {
  // 3 threads over 120000 elements split at 40000 and 80000, inside channels of 20000.
  check_quantize_linear({{2, 3, 20000}, {0.0078125f, 0.015625f, 0.03125f}, {-7, 0, 9}, DataType::kInt8, 1}, 21,
                        /*threads=*/3);
  check_quantize_linear({{120000}, {0.015625f}, {77}, DataType::kUint8}, 22, /*threads=*/3);
}

TEST(QuantizeLinearKernelTest, RejectsPerAxisBeforeOpset13AndMismatchedScale) {
  const Tensor src = random_tensor({2, 3}, 31);
  const Tensor scales = Tensor::from_vector<float>({3}, {0.1f, 0.2f, 0.3f});
  const Tensor zero_points = Tensor::from_vector<uint8_t>({3}, {1, 2, 3});
  const Node node = make_node("QuantizeLinear", 3, 1);
  EXPECT_THROW(run_node(node, {&src, &scales, &zero_points}, 10), Error);
  const Tensor two_scales = Tensor::from_vector<float>({2}, {0.1f, 0.2f});
  EXPECT_THROW(run_node(make_node("QuantizeLinear", 2, 1), {&src, &two_scales}, 13), Error);  // axis 1 has 3
}

// ---------------------------------------------------------------------------------------------
// DequantizeLinear

template <typename Quantized>
Tensor random_quantized(const Shape& shape, uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int64_t> distribution(std::numeric_limits<Quantized>::min(),
                                                      std::numeric_limits<Quantized>::max());
  std::vector<Quantized> values(static_cast<size_t>(element_count(shape)));
  for (Quantized& value : values) value = static_cast<Quantized>(distribution(generator));
  return Tensor::from_vector<Quantized>(shape, values);
}

void check_dequantize_linear(const QuantizeCase& test, uint32_t seed, int threads = 1) {
  Tensor src;
  if (test.dtype == DataType::kUint8) src = random_quantized<uint8_t>(test.shape, seed);
  if (test.dtype == DataType::kInt8) src = random_quantized<int8_t>(test.shape, seed);
  if (test.dtype == DataType::kInt32) src = random_quantized<int32_t>(test.shape, seed);
  const Tensor scale = scale_tensor(test);
  const Tensor zero_point = zero_point_tensor(test);
  const bool has_zero_point = !test.zero_points.empty();
  const Node node = make_node("DequantizeLinear", has_zero_point ? 3 : 2, 1, {int_attribute("axis", test.axis)});
  std::vector<const Tensor*> inputs = {&src, &scale};
  if (has_zero_point) inputs.push_back(&zero_point);
  const std::vector<Tensor> outputs = run_node(node, inputs, test.opset, {}, threads);
  const Tensor& dst = outputs[0];
  ASSERT_EQ(dst.dtype(), DataType::kFloat) << test.describe();
  ASSERT_EQ(dst.shape(), test.shape) << test.describe();
  for (int64_t i = 0; i < src.element_count(); ++i) {
    const size_t channel = static_cast<size_t>(channel_of(test, i));
    const int64_t zero_point_value = has_zero_point ? test.zero_points[channel] : 0;
    // One float rounding of the exact integer difference, then one of the product: exact equality.
    const float expected = static_cast<float>(src.value_as_int64(i) - zero_point_value) * test.scales[channel];
    ASSERT_EQ(dst.data<float>()[i], expected) << test.describe() << " element " << i << " x " << src.value_as_int64(i);
  }
}

TEST(DequantizeLinearKernelTest, PerTensorAndPerAxis) {
  check_dequantize_linear({{7, 3}, {0.02f}, {}, DataType::kUint8}, 1);
  check_dequantize_linear({{7, 3}, {0.02f}, {200}, DataType::kUint8, 1, 10}, 2);
  check_dequantize_linear({{5, 1, 9}, {0.7f}, {-100}, DataType::kInt8}, 3);
  check_dequantize_linear({{3, 4, 5}, {0.5f, 0.1f, 0.3f, 2.0f}, {0, 10, 128, 255}, DataType::kUint8, 1}, 4);
  check_dequantize_linear({{3, 4, 5}, {0.5f, 0.1f, 0.3f, 2.0f, 1e-3f}, {-128, 0, 1, 2, 127}, DataType::kInt8, -1},
                          5);
  check_dequantize_linear({{2, 3, 20000}, {0.5f, 0.1f}, {3, 4}, DataType::kInt8, 0}, 6, /*threads=*/3);
}

TEST(DequantizeLinearKernelTest, Int32WithZeroPointZero) {
  check_dequantize_linear({{6, 5}, {1e-4f}, {}, DataType::kInt32}, 7);
  check_dequantize_linear({{6, 5}, {1e-4f}, {0}, DataType::kInt32}, 8);
  check_dequantize_linear({{6, 5}, {1e-4f, 2e-4f, 3e-4f, 4e-4f, 5e-4f}, {0, 0, 0, 0, 0}, DataType::kInt32, 1}, 9);
  const Tensor src = random_quantized<int32_t>({4}, 10);
  const Tensor scale = Tensor::scalar<float>(0.5f);
  const Tensor zero_point = Tensor::scalar<int32_t>(3);
  EXPECT_THROW(run_node(make_node("DequantizeLinear", 3, 1), {&src, &scale, &zero_point}, 13), Error);
}

TEST(DequantizeLinearKernelTest, Float16ScaleGivesFloat16Output) {
  const Tensor src = random_quantized<int8_t>({9}, 11);
  const Float16 scale_value = float_to_half(0.0371f);
  const Tensor scale = Tensor::scalar<Float16>(scale_value);
  const Tensor zero_point = Tensor::scalar<int8_t>(-9);
  const std::vector<Tensor> outputs = run_node(make_node("DequantizeLinear", 3, 1), {&src, &scale, &zero_point}, 19);
  ASSERT_EQ(outputs[0].dtype(), DataType::kFloat16);
  for (int64_t i = 0; i < src.element_count(); ++i) {
    const float expected = static_cast<float>(src.value_as_int64(i) + 9) * half_to_float(scale_value);
    ASSERT_EQ(outputs[0].data<Float16>()[i].bits, float_to_half(expected).bits) << "element " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// DynamicQuantizeLinear

void check_dynamic_quantize_linear(const Tensor& src, const std::string& context, int threads = 1) {
  const std::vector<Tensor> outputs = run_node(make_node("DynamicQuantizeLinear", 1, 3), {&src}, 11, {}, threads);
  // The ONNX definition: the range widened to include 0, scale over 255 steps, zero point rounded
  // after clamping to [0, 255]. An empty range (all zeros) uses scale 1, as ONNX Runtime does.
  const float* values = src.data<float>();
  float minimum = 0;
  float maximum = 0;
  for (int64_t i = 0; i < src.element_count(); ++i) {
    minimum = std::min(minimum, values[i]);
    maximum = std::max(maximum, values[i]);
  }
  const float scale = maximum == minimum ? 1.0f : (maximum - minimum) / 255.0f;
  const float initial_zero_point = std::clamp(0.0f - minimum / scale, 0.0f, 255.0f);
  const int32_t zero_point = static_cast<int32_t>(std::nearbyint(initial_zero_point));
  ASSERT_EQ(outputs[1].shape(), Shape{}) << context;
  ASSERT_EQ(outputs[2].shape(), Shape{}) << context;
  ASSERT_EQ(outputs[1].data<float>()[0], scale) << context;
  ASSERT_EQ(outputs[2].data<uint8_t>()[0], zero_point) << context << " scale " << scale;
  ASSERT_EQ(outputs[0].dtype(), DataType::kUint8) << context;
  ASSERT_EQ(outputs[0].shape(), src.shape()) << context;
  for (int64_t i = 0; i < src.element_count(); ++i) {
    ASSERT_EQ(outputs[0].data<uint8_t>()[i], naive_quantize<uint8_t>(values[i] / scale, zero_point))
        << context << " element " << i << " x " << values[i] << " scale " << scale << " zero point " << zero_point;
  }
}

TEST(DynamicQuantizeLinearKernelTest, RangesThatIncludeZero) {
  check_dynamic_quantize_linear(random_tensor({3, 7}, 1, -1.3f, 2.9f), "mixed signs");
  check_dynamic_quantize_linear(random_tensor({13}, 2, 0.5f, 3.0f), "all positive: minimum becomes 0");
  check_dynamic_quantize_linear(random_tensor({2, 5}, 3, -4.0f, -1.0f), "all negative: maximum becomes 0");
  check_dynamic_quantize_linear(Tensor(DataType::kFloat, {4, 3}), "all zeros");
  check_dynamic_quantize_linear(random_tensor({5, 40001}, 4, -0.7f, 0.2f), "large, 3 threads", 3);
  // Exact ties: the range [-5, 10.9375] spans 255 * 2^-4, so the scale is exactly 0.0625, the zero
  // point exactly 80, and x = (k + 0.5) * 0.0625 divides to exactly k + 0.5.
  std::vector<float> tied = {-5.0f, 10.9375f};
  for (int k = -80; k < 175; ++k) tied.push_back((static_cast<float>(k) + 0.5f) * 0.0625f);
  check_dynamic_quantize_linear(Tensor::from_vector<float>({static_cast<int64_t>(tied.size())}, tied), "exact ties");
}

// ---------------------------------------------------------------------------------------------
// The per-tensor QuantizeLinear / DequantizeLinear kernels registered as "dnnl": exact against the
// reference on random data, exact .5 ties, saturation, both layouts.

// Random floats in [-3, 3] mixed with values that sit exactly on ties (k + 0.5) * scale and far
// outside the range (saturation).
Tensor values_with_ties(const Shape& shape, float scale, uint32_t seed) {
  Tensor tensor = random_tensor(shape, seed, -3.0f, 3.0f);
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> steps(-300, 300);
  float* data = tensor.data<float>();
  for (int64_t i = 0; i < tensor.element_count(); i += 3) data[i] = (static_cast<float>(steps(generator)) + 0.5f) * scale;
  for (int64_t i = 1; i < tensor.element_count(); i += 17) data[i] = (i % 2 ? 1000.0f : -1000.0f);
  return tensor;
}

TEST(PerTensorQuantizeKernelTest, QuantizeMatchesReferenceExactly) {
  uint32_t seed = 500;
  for (DataType dtype : {DataType::kUint8, DataType::kInt8}) {
    for (float scale_value : {0.015625f, 0.013f, 0.1f}) {
      for (int32_t zero : dtype == DataType::kUint8 ? std::vector<int32_t>{0, 128, 3} : std::vector<int32_t>{0, -7, 100}) {
        const Tensor src = values_with_ties({2, 3, 37, 41}, scale_value, seed++);
        const Tensor scale = Tensor::scalar<float>(scale_value);
        Tensor zero_point(dtype, {});
        if (dtype == DataType::kUint8) zero_point.data<uint8_t>()[0] = static_cast<uint8_t>(zero);
        else zero_point.data<int8_t>()[0] = static_cast<int8_t>(zero);
        const Node node = make_node("QuantizeLinear", 3, 1);
        const std::vector<Tensor> expected = run_node(node, {&src, &scale, &zero_point}, 13, {1, 2});
        std::string detail;
        const std::vector<Tensor> actual = run_node(node, {&src, &scale, &zero_point}, 13, {1, 2}, 2, "dnnl", &detail);
        EXPECT_EQ(detail, "per-tensor loop");
        ASSERT_EQ(actual[0].dtype(), dtype);
        int64_t saturated = 0;
        for (int64_t i = 0; i < src.element_count(); ++i) {
          ASSERT_EQ(actual[0].value_as_int64(i), expected[0].value_as_int64(i))
              << dtype_name(dtype) << " scale " << scale_value << " zero point " << zero << " x " << src.data<float>()[i];
          saturated += actual[0].value_as_int64(i) == (dtype == DataType::kUint8 ? 255 : 127);
        }
        EXPECT_GT(saturated, 0);
        // Channels-last input: the output keeps the layout and the (elementwise) values.
        ThreadPool pool(1);
        const Tensor channels_last = to_channels_last(src, pool);
        const std::vector<Tensor> converted =
            run_node(node, {&channels_last, &scale, &zero_point}, 13, {1, 2}, 2, "dnnl");
        ASSERT_EQ(converted[0].layout(), Layout::kChannelsLast);
        const Tensor plain = to_plain(converted[0], pool);
        for (int64_t i = 0; i < src.element_count(); ++i)
          ASSERT_EQ(plain.value_as_int64(i), expected[0].value_as_int64(i)) << "channels-last, element " << i;
      }
    }
  }
}

TEST(PerTensorQuantizeKernelTest, DequantizeMatchesReferenceExactly) {
  uint32_t seed = 600;
  for (DataType dtype : {DataType::kUint8, DataType::kInt8}) {
    const Tensor src = dtype == DataType::kUint8 ? random_quantized<uint8_t>({3, 5, 17, 19}, seed++)
                                                 : random_quantized<int8_t>({3, 5, 17, 19}, seed++);
    const Tensor scale = Tensor::scalar<float>(0.0173f);
    Tensor zero_point(dtype, {});
    if (dtype == DataType::kUint8) zero_point.data<uint8_t>()[0] = 131;
    else zero_point.data<int8_t>()[0] = -9;
    const Node node = make_node("DequantizeLinear", 3, 1);
    const std::vector<Tensor> expected = run_node(node, {&src, &scale, &zero_point}, 13, {1, 2});
    std::string detail;
    const std::vector<Tensor> actual = run_node(node, {&src, &scale, &zero_point}, 13, {1, 2}, 2, "dnnl", &detail);
    EXPECT_EQ(detail, "per-tensor loop");
    for (int64_t i = 0; i < src.element_count(); ++i)
      ASSERT_EQ(actual[0].data<float>()[i], expected[0].data<float>()[i]) << dtype_name(dtype) << " element " << i;
    ThreadPool pool(1);
    const Tensor channels_last = to_channels_last(src, pool);
    const std::vector<Tensor> converted = run_node(node, {&channels_last, &scale, &zero_point}, 13, {1, 2}, 2, "dnnl");
    ASSERT_EQ(converted[0].layout(), Layout::kChannelsLast);
    const Tensor plain = to_plain(converted[0], pool);
    for (int64_t i = 0; i < src.element_count(); ++i)
      ASSERT_EQ(plain.data<float>()[i], expected[0].data<float>()[i]) << "channels-last, element " << i;
  }
}

// Long vectors whose lengths leave every possible tail after the vector loops' 8-, 16- and
// 32-element steps, split over two threads at odd boundaries: every element exact.
TEST(PerTensorQuantizeKernelTest, LongVectorsWithTailsMatchReferenceExactly) {
  uint32_t seed = 800;
  for (const int64_t length : {int64_t{1}, int64_t{7}, int64_t{31}, int64_t{33}, int64_t{16389}, int64_t{40000 + 61},
                               int64_t{131072 + 61}}) {  // the last one splits over two threads
    for (DataType dtype : {DataType::kUint8, DataType::kInt8}) {
      const float scale_value = 0.0217f;
      const int32_t zero = dtype == DataType::kUint8 ? 117 : -5;
      const Tensor src = values_with_ties({length}, scale_value, seed++);
      const Tensor scale = Tensor::scalar<float>(scale_value);
      Tensor zero_point(dtype, {});
      if (dtype == DataType::kUint8) zero_point.data<uint8_t>()[0] = static_cast<uint8_t>(zero);
      else zero_point.data<int8_t>()[0] = static_cast<int8_t>(zero);
      const std::string context = concat(dtype_name(dtype), " length ", length);

      const Node quantize = make_node("QuantizeLinear", 3, 1);
      const std::vector<Tensor> expected = run_node(quantize, {&src, &scale, &zero_point}, 13, {1, 2});
      const std::vector<Tensor> actual = run_node(quantize, {&src, &scale, &zero_point}, 13, {1, 2}, 2, "dnnl");
      ASSERT_EQ(actual[0].dtype(), dtype) << context;
      for (int64_t i = 0; i < length; ++i)
        ASSERT_EQ(actual[0].value_as_int64(i), expected[0].value_as_int64(i))
            << context << " element " << i << " x " << src.data<float>()[i];

      const Node dequantize = make_node("DequantizeLinear", 3, 1);
      const std::vector<Tensor> expected_real = run_node(dequantize, {&expected[0], &scale, &zero_point}, 13, {1, 2});
      const std::vector<Tensor> actual_real =
          run_node(dequantize, {&expected[0], &scale, &zero_point}, 13, {1, 2}, 2, "dnnl");
      for (int64_t i = 0; i < length; ++i)
        ASSERT_EQ(actual_real[0].data<float>()[i], expected_real[0].data<float>()[i]) << context << " element " << i;
    }
  }
}

TEST(PerTensorQuantizeKernelTest, PerAxisFallsBackToReference) {
  const Tensor src = random_tensor({2, 3, 4}, 700);
  const Tensor scales = Tensor::from_vector<float>({3}, {0.1f, 0.2f, 0.3f});
  const Tensor zero_points = Tensor::from_vector<uint8_t>({3}, {1, 2, 3});
  const Node node = make_node("QuantizeLinear", 3, 1);
  // A run-time per-axis scale reaches the kernel, which hands it to the reference.
  std::string detail;
  const std::vector<Tensor> actual = run_node(node, {&src, &scales, &zero_points}, 13, {}, 1, "dnnl", &detail);
  EXPECT_NE(detail.find("reference fallback"), std::string::npos) << detail;
  const std::vector<Tensor> expected = run_node(node, {&src, &scales, &zero_points}, 13);
  for (int64_t i = 0; i < src.element_count(); ++i) EXPECT_EQ(actual[0].value_as_int64(i), expected[0].value_as_int64(i));
}

}  // namespace
}  // namespace octet
