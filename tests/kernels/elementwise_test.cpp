// Tests of the elementwise reference kernels against formulas evaluated independently here (in
// double where precision matters) and a naive multi-index broadcast.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/float16.h"
#include "kernel_test_util.h"

namespace octet {
namespace {

using testing::float_attribute;
using testing::int_attribute;
using testing::make_node;
using testing::run_node;
using testing::string_attribute;

// Float results computed with float math are compared with double formulas: a few float ulps.
constexpr double kFloatTolerance = 2e-6;
// Results rounded to float16 may differ from the double formula by one half ulp (2^-11 relative).
constexpr double kHalfTolerance = 1e-3;

// A tensor of type T with uniform random values in [low, high] (integers: inclusive range).
template <typename T>
Tensor random_typed(const Shape& shape, uint32_t seed, double low, double high) {
  Tensor tensor(dtype_of<T>(), shape);
  std::mt19937 generator(seed);
  T* data = tensor.data<T>();
  if constexpr (std::is_same_v<T, bool>) {
    std::bernoulli_distribution distribution(0.5);
    for (int64_t i = 0; i < tensor.element_count(); ++i) data[i] = distribution(generator);
  } else if constexpr (std::is_floating_point_v<T>) {
    std::uniform_real_distribution<double> distribution(low, high);
    for (int64_t i = 0; i < tensor.element_count(); ++i) data[i] = static_cast<T>(distribution(generator));
  } else {
    std::uniform_int_distribution<int64_t> distribution(static_cast<int64_t>(low), static_cast<int64_t>(high));
    for (int64_t i = 0; i < tensor.element_count(); ++i) data[i] = static_cast<T>(distribution(generator));
  }
  return tensor;
}

Tensor to_half(const Tensor& src) {
  Tensor dst(DataType::kFloat16, src.shape());
  for (int64_t i = 0; i < src.element_count(); ++i) dst.data<Float16>()[i] = float_to_half(src.data<float>()[i]);
  return dst;
}

// Index of the element of a tensor of `shape` that output multi-index `index` reads under numpy
// broadcasting (shapes aligned at the right, size-1 dimensions repeated).
int64_t broadcast_source_index(const std::vector<int64_t>& index, const Shape& shape) {
  const size_t offset = index.size() - shape.size();
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + (shape[d] == 1 ? 0 : index[offset + d]);
  return flat;
}

std::vector<int64_t> unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

// expected[i] = function(a[...], b[...]) over `output_shape`, reading a as `a_shape`, b as `b_shape`.
template <typename A, typename B, typename Out>
Tensor naive_binary(const Tensor& a, const Shape& a_shape, const Tensor& b, const Shape& b_shape,
                    const Shape& output_shape, const std::function<Out(A, B)>& function) {
  Tensor expected(dtype_of<Out>(), output_shape);
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    const std::vector<int64_t> index = unravel(i, output_shape);
    expected.data<Out>()[i] = function(static_cast<const A*>(a.raw_data())[broadcast_source_index(index, a_shape)],
                                       static_cast<const B*>(b.raw_data())[broadcast_source_index(index, b_shape)]);
  }
  return expected;
}

// Same type and shape and |actual - expected| <= tolerance * (1 + |expected|); NaN matches NaN.
void expect_close(const Tensor& actual, const Tensor& expected, double tolerance, const std::string& context) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << context;
  ASSERT_EQ(actual.shape(), expected.shape()) << context << ": actual " << shape_to_string(actual.shape())
                                              << ", expected " << shape_to_string(expected.shape());
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    const double a = actual.value_as_double(i);
    const double e = expected.value_as_double(i);
    if (std::isnan(e)) {
      ASSERT_TRUE(std::isnan(a)) << context << ": element " << i << " is " << a << ", expected NaN";
    } else if (std::isinf(e)) {
      ASSERT_EQ(a, e) << context << ": element " << i;
    } else {
      ASSERT_LE(std::fabs(a - e), tolerance * (1 + std::fabs(e)))
          << context << ": element " << i << " is " << a << ", expected " << e;
    }
  }
}

// Bit-exact equality (integers, bools, 16-bit float patterns).
void expect_identical(const Tensor& actual, const Tensor& expected, const std::string& context) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << context;
  ASSERT_EQ(actual.shape(), expected.shape()) << context << ": actual " << shape_to_string(actual.shape())
                                              << ", expected " << shape_to_string(expected.shape());
  const size_t element_size = dtype_size(expected.dtype());
  const auto* actual_bytes = static_cast<const unsigned char*>(actual.raw_data());
  const auto* expected_bytes = static_cast<const unsigned char*>(expected.raw_data());
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    ASSERT_EQ(std::memcmp(actual_bytes + i * element_size, expected_bytes + i * element_size, element_size), 0)
        << context << ": element " << i << " is " << actual.value_as_double(i) << ", expected "
        << expected.value_as_double(i);
  }
}

Tensor run_one(const Node& node, const std::vector<const Tensor*>& inputs, int64_t opset = 17, int threads = 1) {
  return std::move(run_node(node, inputs, opset, {}, threads)[0]);
}

// ---- Unary -------------------------------------------------------------------------------------

struct UnaryCase {
  std::string op;
  std::vector<Attribute> attributes;
  std::function<double(double)> formula;
  double low;
  double high;
  // Float32 attributes (or defaults) carry float rounding (~6e-8 relative) into double results.
  bool float_parameters = false;
};

