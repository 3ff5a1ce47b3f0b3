// Tests of the pooling reference kernels (MaxPool, AveragePool, LpPool, Global*Pool, MaxUnpool)
// against a direct N-D loop written here: every output visits its kernel window tap by tap,
// skipping taps outside the input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace octet {
namespace {

using testing::int_attribute;
using testing::ints_attribute;
using testing::make_node;
using testing::run_node;
using testing::string_attribute;

// The kernels sum in double and round once to float, like the reference here: the results agree
// to float rounding.
constexpr double kFloatTolerance = 1e-6;

std::string join(const std::vector<int64_t>& values) {
  std::ostringstream stream;
  stream << "[";
  for (size_t i = 0; i < values.size(); ++i) stream << (i ? "," : "") << values[i];
  stream << "]";
  return stream.str();
}

std::vector<int64_t> unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

int64_t ravel(const std::vector<int64_t>& index, const Shape& shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + index[d];
  return flat;
}

enum class Reduction { kMax, kAverage, kAverageIncludePad, kLp2, kLp3 };

// One pooling problem with explicit padding.
struct PoolProblem {
  Shape input_shape;  // N, C, spatial...
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> pads;  // begins, then ends
  std::vector<int64_t> dilations;
  bool ceil_mode = false;

  size_t rank() const { return kernel.size(); }
  std::string describe() const {
    return concat("input ", shape_to_string(input_shape), " kernel ", join(kernel), " strides ", join(strides),
                  " pads ", join(pads), " dilations ", join(dilations), " ceil_mode ", ceil_mode);
  }
  Shape output_shape() const {
    Shape shape = {input_shape[0], input_shape[1]};
    for (size_t i = 0; i < rank(); ++i) {
      const int64_t input = input_shape[2 + i];
      const int64_t span = input + pads[i] + pads[i + rank()] - ((kernel[i] - 1) * dilations[i] + 1);
      int64_t output = static_cast<int64_t>(ceil_mode ? std::ceil(static_cast<double>(span) / strides[i])
                                                      : std::floor(static_cast<double>(span) / strides[i])) +
                       1;
      // The last window must start inside the input or its leading padding.
      if (ceil_mode && (output - 1) * strides[i] >= input + pads[i]) --output;
      shape.push_back(output);
    }
    return shape;
  }
};

// The pooled value at every output position, plus (for kMax) the flat input index of the first maximum.
struct PoolResult {
  std::vector<double> values;
  std::vector<int64_t> argmax;
};

PoolResult naive_pool(const PoolProblem& problem, const std::vector<double>& input, Reduction reduction) {
  const Shape output_shape = problem.output_shape();
  const size_t rank = problem.rank();
  int64_t window_size = 1;
  for (int64_t k : problem.kernel) window_size *= k;
  PoolResult result;
  for (int64_t flat = 0; flat < element_count(output_shape); ++flat) {
    const std::vector<int64_t> out = unravel(flat, output_shape);
    double accumulator = reduction == Reduction::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
    int64_t best = -1;
    int64_t inside = 0;
    int64_t in_padded = 0;
    for (int64_t tap = 0; tap < window_size; ++tap) {
      const std::vector<int64_t> taps = unravel(tap, Shape(problem.kernel.begin(), problem.kernel.end()));
      std::vector<int64_t> in = {out[0], out[1]};
      bool is_inside = true;
      bool is_in_padded = true;
      for (size_t i = 0; i < rank; ++i) {
        const int64_t coordinate = out[2 + i] * problem.strides[i] - problem.pads[i] + taps[i] * problem.dilations[i];
        is_inside = is_inside && coordinate >= 0 && coordinate < problem.input_shape[2 + i];
        is_in_padded = is_in_padded && coordinate >= -problem.pads[i] &&
                       coordinate < problem.input_shape[2 + i] + problem.pads[i + rank];
        in.push_back(coordinate);
      }
      in_padded += is_in_padded ? 1 : 0;
      if (!is_inside) continue;
      ++inside;
      const int64_t source = ravel(in, problem.input_shape);
      const double value = input[static_cast<size_t>(source)];
      switch (reduction) {
        case Reduction::kMax:
          if (value > accumulator) {
            accumulator = value;
            best = source;
          }
          break;
        case Reduction::kAverage:
        case Reduction::kAverageIncludePad:
          accumulator += value;
          break;
        case Reduction::kLp2:
          accumulator += value * value;
          break;
        case Reduction::kLp3:
          accumulator += std::pow(std::abs(value), 3.0);
          break;
      }
    }
    if (reduction == Reduction::kAverage) accumulator /= static_cast<double>(inside);
    if (reduction == Reduction::kAverageIncludePad) accumulator /= static_cast<double>(in_padded);
    if (reduction == Reduction::kLp2) accumulator = std::sqrt(accumulator);
    if (reduction == Reduction::kLp3) accumulator = std::cbrt(accumulator);
    result.values.push_back(accumulator);
    result.argmax.push_back(best);
  }
  return result;
}

std::vector<double> values_of(const Tensor& tensor) {
  std::vector<double> values;
  for (int64_t i = 0; i < tensor.element_count(); ++i) values.push_back(tensor.value_as_double(i));
  return values;
}

Node pool_node(const std::string& op_type, const PoolProblem& problem, size_t outputs = 1,
               std::vector<Attribute> extra = {}) {
  std::vector<Attribute> attributes = {ints_attribute("kernel_shape", problem.kernel),
                                       ints_attribute("strides", problem.strides), ints_attribute("pads", problem.pads),
                                       int_attribute("ceil_mode", problem.ceil_mode ? 1 : 0),
                                       ints_attribute("dilations", problem.dilations)};
  for (Attribute& attribute : extra) attributes.push_back(std::move(attribute));
  return make_node(op_type, 1, outputs, std::move(attributes));
}

void expect_values(const Tensor& actual, const Shape& shape, const std::vector<double>& expected, double tolerance,
                   const std::string& context) {
  ASSERT_EQ(actual.shape(), shape) << context;
  for (int64_t i = 0; i < actual.element_count(); ++i)
    ASSERT_NEAR(actual.value_as_double(i), expected[static_cast<size_t>(i)], tolerance) << context << " output " << i;
}

// A sweep over spatial ranks, kernel sizes, strides, paddings, dilations and ceil_mode.
std::vector<PoolProblem> pool_problems() {
  std::vector<PoolProblem> problems;
  // 2-D: the shapes CNNs use, odd sizes and asymmetric settings.
  for (int64_t kernel : {1, 2, 3})
    for (int64_t stride : {1, 2, 3})
      for (int64_t pad : {0, 1})
        for (int64_t dilation : {1, 2})
          for (bool ceil_mode : {false, true}) {
            if (pad >= kernel) continue;
            problems.push_back(
                {{2, 3, 7, 6}, {kernel, kernel + 1}, {stride, 1}, {pad, 0, 0, pad}, {dilation, 1}, ceil_mode});
          }
  problems.push_back({{1, 2, 9}, {3}, {2}, {1, 2}, {1}, true});                                       // 1-D
  problems.push_back({{1, 1, 11}, {4}, {3}, {0, 0}, {2}, false});                                     // 1-D dilated
  problems.push_back({{2, 2, 5, 4, 6}, {2, 3, 2}, {2, 1, 2}, {1, 1, 0, 0, 1, 1}, {1, 1, 2}, false});  // 3-D
  problems.push_back({{1, 3, 4, 5, 3}, {3, 2, 2}, {1, 2, 1}, {0, 0, 0, 0, 0, 0}, {1, 1, 1}, true});   // 3-D ceil
  return problems;
}

TEST(PoolTest, MaxPoolMatchesWindowLoopWithIndices) {
  uint32_t seed = 1;
  for (const PoolProblem& problem : pool_problems()) {
    const Tensor input = testing::random_tensor(problem.input_shape, seed++);
    const PoolResult expected = naive_pool(problem, values_of(input), Reduction::kMax);
    const std::vector<Tensor> outputs = run_node(pool_node("MaxPool", problem, 2), {&input}, 12);
    expect_values(outputs[0], problem.output_shape(), expected.values, 0.0, problem.describe());
    ASSERT_EQ(outputs[1].dtype(), DataType::kInt64);
    for (int64_t i = 0; i < outputs[1].element_count(); ++i)
      ASSERT_EQ(outputs[1].data<int64_t>()[i], expected.argmax[static_cast<size_t>(i)])
          << problem.describe() << " index " << i;
  }
}

TEST(PoolTest, MaxPoolColumnMajorIndices) {
  const PoolProblem problem{{2, 2, 5, 7}, {2, 3}, {2, 2}, {0, 1, 1, 0}, {1, 1}, false};
  const Tensor input = testing::random_tensor(problem.input_shape, 7);
  const PoolResult expected = naive_pool(problem, values_of(input), Reduction::kMax);
  const std::vector<Tensor> outputs =
      run_node(pool_node("MaxPool", problem, 2, {int_attribute("storage_order", 1)}), {&input}, 12);
  const int64_t height = problem.input_shape[2];
  const int64_t width = problem.input_shape[3];
  for (int64_t i = 0; i < outputs[1].element_count(); ++i) {
    // Row-major h * W + w within the plane becomes column-major w * H + h.
    const int64_t row_major = expected.argmax[static_cast<size_t>(i)];
    const int64_t plane = row_major / (height * width);
    const int64_t h = row_major / width % height;
    const int64_t w = row_major % width;
    ASSERT_EQ(outputs[1].data<int64_t>()[i], plane * height * width + w * height + h) << "index " << i;
  }
}

template <typename T>
void check_integer_max_pool(uint32_t seed) {
  const PoolProblem problem{{1, 3, 8, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, true};
  Tensor input(dtype_of<T>(), problem.input_shape);
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> distribution(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  for (int64_t i = 0; i < input.element_count(); ++i) input.data<T>()[i] = static_cast<T>(distribution(generator));
  const PoolResult expected = naive_pool(problem, values_of(input), Reduction::kMax);
  const std::vector<Tensor> outputs = run_node(pool_node("MaxPool", problem), {&input}, 12);
  ASSERT_EQ(outputs[0].dtype(), dtype_of<T>());
  expect_values(outputs[0], problem.output_shape(), expected.values, 0.0, dtype_name(dtype_of<T>()));
}

TEST(PoolTest, MaxPoolOnEightBitIntegersIsExact) {
  check_integer_max_pool<int8_t>(3);
  check_integer_max_pool<uint8_t>(4);
}

TEST(PoolTest, AveragePoolWithAndWithoutPadding) {
  uint32_t seed = 100;
  for (const PoolProblem& problem : pool_problems()) {
    const Tensor input = testing::random_tensor(problem.input_shape, seed++);
    for (bool include_pad : {false, true}) {
      const PoolResult expected =
          naive_pool(problem, values_of(input), include_pad ? Reduction::kAverageIncludePad : Reduction::kAverage);
      const Node node = pool_node("AveragePool", problem, 1, {int_attribute("count_include_pad", include_pad ? 1 : 0)});
      const std::vector<Tensor> outputs = run_node(node, {&input}, 19);
      expect_values(outputs[0], problem.output_shape(), expected.values, kFloatTolerance,
                    concat(problem.describe(), " count_include_pad ", include_pad));
    }
  }
}

TEST(PoolTest, LpPoolForTwoExponents) {
  uint32_t seed = 200;
  for (const PoolProblem& problem : pool_problems()) {
    const Tensor input = testing::random_tensor(problem.input_shape, seed++);
    for (int64_t p : {2, 3}) {
      const PoolResult expected = naive_pool(problem, values_of(input), p == 2 ? Reduction::kLp2 : Reduction::kLp3);
      const std::vector<Tensor> outputs =
          run_node(pool_node("LpPool", problem, 1, {int_attribute("p", p)}), {&input}, 18);
      expect_values(outputs[0], problem.output_shape(), expected.values, kFloatTolerance,
                    concat(problem.describe(), " p ", p));
    }
  }
}

// auto_pad gives the same result as the explicit padding it stands for.
TEST(PoolTest, AutoPadEqualsExplicitPadding) {
  struct Case {
    std::string auto_pad;
    Shape input_shape;
    std::vector<int64_t> kernel, strides, explicit_pads;
  };
  const std::vector<Case> cases = {
      // Input 7, kernel 2, stride 1: output 7, one padding element, at the end for SAME_UPPER.
      {"SAME_UPPER", {1, 2, 7, 7}, {2, 2}, {1, 1}, {0, 0, 1, 1}},
      {"SAME_LOWER", {1, 2, 7, 7}, {2, 2}, {1, 1}, {1, 1, 0, 0}},
      // Input 8, kernel 3, stride 2: output 4, padding (4-1)*2+3-8 = 1.
      {"SAME_UPPER", {2, 1, 8, 5}, {3, 3}, {2, 2}, {0, 1, 1, 1}},
      {"SAME_LOWER", {2, 1, 8, 5}, {3, 3}, {2, 2}, {1, 1, 0, 1}},
      {"VALID", {1, 1, 8, 5}, {3, 2}, {2, 2}, {0, 0, 0, 0}},
  };
  uint32_t seed = 300;
  for (const Case& test : cases) {
    const Tensor input = testing::random_tensor(test.input_shape, seed++);
    for (const std::string op_type : {"MaxPool", "AveragePool"}) {
      const Node automatic =
          make_node(op_type, 1, 1,
                    {ints_attribute("kernel_shape", test.kernel), ints_attribute("strides", test.strides),
                     string_attribute("auto_pad", test.auto_pad)});
      const Node explicit_node =
          make_node(op_type, 1, 1,
                    {ints_attribute("kernel_shape", test.kernel), ints_attribute("strides", test.strides),
                     ints_attribute("pads", test.explicit_pads)});
      testing::expect_near(run_node(automatic, {&input})[0], run_node(explicit_node, {&input})[0], 0.0,
                           concat(op_type, " ", test.auto_pad, " input ", shape_to_string(test.input_shape)));
    }
  }
}

TEST(PoolTest, GlobalPoolsReduceEveryPlane) {
  uint32_t seed = 400;
  for (const Shape& shape : std::vector<Shape>{{2, 3, 7}, {2, 5, 4, 3}, {1, 2, 3, 2, 5}}) {
    const Tensor input = testing::random_tensor(shape, seed++);
    const int64_t planes = shape[0] * shape[1];
    const int64_t plane_size = input.element_count() / planes;
    Shape output_shape(shape.size(), 1);
    output_shape[0] = shape[0];
    output_shape[1] = shape[1];
    std::vector<double> average, maximum, lp;
    for (int64_t plane = 0; plane < planes; ++plane) {
      double sum = 0, squares = 0, best = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < plane_size; ++i) {
        const double value = input.data<float>()[plane * plane_size + i];
        sum += value;
        squares += value * value;
        best = std::max(best, value);
      }
      average.push_back(sum / static_cast<double>(plane_size));
      maximum.push_back(best);
      lp.push_back(std::sqrt(squares));
    }
    const std::string context = shape_to_string(shape);
    expect_values(run_node(make_node("GlobalAveragePool", 1, 1), {&input})[0], output_shape, average, kFloatTolerance,
                  "GlobalAveragePool " + context);
    expect_values(run_node(make_node("GlobalMaxPool", 1, 1), {&input})[0], output_shape, maximum, 0.0,
                  "GlobalMaxPool " + context);
    expect_values(run_node(make_node("GlobalLpPool", 1, 1), {&input})[0], output_shape, lp, kFloatTolerance,
                  "GlobalLpPool " + context);
  }
}

// Unpooling MaxPool's output puts each maximum back where it came from and zeros elsewhere.
TEST(PoolTest, MaxUnpoolInvertsMaxPoolPositions) {
  const PoolProblem problem{{2, 3, 6, 8}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, false};
  const Tensor input = testing::random_tensor(problem.input_shape, 500);
  const std::vector<Tensor> pooled = run_node(pool_node("MaxPool", problem, 2), {&input});
  const Node unpool = make_node(
      "MaxUnpool", 2, 1, {ints_attribute("kernel_shape", problem.kernel), ints_attribute("strides", problem.strides)});
  const Tensor unpooled = std::move(run_node(unpool, {&pooled[0], &pooled[1]}, 11)[0]);
  ASSERT_EQ(unpooled.shape(), problem.input_shape);
  std::vector<double> expected(static_cast<size_t>(input.element_count()), 0.0);
  for (int64_t i = 0; i < pooled[1].element_count(); ++i)
    expected[static_cast<size_t>(pooled[1].data<int64_t>()[i])] = pooled[0].data<float>()[i];
  expect_values(unpooled, problem.input_shape, expected, 0.0, "MaxUnpool");

  // A larger requested shape pads the unpooled tensor with zeros at the end of each axis.
  const Tensor requested = Tensor::from_vector<int64_t>({4}, {2, 3, 7, 9});
  const Node unpool_shaped = make_node(
      "MaxUnpool", 3, 1, {ints_attribute("kernel_shape", problem.kernel), ints_attribute("strides", problem.strides)});
  const Tensor padded = std::move(run_node(unpool_shaped, {&pooled[0], &pooled[1], &requested}, 11)[0]);
  ASSERT_EQ(padded.shape(), (Shape{2, 3, 7, 9}));
  for (int64_t i = 0; i < padded.element_count(); ++i) {
    const std::vector<int64_t> index = unravel(i, padded.shape());
    const bool inside = index[2] < 6 && index[3] < 8;
    const double want = inside ? expected[static_cast<size_t>(ravel(index, problem.input_shape))] : 0.0;
    ASSERT_EQ(padded.data<float>()[i], want) << "element " << i;
  }
}

TEST(PoolTest, ThreadedRunMatchesSingleThread) {
  const PoolProblem problem{{3, 5, 17, 13}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, false};
  const Tensor input = testing::random_tensor(problem.input_shape, 600);
  for (const std::string op_type : {"MaxPool", "AveragePool"}) {
    const Node node = pool_node(op_type, problem);
    testing::expect_near(run_node(node, {&input}, 17, {}, 3)[0], run_node(node, {&input}, 17, {}, 1)[0], 0.0, op_type);
  }
}

TEST(PoolTest, RejectsInconsistentAttributes) {
  const Tensor input = testing::random_tensor({1, 1, 5, 5}, 700);
  // kernel_shape describes one spatial axis, the input has two.
  EXPECT_THROW(run_node(make_node("MaxPool", 1, 1, {ints_attribute("kernel_shape", {2})}), {&input}), Error);
  // Padding as large as the kernel.
  EXPECT_THROW(run_node(make_node("MaxPool", 1, 1,
                                  {ints_attribute("kernel_shape", {2, 2}), ints_attribute("pads", {2, 0, 0, 0})}),
                        {&input}),
               Error);
  EXPECT_THROW(run_node(make_node("AveragePool", 1, 1,
                                  {ints_attribute("kernel_shape", {2, 2}), string_attribute("auto_pad", "SAME")}),
                        {&input}),
               Error);
  // Four spatial axes are valid ONNX but not implemented.
  EXPECT_THROW(run_node(make_node("MaxPool", 1, 1, {ints_attribute("kernel_shape", {1, 1, 1, 1})}), {&input}),
               UnsupportedError);
}

}  // namespace
}  // namespace octet