std::vector<UnaryCase> unary_cases() {
  const double selu_alpha = 1.6732632423543772848170429916717;
  const double selu_gamma = 1.0507009873554804934193349852946;
  return {
      {"Abs", {}, [](double x) { return std::fabs(x); }, -5, 5},
      {"Neg", {}, [](double x) { return -x; }, -5, 5},
      {"Sign", {}, [](double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }, -5, 5},
      {"Sqrt", {}, [](double x) { return std::sqrt(x); }, 0, 9},
      {"Exp", {}, [](double x) { return std::exp(x); }, -5, 5},
      {"Log", {}, [](double x) { return std::log(x); }, 0.01, 10},
      {"Erf", {}, [](double x) { return std::erf(x); }, -3, 3},
      {"Tanh", {}, [](double x) { return std::tanh(x); }, -4, 4},
      {"Sigmoid", {}, [](double x) { return 1 / (1 + std::exp(-x)); }, -20, 20},
      {"Reciprocal", {}, [](double x) { return 1 / x; }, 0.1, 4},
      {"Floor", {}, [](double x) { return std::floor(x); }, -5, 5},
      {"Ceil", {}, [](double x) { return std::ceil(x); }, -5, 5},
      {"Sin", {}, [](double x) { return std::sin(x); }, -3, 3},
      {"Cos", {}, [](double x) { return std::cos(x); }, -3, 3},
      {"Tan", {}, [](double x) { return std::tan(x); }, -1.4, 1.4},
      {"Asin", {}, [](double x) { return std::asin(x); }, -0.99, 0.99},
      {"Acos", {}, [](double x) { return std::acos(x); }, -0.99, 0.99},
      {"Atan", {}, [](double x) { return std::atan(x); }, -5, 5},
      {"Sinh", {}, [](double x) { return std::sinh(x); }, -3, 3},
      {"Cosh", {}, [](double x) { return std::cosh(x); }, -3, 3},
      {"Asinh", {}, [](double x) { return std::asinh(x); }, -5, 5},
      {"Acosh", {}, [](double x) { return std::acosh(x); }, 1.01, 5},
      {"Atanh", {}, [](double x) { return std::atanh(x); }, -0.95, 0.95},
      {"Softplus", {}, [](double x) { return std::log(1 + std::exp(x)); }, -20, 20},
      {"Softsign", {}, [](double x) { return x / (1 + std::fabs(x)); }, -5, 5},
      {"Mish", {}, [](double x) { return x * std::tanh(std::log(1 + std::exp(x))); }, -10, 10},
      {"Relu", {}, [](double x) { return x > 0 ? x : 0; }, -5, 5},
      {"LeakyRelu", {float_attribute("alpha", 0.3f)}, [](double x) { return x >= 0 ? x : 0.3 * x; }, -5, 5, true},
      {"LeakyRelu", {}, [](double x) { return x >= 0 ? x : 0.01 * x; }, -5, 5, true},
      {"Elu", {float_attribute("alpha", 0.7f)}, [](double x) { return x >= 0 ? x : 0.7 * (std::exp(x) - 1); }, -5, 5, true},
      {"Selu", {}, [=](double x) { return x > 0 ? selu_gamma * x : selu_gamma * selu_alpha * (std::exp(x) - 1); }, -5, 5, true},
      {"Celu",
       {float_attribute("alpha", 2.0f)},
       [](double x) { return std::max(0.0, x) + std::min(0.0, 2 * (std::exp(x / 2) - 1)); },
       -5,
       5},
      {"ThresholdedRelu", {float_attribute("alpha", 0.4f)}, [](double x) { return x > 0.4 ? x : 0; }, -2, 2, true},
      {"HardSigmoid",
       {float_attribute("alpha", 0.3f), float_attribute("beta", 0.4f)},
       [](double x) { return std::max(0.0, std::min(1.0, 0.3 * x + 0.4)); },
       -5,
       5,
       true},
      {"HardSwish", {}, [](double x) { return x * std::max(0.0, std::min(1.0, (x + 3) / 6)); }, -5, 5},
      {"Shrink",
       {float_attribute("bias", 0.2f), float_attribute("lambd", 0.6f)},
       [](double x) { return x < -0.6 ? x + 0.2 : x > 0.6 ? x - 0.2 : 0; },
       -2,
       2,
       true},
  };
}

TEST(ElementwiseUnary, FloatAndDoubleMatchFormulas) {
  uint32_t seed = 1;
  for (const UnaryCase& test : unary_cases()) {
    const Node node = make_node(test.op, 1, 1, test.attributes);
    const std::string context = test.op + (test.attributes.empty() ? "" : " with attributes");
    const Tensor src = random_typed<float>({2, 3, 5, 7}, seed++, test.low, test.high);
    Tensor expected(DataType::kFloat, src.shape());
    for (int64_t i = 0; i < src.element_count(); ++i)
      expected.data<float>()[i] = static_cast<float>(test.formula(src.data<float>()[i]));
    expect_close(run_one(node, {&src}), expected, kFloatTolerance, context + " float 2x3x5x7");

    const Tensor src_double = random_typed<double>({13}, seed++, test.low, test.high);
    Tensor expected_double(DataType::kDouble, src_double.shape());
    for (int64_t i = 0; i < src_double.element_count(); ++i)
      expected_double.data<double>()[i] = test.formula(src_double.data<double>()[i]);
    const double double_tolerance = test.float_parameters ? 1e-7 : 1e-12;
    expect_close(run_one(node, {&src_double}), expected_double, double_tolerance, context + " double 13");
  }
}

TEST(ElementwiseUnary, Float16IsComputedInFloat) {
  for (const std::string op : {"Sigmoid", "Abs", "Exp"}) {
    const Tensor src = to_half(random_typed<float>({4, 9}, 5, -3, 3));
    const Tensor actual = run_one(make_node(op, 1, 1), {&src});
    ASSERT_EQ(actual.dtype(), DataType::kFloat16) << op;
    for (int64_t i = 0; i < src.element_count(); ++i) {
      const double x = src.value_as_double(i);
      const double expected = op == "Sigmoid" ? 1 / (1 + std::exp(-x)) : op == "Abs" ? std::fabs(x) : std::exp(x);
      ASSERT_NEAR(actual.value_as_double(i), expected, kHalfTolerance * (1 + std::fabs(expected))) << op << " element " << i;
    }
  }
}

TEST(ElementwiseUnary, ExtremeInputsStayFinite) {
  const Tensor src = Tensor::from_vector<float>({4}, {-200.0f, -90.0f, 90.0f, 200.0f});
  const Tensor sigmoid = run_one(make_node("Sigmoid", 1, 1), {&src});
  const Tensor softplus = run_one(make_node("Softplus", 1, 1), {&src});
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(std::isfinite(sigmoid.data<float>()[i])) << "Sigmoid(" << src.data<float>()[i] << ")";
    EXPECT_TRUE(std::isfinite(softplus.data<float>()[i])) << "Softplus(" << src.data<float>()[i] << ")";
  }
  EXPECT_FLOAT_EQ(sigmoid.data<float>()[3], 1.0f);
  EXPECT_FLOAT_EQ(softplus.data<float>()[3], 200.0f);
  EXPECT_GT(sigmoid.data<float>()[1], 0.0f);  // e^-90 ~ 8e-40 is a float subnormal, not 0
}

TEST(ElementwiseUnary, IntegerAbsNegSignWrap) {
  const Tensor src = Tensor::from_vector<int8_t>({5}, {-128, -5, 0, 7, 127});
  expect_identical(run_one(make_node("Abs", 1, 1), {&src}), Tensor::from_vector<int8_t>({5}, {-128, 5, 0, 7, 127}), "Abs int8");
  expect_identical(run_one(make_node("Neg", 1, 1), {&src}), Tensor::from_vector<int8_t>({5}, {-128, 5, 0, -7, -127}), "Neg int8");
  expect_identical(run_one(make_node("Sign", 1, 1), {&src}), Tensor::from_vector<int8_t>({5}, {-1, -1, 0, 1, 1}), "Sign int8");
  const Tensor wide = Tensor::from_vector<int64_t>({3}, {-(int64_t{1} << 40), 0, 3});
  expect_identical(run_one(make_node("Abs", 1, 1), {&wide}), Tensor::from_vector<int64_t>({3}, {int64_t{1} << 40, 0, 3}), "Abs int64");
  const Tensor unsigned_src = Tensor::from_vector<uint8_t>({3}, {0, 3, 255});
  expect_identical(run_one(make_node("Sign", 1, 1), {&unsigned_src}), Tensor::from_vector<uint8_t>({3}, {0, 1, 1}), "Sign uint8");
  const Tensor relu_src = Tensor::from_vector<int32_t>({3}, {-4, 0, 9});
  expect_identical(run_one(make_node("Relu", 1, 1), {&relu_src}), Tensor::from_vector<int32_t>({3}, {0, 0, 9}), "Relu int32");
}

TEST(ElementwiseUnary, RoundHalvesToEven) {
  const Tensor src = Tensor::from_vector<float>({9}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4f, 2.6f, -7.0f});
  expect_close(run_one(make_node("Round", 1, 1), {&src}),
               Tensor::from_vector<float>({9}, {0, 2, 2, -0.0f, -2, -2, 2, 3, -7}), 0, "Round");
}

TEST(ElementwiseUnary, IsNaNIsInfAndNot) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor src = Tensor::from_vector<float>({5}, {1.0f, std::nanf(""), inf, -inf, 0.0f});
  expect_identical(run_one(make_node("IsNaN", 1, 1), {&src}), Tensor::from_vector<bool>({5}, {false, true, false, false, false}), "IsNaN");
  expect_identical(run_one(make_node("IsInf", 1, 1), {&src}), Tensor::from_vector<bool>({5}, {false, false, true, true, false}), "IsInf");
  expect_identical(run_one(make_node("IsInf", 1, 1, {int_attribute("detect_negative", 0)}), {&src}),
                   Tensor::from_vector<bool>({5}, {false, false, true, false, false}), "IsInf positive only");
  expect_identical(run_one(make_node("IsInf", 1, 1, {int_attribute("detect_positive", 0)}), {&src}),
                   Tensor::from_vector<bool>({5}, {false, false, false, true, false}), "IsInf negative only");
  const Tensor flags = Tensor::from_vector<bool>({3}, {true, false, true});
  expect_identical(run_one(make_node("Not", 1, 1), {&flags}), Tensor::from_vector<bool>({3}, {false, true, false}), "Not");
}

TEST(ElementwiseUnary, KeepsChannelsLastLayout) {
  Tensor src = random_typed<float>({1, 3, 2, 2}, 9, -1, 1);
  src.set_layout(Layout::kChannelsLast);
  EXPECT_EQ(run_one(make_node("Relu", 1, 1), {&src}).layout(), Layout::kChannelsLast);
}

// ---- Clip --------------------------------------------------------------------------------------

TEST(ElementwiseClip, AttributesBeforeOpset11) {
  const Tensor src = random_typed<float>({3, 17}, 11, -3, 3);
  const Node node = make_node("Clip", 1, 1, {float_attribute("min", -0.5f), float_attribute("max", 1.25f)});
  Tensor expected(DataType::kFloat, src.shape());
  for (int64_t i = 0; i < src.element_count(); ++i)
    expected.data<float>()[i] = std::min(1.25f, std::max(-0.5f, src.data<float>()[i]));
  expect_close(run_one(node, {&src}, 6), expected, 0, "Clip opset 6 [-0.5, 1.25]");
}

TEST(ElementwiseClip, OptionalInputsFromOpset11) {
  const Tensor src = random_typed<int8_t>({5, 7}, 12, -128, 127);
  const Tensor low = Tensor::scalar<int8_t>(-20);
  const Tensor high = Tensor::scalar<int8_t>(33);
  const Node node = make_node("Clip", 3, 1);
  Tensor both(DataType::kInt8, src.shape());
  Tensor only_max(DataType::kInt8, src.shape());
  for (int64_t i = 0; i < src.element_count(); ++i) {
    const int8_t x = src.data<int8_t>()[i];
    both.data<int8_t>()[i] = x < -20 ? -20 : x > 33 ? 33 : x;
    only_max.data<int8_t>()[i] = x > 33 ? 33 : x;
  }
  expect_identical(run_one(node, {&src, &low, &high}, 13), both, "Clip int8 [-20, 33]");
  expect_identical(run_one(node, {&src, nullptr, &high}, 13), only_max, "Clip int8 max 33 only");
  expect_identical(run_one(make_node("Clip", 1, 1), {&src}, 13), src, "Clip without bounds");
  // min > max: everything becomes max.
  const Tensor high_below_low = Tensor::scalar<int8_t>(-30);
  Tensor all_max(DataType::kInt8, src.shape());
  for (int64_t i = 0; i < src.element_count(); ++i) all_max.data<int8_t>()[i] = -30;
  expect_identical(run_one(node, {&src, &low, &high_below_low}, 13), all_max, "Clip min > max");
}

TEST(ElementwiseClip, KeepsNaNAndHandlesFloat16) {
  const Tensor src = Tensor::from_vector<float>({4}, {std::nanf(""), -5.0f, 0.25f, 5.0f});
  const Tensor low = Tensor::scalar<float>(-1.0f);
  const Tensor high = Tensor::scalar<float>(1.0f);
  expect_close(run_one(make_node("Clip", 3, 1), {&src, &low, &high}),
               Tensor::from_vector<float>({4}, {std::nanf(""), -1.0f, 0.25f, 1.0f}), 0, "Clip float with NaN");
  const Tensor half_src = to_half(src);
  const Tensor half_low = to_half(low);
  const Tensor half_high = to_half(high);
  expect_close(run_one(make_node("Clip", 3, 1), {&half_src, &half_low, &half_high}),
               to_half(Tensor::from_vector<float>({4}, {std::nanf(""), -1.0f, 0.25f, 1.0f})), 0, "Clip float16");
}

// ---- Binary broadcasting -----------------------------------------------------------------------

struct ShapePair {
  Shape a;
  Shape b;
  Shape output;
};

// Same shapes, scalars, per-channel bias, last-dim, both sides broadcast, rank differences, zero
// sizes, and shapes large enough to be split across threads mid-row.
std::vector<ShapePair> broadcast_sweep() {
  return {
      {{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}},
      {{2, 3, 4, 5}, {}, {2, 3, 4, 5}},
      {{}, {2, 3, 4, 5}, {2, 3, 4, 5}},
      {{}, {}, {}},
      {{2, 3, 4, 5}, {3, 1, 1}, {2, 3, 4, 5}},
      {{3, 1, 1}, {2, 3, 4, 5}, {2, 3, 4, 5}},
      {{2, 3, 4, 5}, {5}, {2, 3, 4, 5}},
      {{2, 3, 4, 5}, {2, 3, 4, 1}, {2, 3, 4, 5}},
      {{2, 1, 4, 1}, {1, 3, 1, 5}, {2, 3, 4, 5}},
      {{3, 1, 5}, {4, 1}, {3, 4, 5}},
      {{7, 1}, {1, 11}, {7, 11}},
      {{1, 1}, {1}, {1, 1}},
      {{6}, {1, 6}, {1, 6}},
      {{2, 0, 3}, {3}, {2, 0, 3}},
      {{2, 64, 32, 33}, {64, 1, 1}, {2, 64, 32, 33}},
      {{1, 100003}, {1, 100003}, {1, 100003}},
      {{100003}, {}, {100003}},
      {{3, 40000}, {3, 1}, {3, 40000}},
      {{512, 257}, {257}, {512, 257}},
      {{1, 300, 1}, {250, 1, 3}, {250, 300, 3}},
  };
}

TEST(ElementwiseBinary, SubBroadcastSweepMatchesNaiveIndexing) {
  uint32_t seed = 100;
  for (const ShapePair& shapes : broadcast_sweep()) {
    const Tensor a = random_typed<float>(shapes.a, seed++, -2, 2);
    const Tensor b = random_typed<float>(shapes.b, seed++, -2, 2);
    const Tensor expected = naive_binary<float, float, float>(a, shapes.a, b, shapes.b, shapes.output,
                                                              [](float x, float y) { return x - y; });
    for (int threads : {1, 3}) {
      const std::string context = "Sub " + shape_to_string(shapes.a) + " - " + shape_to_string(shapes.b) + " with " +
                                  std::to_string(threads) + " threads";
      expect_identical(run_one(make_node("Sub", 2, 1), {&a, &b}, 17, threads), expected, context);
    }
  }
}

TEST(ElementwiseBinary, IntegerArithmeticIsExactAndWraps) {
  const Tensor a = random_typed<int32_t>({4, 1, 6}, 7, -1000, 1000);
  const Tensor b = random_typed<int32_t>({5, 1}, 8, -50, 50);
  const Shape output{4, 5, 6};
  expect_identical(run_one(make_node("Add", 2, 1), {&a, &b}),
                   naive_binary<int32_t, int32_t, int32_t>(a, a.shape(), b, b.shape(), output, [](int32_t x, int32_t y) { return x + y; }),
                   "Add int32");
  expect_identical(run_one(make_node("Mul", 2, 1), {&a, &b}),
                   naive_binary<int32_t, int32_t, int32_t>(a, a.shape(), b, b.shape(), output, [](int32_t x, int32_t y) { return x * y; }),
                   "Mul int32");
  const Tensor big = Tensor::from_vector<int8_t>({3}, {100, -100, 127});
  const Tensor step = Tensor::from_vector<int8_t>({3}, {100, 100, 1});
  expect_identical(run_one(make_node("Add", 2, 1), {&big, &step}), Tensor::from_vector<int8_t>({3}, {-56, 0, -128}), "Add int8 overflow");
  const Tensor lowest = Tensor::scalar<int32_t>(std::numeric_limits<int32_t>::lowest());
  const Tensor minus_one = Tensor::scalar<int32_t>(-1);
  expect_identical(run_one(make_node("Div", 2, 1), {&lowest, &minus_one}), lowest, "Div lowest / -1");
  const Tensor u16 = Tensor::from_vector<uint16_t>({2}, {65535, 300});
  expect_identical(run_one(make_node("Mul", 2, 1), {&u16, &u16}), Tensor::from_vector<uint16_t>({2}, {1, 24464}), "Mul uint16 wraps");
}

// Divisors in [-7, 7] without 0.
Tensor nonzero_divisors(const Shape& shape, uint32_t seed) {
  Tensor divisors = random_typed<int32_t>(shape, seed, -7, 6);
  for (int64_t i = 0; i < divisors.element_count(); ++i)
    if (divisors.data<int32_t>()[i] == 0) divisors.data<int32_t>()[i] = 7;
  return divisors;
}

TEST(ElementwiseBinary, IntegerDivTruncatesAndModFollowsSignRules) {
  const Tensor a = random_typed<int32_t>({3, 8}, 21, -40, 40);
  const Tensor b = nonzero_divisors({8}, 22);
  const Shape output = a.shape();
  expect_identical(run_one(make_node("Div", 2, 1), {&a, &b}),
                   naive_binary<int32_t, int32_t, int32_t>(a, a.shape(), b, b.shape(), output, [](int32_t x, int32_t y) {
                     return static_cast<int32_t>(std::trunc(static_cast<double>(x) / y));
                   }),
                   "Div int32");
  // fmod = 0: the result has the divisor's sign: x - floor(x / y) * y.
  expect_identical(run_one(make_node("Mod", 2, 1), {&a, &b}),
                   naive_binary<int32_t, int32_t, int32_t>(a, a.shape(), b, b.shape(), output, [](int32_t x, int32_t y) {
                     return static_cast<int32_t>(x - std::floor(static_cast<double>(x) / y) * y);
                   }),
                   "Mod int32 fmod=0");
  expect_identical(run_one(make_node("Mod", 2, 1, {int_attribute("fmod", 1)}), {&a, &b}),
                   naive_binary<int32_t, int32_t, int32_t>(a, a.shape(), b, b.shape(), output, [](int32_t x, int32_t y) {
                     return static_cast<int32_t>(std::fmod(static_cast<double>(x), static_cast<double>(y)));
                   }),
                   "Mod int32 fmod=1");
  const Tensor fa = random_typed<float>({3, 8}, 23, -10, 10);
  const Tensor fb = random_typed<float>({8}, 24, 0.5, 3);
  expect_close(run_one(make_node("Mod", 2, 1, {int_attribute("fmod", 1)}), {&fa, &fb}),
               naive_binary<float, float, float>(fa, fa.shape(), fb, fb.shape(), output,
                                                 [](float x, float y) { return static_cast<float>(std::fmod(double(x), double(y))); }),
               0, "Mod float fmod=1");
  const Tensor zero = Tensor::scalar<int32_t>(0);
  EXPECT_THROW(run_one(make_node("Div", 2, 1), {&a, &zero}), Error);
  EXPECT_THROW(run_one(make_node("Mod", 2, 1), {&a, &zero}), Error);
}

TEST(ElementwiseBinary, Float16ArithmeticRoundsOnce) {
  const Tensor a = to_half(random_typed<float>({6, 5}, 31, -4, 4));
  const Tensor b = to_half(random_typed<float>({5}, 32, -4, 4));
  Tensor expected(DataType::kFloat16, {6, 5});
  for (int64_t i = 0; i < 30; ++i)
    expected.data<Float16>()[i] = float_to_half(static_cast<float>(a.value_as_double(i) * b.value_as_double(i % 5)));
  expect_identical(run_one(make_node("Mul", 2, 1), {&a, &b}), expected, "Mul float16");
}

TEST(ElementwiseBinary, PowAcrossTypes) {
  const Tensor base = random_typed<float>({4, 6}, 41, 0.1, 3);
  const Tensor float_exponent = random_typed<float>({6}, 42, -2, 2);
  expect_close(run_one(make_node("Pow", 2, 1), {&base, &float_exponent}),
               naive_binary<float, float, float>(base, base.shape(), float_exponent, float_exponent.shape(), {4, 6},
                                                 [](float x, float y) { return static_cast<float>(std::pow(double(x), double(y))); }),
               kFloatTolerance, "Pow float^float");
  const Tensor int_exponent = random_typed<int32_t>({4, 1}, 43, -3, 3);
  expect_close(run_one(make_node("Pow", 2, 1), {&base, &int_exponent}),
               naive_binary<float, int32_t, float>(base, base.shape(), int_exponent, int_exponent.shape(), {4, 6},
                                                   [](float x, int32_t y) { return static_cast<float>(std::pow(double(x), y)); }),
               kFloatTolerance, "Pow float^int32");
  const Tensor two = Tensor::scalar<float>(2.0f);
  expect_identical(run_one(make_node("Pow", 2, 1), {&base, &two}),
                   naive_binary<float, float, float>(base, base.shape(), two, two.shape(), {4, 6}, [](float x, float) { return x * x; }),
                   "Pow float^2");

  const Tensor int_base = random_typed<int64_t>({3, 5}, 44, -6, 6);
  const Tensor int_power = random_typed<int64_t>({5}, 45, 0, 9);
  expect_identical(run_one(make_node("Pow", 2, 1), {&int_base, &int_power}),
                   naive_binary<int64_t, int64_t, int64_t>(int_base, int_base.shape(), int_power, int_power.shape(), {3, 5},
                                                           [](int64_t x, int64_t y) {
                                                             int64_t result = 1;
                                                             for (int64_t i = 0; i < y; ++i) result *= x;
                                                             return result;
                                                           }),
                   "Pow int64^int64");
  const Tensor int32_power = random_typed<int32_t>({5}, 46, 0, 9);
  expect_identical(run_one(make_node("Pow", 2, 1), {&int_base, &int32_power}),
                   naive_binary<int64_t, int32_t, int64_t>(int_base, int_base.shape(), int32_power, int32_power.shape(), {3, 5},
                                                           [](int64_t x, int32_t y) {
                                                             int64_t result = 1;
                                                             for (int32_t i = 0; i < y; ++i) result *= x;
                                                             return result;
                                                           }),
                   "Pow int64^int32");
  const Tensor positive_base = random_typed<int32_t>({3, 5}, 47, 1, 30);
  const Tensor fractional = random_typed<float>({5}, 48, 0, 2);
  expect_identical(run_one(make_node("Pow", 2, 1), {&positive_base, &fractional}),
                   naive_binary<int32_t, float, int32_t>(positive_base, positive_base.shape(), fractional, fractional.shape(), {3, 5},
                                                         [](int32_t x, float y) { return static_cast<int32_t>(std::pow(double(x), double(y))); }),
                   "Pow int32^float truncates");
}

TEST(ElementwiseBinary, BitShift) {
  const Tensor x = random_typed<uint8_t>({4, 9}, 51, 0, 255);
  const Tensor amount = random_typed<uint8_t>({9}, 52, 0, 10);
  expect_identical(run_one(make_node("BitShift", 2, 1, {string_attribute("direction", "LEFT")}), {&x, &amount}),
                   naive_binary<uint8_t, uint8_t, uint8_t>(x, x.shape(), amount, amount.shape(), {4, 9}, [](uint8_t v, uint8_t s) {
                     return static_cast<uint8_t>(s >= 8 ? 0 : (uint32_t{v} << s) & 0xffu);
                   }),
                   "BitShift LEFT uint8");
  expect_identical(run_one(make_node("BitShift", 2, 1, {string_attribute("direction", "RIGHT")}), {&x, &amount}),
                   naive_binary<uint8_t, uint8_t, uint8_t>(x, x.shape(), amount, amount.shape(), {4, 9}, [](uint8_t v, uint8_t s) {
                     return static_cast<uint8_t>(s >= 8 ? 0 : uint32_t{v} >> s);
                   }),
                   "BitShift RIGHT uint8");
  const Tensor wide = Tensor::from_vector<uint64_t>({2}, {1, 1});
  const Tensor wide_amount = Tensor::from_vector<uint64_t>({2}, {63, 64});
  expect_identical(run_one(make_node("BitShift", 2, 1, {string_attribute("direction", "LEFT")}), {&wide, &wide_amount}),
                   Tensor::from_vector<uint64_t>({2}, {uint64_t{1} << 63, 0}), "BitShift LEFT uint64");
  EXPECT_THROW(run_one(make_node("BitShift", 2, 1, {string_attribute("direction", "UP")}), {&x, &amount}), Error);
}

TEST(ElementwiseBinary, ComparisonsAndLogic) {
  // Small integers as floats so that equal pairs occur.
  const Tensor a = random_typed<int32_t>({3, 1, 7}, 61, -3, 3);
  const Tensor b = random_typed<int32_t>({4, 1}, 62, -3, 3);
  const Tensor fa = run_one(make_node("Cast", 1, 1, {int_attribute("to", 1)}), {&a});
  const Tensor fb = run_one(make_node("Cast", 1, 1, {int_attribute("to", 1)}), {&b});
  const Shape output{3, 4, 7};
  const std::vector<std::pair<std::string, std::function<bool(float, float)>>> comparisons = {
      {"Equal", [](float x, float y) { return x == y; }},
      {"Less", [](float x, float y) { return x < y; }},
      {"LessOrEqual", [](float x, float y) { return x <= y; }},
      {"Greater", [](float x, float y) { return x > y; }},
      {"GreaterOrEqual", [](float x, float y) { return x >= y; }},
  };
  for (const auto& [op, function] : comparisons) {
    expect_identical(run_one(make_node(op, 2, 1), {&fa, &fb}),
                     naive_binary<float, float, bool>(fa, fa.shape(), fb, fb.shape(), output, function), op + " float");
  }
  expect_identical(run_one(make_node("Less", 2, 1), {&a, &b}),
                   naive_binary<int32_t, int32_t, bool>(a, a.shape(), b, b.shape(), output, [](int32_t x, int32_t y) { return x < y; }),
                   "Less int32");
  const Tensor nan = Tensor::from_vector<float>({2}, {std::nanf(""), 1.0f});
  expect_identical(run_one(make_node("Equal", 2, 1), {&nan, &nan}), Tensor::from_vector<bool>({2}, {false, true}), "Equal NaN");

  const Tensor p = random_typed<bool>({2, 1, 5}, 63, 0, 1);
  const Tensor q = random_typed<bool>({3, 5}, 64, 0, 1);
  const std::vector<std::pair<std::string, std::function<bool(bool, bool)>>> logic = {
      {"And", [](bool x, bool y) { return x && y; }},
      {"Or", [](bool x, bool y) { return x || y; }},
      {"Xor", [](bool x, bool y) { return x != y; }},
      {"Equal", [](bool x, bool y) { return x == y; }},
  };
  for (const auto& [op, function] : logic) {
    expect_identical(run_one(make_node(op, 2, 1), {&p, &q}),
                     naive_binary<bool, bool, bool>(p, p.shape(), q, q.shape(), {2, 3, 5}, function), op + " bool");
  }
}

TEST(ElementwiseBinary, LegacyBroadcastAlignsAtAxis) {
  const Tensor a = random_typed<float>({2, 3, 4, 5}, 71, -1, 1);
  const Tensor b = random_typed<float>({3, 4}, 72, -1, 1);
  const Node node = make_node("Add", 2, 1, {int_attribute("broadcast", 1), int_attribute("axis", 1)});
  expect_identical(run_one(node, {&a, &b}, 6),
                   naive_binary<float, float, float>(a, a.shape(), b, {3, 4, 1}, a.shape(), [](float x, float y) { return x + y; }),
                   "Add opset 6 broadcast=1 axis=1");
}

TEST(ElementwiseBinary, RejectsBadShapesAndTypes) {
  const Tensor a = random_typed<float>({2, 3}, 81, -1, 1);
  const Tensor b = random_typed<float>({4}, 82, -1, 1);
  const Tensor ints = random_typed<int32_t>({2, 3}, 83, -1, 1);
  EXPECT_THROW(run_one(make_node("Add", 2, 1), {&a, &b}), Error);
  EXPECT_THROW(run_one(make_node("Add", 2, 1), {&a, &ints}), Error);
  EXPECT_THROW(run_one(make_node("And", 2, 1), {&a, &a}), UnsupportedError);
}

// ---- Variadic ----------------------------------------------------------------------------------

TEST(ElementwiseVariadic, MaxMinSumMeanBroadcastAllInputs) {
  const Tensor a = random_typed<float>({2, 1, 4}, 91, -5, 5);
  const Tensor b = random_typed<float>({3, 1}, 92, -5, 5);
  const Tensor c = random_typed<float>({4}, 93, -5, 5);
  const Shape output{2, 3, 4};
  const std::vector<std::pair<std::string, std::function<double(double, double, double)>>> cases = {
      {"Max", [](double x, double y, double z) { return std::max({x, y, z}); }},
      {"Min", [](double x, double y, double z) { return std::min({x, y, z}); }},
      {"Sum", [](double x, double y, double z) { return x + y + z; }},
      {"Mean", [](double x, double y, double z) { return (x + y + z) / 3; }},
  };
  for (const auto& [op, function] : cases) {
    Tensor expected(DataType::kFloat, output);
    for (int64_t i = 0; i < expected.element_count(); ++i) {
      const std::vector<int64_t> index = unravel(i, output);
      expected.data<float>()[i] = static_cast<float>(function(a.data<float>()[broadcast_source_index(index, a.shape())],
                                                              b.data<float>()[broadcast_source_index(index, b.shape())],
                                                              c.data<float>()[broadcast_source_index(index, c.shape())]));
    }
    expect_close(run_one(make_node(op, 3, 1), {&a, &b, &c}), expected, kFloatTolerance, op + " of 3 inputs");
    expect_identical(run_one(make_node(op, 1, 1), {&a}), a, op + " of 1 input");
  }
  const Tensor x = Tensor::from_vector<float>({3}, {1.0f, std::nanf(""), 2.0f});
  const Tensor y = Tensor::from_vector<float>({3}, {std::nanf(""), 0.0f, 3.0f});
  expect_close(run_one(make_node("Max", 2, 1), {&x, &y}), Tensor::from_vector<float>({3}, {std::nanf(""), std::nanf(""), 3.0f}), 0, "Max NaN");
  expect_close(run_one(make_node("Min", 2, 1), {&x, &y}), Tensor::from_vector<float>({3}, {std::nanf(""), std::nanf(""), 2.0f}), 0, "Min NaN");
  const Tensor i = Tensor::from_vector<uint64_t>({2}, {5, uint64_t{1} << 63});
  const Tensor j = Tensor::from_vector<uint64_t>({2}, {7, 3});
  expect_identical(run_one(make_node("Max", 2, 1), {&i, &j}), Tensor::from_vector<uint64_t>({2}, {7, uint64_t{1} << 63}), "Max uint64");
  EXPECT_THROW(run_one(make_node("Mean", 2, 1), {&i, &j}), UnsupportedError);
}

// ---- Where, PRelu ------------------------------------------------------------------------------

TEST(ElementwiseWhere, BroadcastsAllThreeInputs) {
  const Tensor condition = random_typed<bool>({2, 1, 4}, 101, 0, 1);
  const Tensor x = random_typed<int64_t>({3, 1}, 102, -1000, 1000);
  const Tensor y = random_typed<int64_t>({4}, 103, -1000, 1000);
  const Shape output{2, 3, 4};
  auto expected_where = [&](const Tensor& x_values, const Tensor& y_values, DataType dtype) {
    Tensor expected(dtype, output);
    const size_t size = dtype_size(dtype);
    for (int64_t i = 0; i < expected.element_count(); ++i) {
      const std::vector<int64_t> index = unravel(i, output);
      const bool take_x = condition.data<bool>()[broadcast_source_index(index, condition.shape())];
      const Tensor& source = take_x ? x_values : y_values;
      const int64_t source_index = broadcast_source_index(index, source.shape());
      std::memcpy(static_cast<char*>(expected.raw_data()) + i * size,
                  static_cast<const char*>(source.raw_data()) + source_index * size, size);
    }
    return expected;
  };
  expect_identical(run_one(make_node("Where", 3, 1), {&condition, &x, &y}), expected_where(x, y, DataType::kInt64), "Where int64");
  const Tensor hx = to_half(random_typed<float>({3, 1}, 104, -1, 1));
  const Tensor hy = to_half(random_typed<float>({4}, 105, -1, 1));
  expect_identical(run_one(make_node("Where", 3, 1), {&condition, &hx, &hy}), expected_where(hx, hy, DataType::kFloat16), "Where float16");
  const Tensor big_condition = random_typed<bool>({300, 301}, 106, 0, 1);
  const Tensor bx = random_typed<float>({300, 301}, 107, -1, 1);
  const Tensor by = random_typed<float>({300, 301}, 108, -1, 1);
  Tensor expected(DataType::kFloat, {300, 301});
  for (int64_t i = 0; i < expected.element_count(); ++i)
    expected.data<float>()[i] = big_condition.data<bool>()[i] ? bx.data<float>()[i] : by.data<float>()[i];
  expect_identical(run_one(make_node("Where", 3, 1), {&big_condition, &bx, &by}, 17, 3), expected, "Where 300x301 3 threads");
}

TEST(ElementwisePRelu, SlopeBroadcastsToX) {
  const Tensor x = random_typed<float>({2, 3, 4, 5}, 111, -2, 2);
  auto prelu = [](float value, float slope) { return value < 0 ? slope * value : value; };
  for (const Shape& slope_shape : std::vector<Shape>{{3, 1, 1}, {5}, {1}, {2, 3, 4, 5}}) {
    const Tensor slope = random_typed<float>(slope_shape, 112, 0, 1);
    expect_identical(run_one(make_node("PRelu", 2, 1), {&x, &slope}),
                     naive_binary<float, float, float>(x, x.shape(), slope, slope_shape, x.shape(), prelu),
                     "PRelu slope " + shape_to_string(slope_shape));
  }
  const Tensor too_big = random_typed<float>({2, 2, 3, 4, 5}, 113, 0, 1);
  EXPECT_THROW(run_one(make_node("PRelu", 2, 1), {&x, &too_big}), Error);
}

// ---- Cast --------------------------------------------------------------------------------------

Tensor cast(const Tensor& src, DataType to) {
  return run_one(make_node("Cast", 1, 1, {int_attribute("to", static_cast<int64_t>(to))}), {&src});
}

TEST(ElementwiseCast, FloatToIntegerTruncatesSaturatesAndZeroesNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor src = Tensor::from_vector<float>({9}, {1.9f, -1.9f, 200.0f, -200.0f, std::nanf(""), inf, -inf, 0.5f, -0.0f});
  expect_identical(cast(src, DataType::kInt8), Tensor::from_vector<int8_t>({9}, {1, -1, 127, -128, 0, 127, -128, 0, 0}), "float to int8");
  expect_identical(cast(src, DataType::kUint8), Tensor::from_vector<uint8_t>({9}, {1, 0, 200, 0, 0, 255, 0, 0, 0}), "float to uint8");
  const Tensor large = Tensor::from_vector<double>({3}, {3e9, -3e9, 2147483647.9});
  expect_identical(cast(large, DataType::kInt32),
                   Tensor::from_vector<int32_t>({3}, {2147483647, -2147483647 - 1, 2147483647}), "double to int32");
  expect_identical(cast(large, DataType::kInt64),
                   Tensor::from_vector<int64_t>({3}, {3000000000, -3000000000, 2147483647}), "double to int64");
  expect_identical(cast(src, DataType::kBool),
                   Tensor::from_vector<bool>({9}, {true, true, true, true, true, true, true, true, false}), "float to bool");
}

TEST(ElementwiseCast, IntegerAndBoolConversions) {
  const Tensor src = Tensor::from_vector<int32_t>({5}, {300, -1, 0, 5, -129});
  expect_identical(cast(src, DataType::kInt8), Tensor::from_vector<int8_t>({5}, {44, -1, 0, 5, 127}), "int32 to int8 wraps");
  expect_identical(cast(src, DataType::kUint16), Tensor::from_vector<uint16_t>({5}, {300, 65535, 0, 5, 65407}), "int32 to uint16");
  expect_identical(cast(src, DataType::kBool), Tensor::from_vector<bool>({5}, {true, true, false, true, true}), "int32 to bool");
  expect_identical(cast(src, DataType::kDouble), Tensor::from_vector<double>({5}, {300, -1, 0, 5, -129}), "int32 to double");
  const Tensor flags = Tensor::from_vector<bool>({2}, {true, false});
  expect_identical(cast(flags, DataType::kFloat), Tensor::from_vector<float>({2}, {1.0f, 0.0f}), "bool to float");
  expect_identical(cast(flags, DataType::kInt64), Tensor::from_vector<int64_t>({2}, {1, 0}), "bool to int64");
  const Tensor huge = Tensor::from_vector<int64_t>({2}, {(int64_t{1} << 53) + 1, std::numeric_limits<int64_t>::max()});
  expect_identical(cast(huge, DataType::kFloat),
                   Tensor::from_vector<float>({2}, {9007199254740992.0f, 9223372036854775808.0f}), "int64 to float");
}

TEST(ElementwiseCast, SixteenBitFloatsRoundToNearestEvenOnce) {
  // 1 + 2^-11 is halfway between float16 neighbours 1 and 1 + 2^-10: ties go to even (1). A hair
  // above it must round up, even though rounding to float first would erase the hair.
  const double tie = 1 + std::ldexp(1.0, -11);
  const Tensor src = Tensor::from_vector<double>({3}, {tie, tie + std::ldexp(1.0, -40), 65520.0});
  Tensor expected(DataType::kFloat16, {3});
  expected.data<Float16>()[0] = {0x3c00};
  expected.data<Float16>()[1] = {0x3c01};
  expected.data<Float16>()[2] = {0x7c00};  // 65520 rounds to infinity
  expect_identical(cast(src, DataType::kFloat16), expected, "double to float16");

  const Tensor floats = Tensor::from_vector<float>({4}, {1 + std::ldexp(1.0f, -8), 1 + 3 * std::ldexp(1.0f, -8), 0.480337f, -2.0f});
  Tensor expected_bf16(DataType::kBfloat16, {4});
  expected_bf16.data<Bfloat16>()[0] = {0x3f80};
  expected_bf16.data<Bfloat16>()[1] = {0x3f82};
  expected_bf16.data<Bfloat16>()[2] = {0x3ef6};
  expected_bf16.data<Bfloat16>()[3] = {0xc000};
  expect_identical(cast(floats, DataType::kBfloat16), expected_bf16, "float to bfloat16");

  // Every float16 bit pattern but NaNs (whose payloads are not kept) widens exactly and comes back.
  std::vector<Float16> halves;
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    if (!std::isnan(half_to_float({static_cast<uint16_t>(bits)}))) halves.push_back({static_cast<uint16_t>(bits)});
  }
  const int64_t count = static_cast<int64_t>(halves.size());
  const Tensor all_halves = Tensor::from_vector<Float16>({count}, halves);
  Tensor widened(DataType::kDouble, {count});
  for (int64_t i = 0; i < count; ++i) widened.data<double>()[i] = half_to_float(halves[static_cast<size_t>(i)]);
  expect_close(cast(all_halves, DataType::kDouble), widened, 0, "float16 to double");
  expect_identical(cast(cast(all_halves, DataType::kFloat), DataType::kFloat16), all_halves, "float16 round trip");
}

TEST(ElementwiseCast, CastLikeAndUnsupportedTargets) {
  const Tensor src = Tensor::from_vector<float>({3}, {1.5f, -2.5f, 7.0f});
  const Tensor like = Tensor::scalar<int32_t>(0);
  expect_identical(run_one(make_node("CastLike", 2, 1), {&src, &like}), Tensor::from_vector<int32_t>({3}, {1, -2, 7}), "CastLike int32");
  EXPECT_THROW(cast(src, DataType::kString), UnsupportedError);
  EXPECT_THROW(run_one(make_node("Cast", 1, 1, {int_attribute("to", 14)}), {&src}), UnsupportedError);  // complex64
  EXPECT_THROW(run_one(make_node("Cast", 1, 1), {&src}), Error);                                          // no `to`
}

}  // namespace
}  // namespace octet
