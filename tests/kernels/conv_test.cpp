// Tests of the convolution reference kernels (Conv, ConvTranspose, ConvInteger, QLinearConv)
// against direct loops written here: every output is a sum over input channels and kernel
// positions, evaluated in double (exact for the integer kernels).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
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

// The kernels accumulate in float (in another order than the double reference). Sums of up to a
// few hundred products of values in [-1, 1] stay within ~1e-5 of the exact value.
constexpr double kFloatTolerance = 1e-4;

std::vector<int64_t> unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

std::string join(const std::vector<int64_t>& values) {
  std::ostringstream stream;
  stream << "[";
  for (size_t i = 0; i < values.size(); ++i) stream << (i ? "," : "") << values[i];
  stream << "]";
  return stream.str();
}

template <typename T>
Tensor random_integers(const Shape& shape, uint32_t seed) {
  Tensor tensor(dtype_of<T>(), shape);
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> distribution(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  for (int64_t i = 0; i < tensor.element_count(); ++i) tensor.data<T>()[i] = static_cast<T>(distribution(generator));
  return tensor;
}

// One convolution (forward or transposed) with explicit padding.
struct ConvProblem {
  int64_t batch = 1;
  int64_t in_channels = 1;
  int64_t out_channels = 1;
  int64_t group = 1;
  Shape input_spatial;
  Shape kernel_spatial;
  std::vector<int64_t> strides, dilations, pads_begin, pads_end;
  std::vector<int64_t> output_padding;  // ConvTranspose only

  int64_t rank() const { return static_cast<int64_t>(input_spatial.size()); }
  int64_t extent(size_t axis) const { return (kernel_spatial[axis] - 1) * dilations[axis] + 1; }
  Shape x_shape() const {
    Shape shape{batch, in_channels};
    shape.insert(shape.end(), input_spatial.begin(), input_spatial.end());
    return shape;
  }
  // Conv: (out, in / group, kernel...); ConvTranspose: (in, out / group, kernel...).
  Shape w_shape(bool transposed) const {
    Shape shape = transposed ? Shape{in_channels, out_channels / group} : Shape{out_channels, in_channels / group};
    shape.insert(shape.end(), kernel_spatial.begin(), kernel_spatial.end());
    return shape;
  }
  Shape output_spatial(bool transposed) const {
    Shape shape;
    for (size_t axis = 0; axis < input_spatial.size(); ++axis) {
      if (transposed) {
        shape.push_back(strides[axis] * (input_spatial[axis] - 1) + output_padding[axis] + extent(axis) -
                        pads_begin[axis] - pads_end[axis]);
      } else {
        shape.push_back((input_spatial[axis] + pads_begin[axis] + pads_end[axis] - extent(axis)) / strides[axis] + 1);
      }
    }
    return shape;
  }
  Shape y_shape(bool transposed) const {
    Shape shape{batch, out_channels};
    const Shape spatial = output_spatial(transposed);
    shape.insert(shape.end(), spatial.begin(), spatial.end());
    return shape;
  }
  std::vector<Attribute> attributes(bool transposed) const {
    std::vector<int64_t> pads = pads_begin;
    pads.insert(pads.end(), pads_end.begin(), pads_end.end());
    std::vector<Attribute> result{ints_attribute("strides", strides), ints_attribute("dilations", dilations),
                                  ints_attribute("pads", pads), int_attribute("group", group)};
    if (transposed) result.push_back(ints_attribute("output_padding", output_padding));
    return result;
  }
  std::string describe() const {
    std::ostringstream stream;
    stream << "batch " << batch << " in_channels " << in_channels << " out_channels " << out_channels << " group "
           << group << " input " << join(input_spatial) << " kernel " << join(kernel_spatial) << " strides "
           << join(strides) << " dilations " << join(dilations) << " pads " << join(pads_begin) << "+"
           << join(pads_end) << " output_padding " << join(output_padding);
    return stream.str();
  }
};

// Direct convolution: sums[n][m][output position] = sum over c, kernel position of x * w, where
// x_value / w_value read the flat input and weight elements (already offset by zero points).
std::vector<double> naive_conv_sums(const ConvProblem& problem, const std::function<double(int64_t)>& x_value,
                                    const std::function<double(int64_t)>& w_value) {
  const Shape output_spatial = problem.output_spatial(false);
  const int64_t output_size = element_count(output_spatial);
  const int64_t input_size = element_count(problem.input_spatial);
  const int64_t kernel_size = element_count(problem.kernel_spatial);
  const int64_t channels_per_group = problem.in_channels / problem.group;
  const int64_t outputs_per_group = problem.out_channels / problem.group;
  std::vector<double> sums(static_cast<size_t>(problem.batch * problem.out_channels * output_size));
  for (int64_t n = 0; n < problem.batch; ++n) {
    for (int64_t m = 0; m < problem.out_channels; ++m) {
      const int64_t g = m / outputs_per_group;
      for (int64_t o = 0; o < output_size; ++o) {
        const std::vector<int64_t> out_position = unravel(o, output_spatial);
        double sum = 0;
        for (int64_t c = 0; c < channels_per_group; ++c) {
          for (int64_t k = 0; k < kernel_size; ++k) {
            const std::vector<int64_t> kernel_position = unravel(k, problem.kernel_spatial);
            int64_t input_flat = 0;
            bool inside = true;
            for (size_t axis = 0; axis < out_position.size(); ++axis) {
              const int64_t i = out_position[axis] * problem.strides[axis] - problem.pads_begin[axis] +
                                kernel_position[axis] * problem.dilations[axis];
              inside = inside && i >= 0 && i < problem.input_spatial[axis];
              input_flat = input_flat * problem.input_spatial[axis] + i;
            }
            if (!inside) continue;
            const int64_t x_index = (n * problem.in_channels + g * channels_per_group + c) * input_size + input_flat;
            const int64_t w_index = (m * channels_per_group + c) * kernel_size + k;
            sum += x_value(x_index) * w_value(w_index);
          }
        }
        sums[static_cast<size_t>((n * problem.out_channels + m) * output_size + o)] = sum;
      }
    }
  }
  return sums;
}

Tensor naive_conv(const ConvProblem& problem, const Tensor& x, const Tensor& w, const Tensor* bias) {
  const float* x_data = x.data<float>();
  const float* w_data = w.data<float>();
  const std::vector<double> sums = naive_conv_sums(
      problem, [&](int64_t i) { return double{x_data[i]}; }, [&](int64_t i) { return double{w_data[i]}; });
  Tensor y(DataType::kFloat, problem.y_shape(false));
  const int64_t output_size = element_count(problem.output_spatial(false));
  for (int64_t i = 0; i < y.element_count(); ++i) {
    const int64_t channel = i / output_size % problem.out_channels;
    y.data<float>()[i] = static_cast<float>(sums[static_cast<size_t>(i)] + (bias ? bias->data<float>()[channel] : 0.0));
  }
  return y;
}

// Direct transposed convolution: every input element scatters x * w into the outputs it reaches.
Tensor naive_conv_transpose(const ConvProblem& problem, const Tensor& x, const Tensor& w, const Tensor* bias) {
  const Shape output_spatial = problem.output_spatial(true);
  const int64_t output_size = element_count(output_spatial);
  const int64_t input_size = element_count(problem.input_spatial);
  const int64_t kernel_size = element_count(problem.kernel_spatial);
  const int64_t channels_per_group = problem.in_channels / problem.group;
  const int64_t outputs_per_group = problem.out_channels / problem.group;
  std::vector<double> sums(static_cast<size_t>(problem.batch * problem.out_channels * output_size));
  for (int64_t n = 0; n < problem.batch; ++n) {
    for (int64_t c = 0; c < problem.in_channels; ++c) {
      const int64_t g = c / channels_per_group;
      for (int64_t i = 0; i < input_size; ++i) {
        const std::vector<int64_t> in_position = unravel(i, problem.input_spatial);
        const double x_value = x.data<float>()[(n * problem.in_channels + c) * input_size + i];
        for (int64_t m = 0; m < outputs_per_group; ++m) {
          for (int64_t k = 0; k < kernel_size; ++k) {
            const std::vector<int64_t> kernel_position = unravel(k, problem.kernel_spatial);
            int64_t output_flat = 0;
            bool inside = true;
            for (size_t axis = 0; axis < in_position.size(); ++axis) {
              const int64_t o = in_position[axis] * problem.strides[axis] - problem.pads_begin[axis] +
                                kernel_position[axis] * problem.dilations[axis];
              inside = inside && o >= 0 && o < output_spatial[axis];
              output_flat = output_flat * output_spatial[axis] + o;
            }
            if (!inside) continue;
            const int64_t out_channel = g * outputs_per_group + m;
            sums[static_cast<size_t>((n * problem.out_channels + out_channel) * output_size + output_flat)] +=
                x_value * w.data<float>()[(c * outputs_per_group + m) * kernel_size + k];
          }
        }
      }
    }
  }
  Tensor y(DataType::kFloat, problem.y_shape(true));
  for (int64_t i = 0; i < y.element_count(); ++i) {
    const int64_t channel = i / output_size % problem.out_channels;
    y.data<float>()[i] = static_cast<float>(sums[static_cast<size_t>(i)] + (bias ? bias->data<float>()[channel] : 0.0));
  }
  return y;
}

// A random problem of the given spatial rank: odd channel counts, strides 1-3, dilations 1-2,
// asymmetric pads, batch 2, and groups among 1, a divisor, and depthwise.
ConvProblem random_problem(std::mt19937& generator, int64_t rank, bool transposed) {
  auto pick = [&](int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(generator); };
  ConvProblem problem;
  problem.batch = 2;
  const int64_t group_kind = pick(0, 2);
  const int64_t group_width = 2 * pick(0, 2) + 1;  // 1, 3, 5 channels per group
  if (group_kind == 0) {
    problem.group = 1;
    problem.in_channels = 2 * pick(0, 3) + 1;
    problem.out_channels = 2 * pick(0, 4) + 1;
  } else if (group_kind == 1) {
    problem.group = pick(2, 3);
    problem.in_channels = problem.group * group_width;
    problem.out_channels = problem.group * pick(1, 3);
  } else {  // depthwise, possibly with a channel multiplier
    problem.in_channels = 2 * pick(1, 3) + 1;
    problem.group = problem.in_channels;
    problem.out_channels = problem.in_channels * pick(1, 2);
  }
  const int64_t max_size = rank == 3 ? 6 : rank == 2 ? 11 : 17;
  for (int64_t axis = 0; axis < rank; ++axis) {
    problem.kernel_spatial.push_back(pick(1, 3));
    problem.strides.push_back(pick(1, 3));
    problem.dilations.push_back(pick(1, 2));
    const int64_t extent = (problem.kernel_spatial.back() - 1) * problem.dilations.back() + 1;
    problem.input_spatial.push_back(pick(transposed ? 1 : std::max<int64_t>(1, extent - 2), max_size));
    const int64_t max_pad = transposed ? extent - 1 : 2;
    problem.pads_begin.push_back(pick(0, max_pad));
    problem.pads_end.push_back(pick(0, max_pad));
    // ONNX requires output_padding < stride or < dilation.
    problem.output_padding.push_back(transposed ? pick(0, std::max(problem.strides.back(), problem.dilations.back()) - 1)
                                                : 0);
    if (!transposed) {
      // Keep the padded input at least one kernel extent long.
      const int64_t padded = problem.input_spatial.back() + problem.pads_begin.back() + problem.pads_end.back();
      if (padded < extent) problem.input_spatial.back() += extent - padded;
    } else {
      const int64_t full = problem.strides.back() * (problem.input_spatial.back() - 1) + extent;
      if (problem.pads_begin.back() + problem.pads_end.back() >= full) {
        problem.pads_begin.back() = 0;
        problem.pads_end.back() = 0;
      }
    }
  }
  return problem;
}

// Runs Conv or ConvTranspose on random data for `problem` and compares with the direct loops.
void check_float_problem(const ConvProblem& problem, bool transposed, uint32_t seed, bool with_bias,
                         bool constant_weight, int threads) {
  const Tensor x = testing::random_tensor(problem.x_shape(), seed);
  const Tensor w = testing::random_tensor(problem.w_shape(transposed), seed + 1);
  const Tensor bias = testing::random_tensor({problem.out_channels}, seed + 2);
  const Node node = make_node(transposed ? "ConvTranspose" : "Conv", with_bias ? 3 : 2, 1, problem.attributes(transposed));
  std::vector<const Tensor*> inputs{&x, &w};
  if (with_bias) inputs.push_back(&bias);
  const std::vector<size_t> constants = constant_weight ? std::vector<size_t>{1} : std::vector<size_t>{};
  const std::vector<Tensor> outputs = run_node(node, inputs, 17, constants, threads);
  const Tensor expected = transposed ? naive_conv_transpose(problem, x, w, with_bias ? &bias : nullptr)
                                     : naive_conv(problem, x, w, with_bias ? &bias : nullptr);
  const std::string context = concat(transposed ? "ConvTranspose " : "Conv ", problem.describe(), " bias ", with_bias,
                                     " constant_weight ", constant_weight, " threads ", threads, " seed ", seed);
  testing::expect_near(outputs[0], expected, kFloatTolerance, context);
}

TEST(ConvKernelTest, RandomProblemsMatchDirectLoops) {
  std::mt19937 generator(7);
  for (int64_t rank = 1; rank <= 3; ++rank) {
    for (int trial = 0; trial < 40; ++trial) {
      const ConvProblem problem = random_problem(generator, rank, /*transposed=*/false);
      const uint32_t seed = static_cast<uint32_t>(100 * rank + trial);
      check_float_problem(problem, false, seed, trial % 2 == 0, trial % 3 == 0, 1 + trial % 2);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

ConvProblem square_problem(int64_t in_channels, int64_t out_channels, int64_t group, int64_t size, int64_t kernel,
                           int64_t stride, int64_t pad) {
  ConvProblem problem;
  problem.in_channels = in_channels;
  problem.out_channels = out_channels;
  problem.group = group;
  problem.input_spatial = {size, size};
  problem.kernel_spatial = {kernel, kernel};
  problem.strides = {stride, stride};
  problem.dilations = {1, 1};
  problem.pads_begin = {pad, pad};
  problem.pads_end = {pad, pad};
  problem.output_padding = {0, 0};
  return problem;
}

TEST(ConvKernelTest, LargeShapesCrossGemmBlocks) {
  // Depth 30*9 = 270 crosses the GEMM depth block, 150 output channels its row block, and a
  // 40x40 output several im2col column tiles; with and without pre-packed weights and threads.
  const ConvProblem deep = square_problem(30, 150, 1, 12, 3, 1, 1);
  const ConvProblem wide = square_problem(5, 13, 1, 40, 3, 1, 1);
  for (int threads : {1, 2}) {
    for (bool constant_weight : {false, true}) {
      check_float_problem(deep, false, 11, true, constant_weight, threads);
      check_float_problem(wide, false, 12, false, constant_weight, threads);
    }
  }
}

TEST(ConvKernelTest, PointwiseAndDepthwise) {
  // 1x1 stride-1 unpadded convolutions read the input directly; depth 300 spans two depth blocks.
  check_float_problem(square_problem(300, 7, 1, 9, 1, 1, 0), false, 21, true, false, 2);
  check_float_problem(square_problem(6, 9, 3, 9, 1, 1, 0), false, 22, true, true, 1);
  // A strided 1x1 convolution is not pointwise.
  check_float_problem(square_problem(5, 4, 1, 9, 1, 2, 0), false, 23, false, false, 1);
  // Depthwise 3x3, stride 1 and 2, and a channel multiplier of 3; batch 2.
  for (int64_t stride : {1, 2}) {
    ConvProblem problem = square_problem(8, 8, 8, 15, 3, stride, 1);
    problem.batch = 2;
    check_float_problem(problem, false, 24, true, false, 2);
    problem.out_channels = 24;
    check_float_problem(problem, false, 25, false, true, 1);
  }
  // Planes wider than one register block (32 columns), with dilation and wide padding.
  ConvProblem wide = square_problem(3, 6, 3, 9, 5, 1, 4);
  wide.input_spatial = {9, 70};
  wide.dilations = {2, 2};
  wide.pads_end = {1, 3};
  check_float_problem(wide, false, 27, true, false, 2);
  wide.strides = {2, 1};
  check_float_problem(wide, false, 28, false, false, 1);
  // One input channel with group 1 also takes the direct path.
  check_float_problem(square_problem(1, 5, 1, 10, 3, 1, 1), false, 26, true, false, 1);
}

// Conv with auto_pad: the expected result uses the pads the spec prescribes.
TEST(ConvKernelTest, AutoPad) {
  for (const std::string auto_pad : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    for (int64_t stride : {1, 2, 3}) {
      ConvProblem problem = square_problem(3, 4, 1, 10, 4, stride, 0);
      problem.input_spatial = {10, 7};
      for (size_t axis = 0; axis < 2; ++axis) {
        const int64_t input = problem.input_spatial[axis];
        const int64_t extent = problem.kernel_spatial[axis];
        if (auto_pad == "VALID") continue;
        const int64_t output = (input + stride - 1) / stride;
        const int64_t total = std::max<int64_t>(0, (output - 1) * stride + extent - input);
        problem.pads_begin[axis] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        problem.pads_end[axis] = total - problem.pads_begin[axis];
      }
      const Tensor x = testing::random_tensor(problem.x_shape(), 31);
      const Tensor w = testing::random_tensor(problem.w_shape(false), 32);
      const Node node = make_node("Conv", 2, 1,
                                  {string_attribute("auto_pad", auto_pad), ints_attribute("strides", problem.strides),
                                   ints_attribute("kernel_shape", problem.kernel_spatial)});
      const std::vector<Tensor> outputs = run_node(node, {&x, &w});
      testing::expect_near(outputs[0], naive_conv(problem, x, w, nullptr), kFloatTolerance,
                           concat(auto_pad, " ", problem.describe()));
    }
  }
}

TEST(ConvKernelTest, RejectsInconsistentShapes) {
  const Tensor x = testing::random_tensor({1, 4, 5, 5}, 1);
  const Tensor w_bad_channels = testing::random_tensor({2, 3, 3, 3}, 2);
  EXPECT_THROW(run_node(make_node("Conv", 2, 1), {&x, &w_bad_channels}), Error);
  const Tensor w = testing::random_tensor({3, 2, 3, 3}, 3);
  // 3 output channels are not a multiple of group 2.
  EXPECT_THROW(run_node(make_node("Conv", 2, 1, {int_attribute("group", 2)}), {&x, &w}), Error);
  const Tensor w_ok = testing::random_tensor({2, 4, 3, 3}, 4);
  EXPECT_THROW(run_node(make_node("Conv", 2, 1, {ints_attribute("kernel_shape", {2, 2})}), {&x, &w_ok}), Error);
  EXPECT_THROW(run_node(make_node("Conv", 2, 1, {ints_attribute("strides", {1})}), {&x, &w_ok}), Error);
}

TEST(ConvKernelTest, RejectsBadAttributesAtCreation) {
  const Tensor x = testing::random_tensor({1, 4, 5, 5}, 1);
  const Tensor w = testing::random_tensor({2, 4, 3, 3}, 4);
  EXPECT_THROW(run_node(make_node("Conv", 2, 1, {string_attribute("auto_pad", "SAME")}), {&x, &w}), Error);
  EXPECT_THROW(run_node(make_node("Conv", 2, 1, {int_attribute("group", 0)}), {&x, &w}), Error);
  EXPECT_THROW(run_node(make_node("Conv", 2, 1, {ints_attribute("dilations", {0, 1})}), {&x, &w}), Error);
  // Four spatial dimensions are valid ONNX but not implemented.
  const Tensor x4 = testing::random_tensor({1, 1, 2, 2, 2, 2}, 5);
  const Tensor w4 = testing::random_tensor({1, 1, 1, 1, 1, 1}, 6);
  EXPECT_THROW(run_node(make_node("Conv", 2, 1), {&x4, &w4}), UnsupportedError);
}

TEST(ConvTransposeKernelTest, RandomProblemsMatchDirectLoops) {
  std::mt19937 generator(8);
  for (int64_t rank = 1; rank <= 3; ++rank) {
    for (int trial = 0; trial < 30; ++trial) {
      const ConvProblem problem = random_problem(generator, rank, /*transposed=*/true);
      const uint32_t seed = static_cast<uint32_t>(200 * rank + trial);
      check_float_problem(problem, true, seed, trial % 2 == 1, false, 1 + trial % 2);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(ConvTransposeKernelTest, LargeChannelCounts) {
  // 70 input channels cross no block, but 40 outputs x 4 kernel elements = 160 GEMM rows do.
  ConvProblem problem = square_problem(70, 40, 1, 9, 2, 2, 0);
  problem.batch = 2;
  check_float_problem(problem, true, 41, true, false, 2);
  ConvProblem grouped = square_problem(12, 8, 4, 7, 3, 2, 1);
  grouped.output_padding = {1, 0};
  check_float_problem(grouped, true, 42, true, true, 1);
}

// output_shape and auto_pad SAME_*: the pads follow the spec's total-padding formula.
TEST(ConvTransposeKernelTest, OutputShapeAndAutoPad) {
  struct Case {
    std::string auto_pad;
    std::vector<int64_t> output_shape;  // empty: SAME_* gives input * stride
  };
  for (const Case& test_case : {Case{"NOTSET", {10, 8}}, Case{"NOTSET", {8, 6}}, Case{"SAME_UPPER", {}},
                                Case{"SAME_LOWER", {}}, Case{"SAME_UPPER", {9, 7}}}) {
    ConvProblem problem = square_problem(2, 3, 1, 4, 3, 2, 0);
    problem.input_spatial = {4, 3};
    for (size_t axis = 0; axis < 2; ++axis) {
      const int64_t full = problem.strides[axis] * (problem.input_spatial[axis] - 1) + problem.extent(axis);
      const int64_t output = test_case.output_shape.empty() ? problem.input_spatial[axis] * problem.strides[axis]
                                                            : test_case.output_shape[axis];
      // An output longer than the full transposed output is extended at the end, like output_padding.
      const int64_t total = std::max<int64_t>(0, full - output);
      problem.output_padding[axis] = std::max<int64_t>(0, output - full);
      problem.pads_begin[axis] = test_case.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      problem.pads_end[axis] = total - problem.pads_begin[axis];
    }
    const Tensor x = testing::random_tensor(problem.x_shape(), 51);
    const Tensor w = testing::random_tensor(problem.w_shape(true), 52);
    std::vector<Attribute> attributes{string_attribute("auto_pad", test_case.auto_pad),
                                      ints_attribute("strides", problem.strides)};
    if (!test_case.output_shape.empty()) attributes.push_back(ints_attribute("output_shape", test_case.output_shape));
    const std::vector<Tensor> outputs = run_node(make_node("ConvTranspose", 2, 1, attributes), {&x, &w});
    testing::expect_near(outputs[0], naive_conv_transpose(problem, x, w, nullptr), kFloatTolerance,
                         concat(test_case.auto_pad, " output_shape ", join(test_case.output_shape)));
  }
}

// The integer kernels must match exactly.
struct IntegerCase {
  ConvProblem problem;
  bool signed_x = false;
  bool signed_w = false;
  bool per_channel = false;
};

std::vector<IntegerCase> integer_cases() {
  std::vector<IntegerCase> cases;
  std::mt19937 generator(9);
  for (int64_t rank = 1; rank <= 3; ++rank) {
    for (int trial = 0; trial < 8; ++trial) {
      IntegerCase test_case;
      test_case.problem = random_problem(generator, rank, false);
      test_case.signed_x = trial % 2 == 1;
      test_case.signed_w = trial % 4 >= 2;
      test_case.per_channel = trial % 3 != 0;
      cases.push_back(test_case);
    }
  }
  return cases;
}

Tensor random_quantized(bool is_signed, const Shape& shape, uint32_t seed) {
  return is_signed ? random_integers<int8_t>(shape, seed) : random_integers<uint8_t>(shape, seed);
}

TEST(ConvIntegerKernelTest, MatchesIntegerFormulaExactly) {
  uint32_t seed = 300;
  for (const IntegerCase& test_case : integer_cases()) {
    const ConvProblem& problem = test_case.problem;
    const Tensor x = random_quantized(test_case.signed_x, problem.x_shape(), ++seed);
    const Tensor w = random_quantized(test_case.signed_w, problem.w_shape(false), ++seed);
    const Tensor x_zero_point = random_quantized(test_case.signed_x, {}, ++seed);
    const Tensor w_zero_point =
        random_quantized(test_case.signed_w, test_case.per_channel ? Shape{problem.out_channels} : Shape{}, ++seed);
    const int64_t kernel_size = element_count(problem.kernel_spatial);
    const int64_t w_per_channel = problem.in_channels / problem.group * kernel_size;
    const std::vector<double> sums = naive_conv_sums(
        problem, [&](int64_t i) { return x.value_as_double(i) - x_zero_point.value_as_double(0); },
        [&](int64_t i) {
          return w.value_as_double(i) - w_zero_point.value_as_double(test_case.per_channel ? i / w_per_channel : 0);
        });
    const std::vector<Tensor> outputs =
        run_node(make_node("ConvInteger", 4, 1, problem.attributes(false)), {&x, &w, &x_zero_point, &w_zero_point},
                 17, {}, 1 + static_cast<int>(seed % 2));
    const std::string context = concat(problem.describe(), " signed x ", test_case.signed_x, " signed w ",
                                       test_case.signed_w, " per-channel ", test_case.per_channel);
    ASSERT_EQ(outputs[0].dtype(), DataType::kInt32) << context;
    ASSERT_EQ(outputs[0].shape(), problem.y_shape(false)) << context;
    for (int64_t i = 0; i < outputs[0].element_count(); ++i)
      ASSERT_EQ(outputs[0].data<int32_t>()[i], static_cast<int32_t>(sums[static_cast<size_t>(i)]))
          << context << " element " << i;
  }
}

TEST(ConvIntegerKernelTest, ZeroPointsDefaultToZero) {
  const ConvProblem problem = square_problem(3, 2, 1, 5, 3, 1, 1);
  const Tensor x = random_integers<uint8_t>(problem.x_shape(), 1);
  const Tensor w = random_integers<uint8_t>(problem.w_shape(false), 2);
  const std::vector<double> sums = naive_conv_sums(
      problem, [&](int64_t i) { return x.value_as_double(i); }, [&](int64_t i) { return w.value_as_double(i); });
  const std::vector<Tensor> outputs = run_node(make_node("ConvInteger", 2, 1, problem.attributes(false)), {&x, &w});
  for (int64_t i = 0; i < outputs[0].element_count(); ++i)
    ASSERT_EQ(outputs[0].data<int32_t>()[i], static_cast<int32_t>(sums[static_cast<size_t>(i)])) << "element " << i;
}

// Requantized outputs are spread over about [-kLargestOutput, kLargestOutput] around a zero point
// near the middle of the type's range.
constexpr double kLargestOutput = 150;

Tensor near_middle_zero_point(bool is_signed, uint32_t seed) {
  const int offset = static_cast<int>(seed % 41) - 20;
  return is_signed ? Tensor::scalar(static_cast<int8_t>(offset)) : Tensor::scalar(static_cast<uint8_t>(128 + offset));
}

TEST(QLinearConvKernelTest, MatchesRequantizedIntegerFormulaExactly) {
  uint32_t seed = 400;
  for (const IntegerCase& test_case : integer_cases()) {
    const ConvProblem& problem = test_case.problem;
    const bool signed_y = test_case.signed_w;
    const Tensor x = random_quantized(test_case.signed_x, problem.x_shape(), ++seed);
    const Tensor w = random_quantized(test_case.signed_w, problem.w_shape(false), ++seed);
    const Tensor x_zero_point = random_quantized(test_case.signed_x, {}, ++seed);
    const Shape channel_shape = test_case.per_channel ? Shape{problem.out_channels} : Shape{};
    const Tensor w_zero_point = random_quantized(test_case.signed_w, channel_shape, ++seed);
    const Tensor y_zero_point = near_middle_zero_point(signed_y, ++seed);
    const Tensor x_scale = Tensor::scalar(0.02f);
    const Tensor w_scale = testing::random_tensor(channel_shape, ++seed, 0.001f, 0.01f);
    Tensor bias(DataType::kInt32, {problem.out_channels});
    for (int64_t m = 0; m < problem.out_channels; ++m) bias.data<int32_t>()[m] = static_cast<int32_t>(m * 997 % 5000) - 2500;
    const int64_t kernel_size = element_count(problem.kernel_spatial);
    const int64_t w_per_channel = problem.in_channels / problem.group * kernel_size;
    const std::vector<double> sums = naive_conv_sums(
        problem, [&](int64_t i) { return x.value_as_double(i) - x_zero_point.value_as_double(0); },
        [&](int64_t i) {
          return w.value_as_double(i) - w_zero_point.value_as_double(test_case.per_channel ? i / w_per_channel : 0);
        });
    // y_scale maps the largest accumulator to about +-kLargestOutput, so that only the extremes saturate.
    double largest = 1;
    const int64_t output_size = element_count(problem.output_spatial(false));
    for (size_t i = 0; i < sums.size(); ++i)
      largest = std::max(largest, std::fabs(sums[i] + bias.data<int32_t>()[i / output_size % problem.out_channels]));
    const float y_scale_value = static_cast<float>(largest * 0.02 * 0.01 / kLargestOutput);
    const Tensor y_scale = Tensor::scalar(y_scale_value);
    const std::vector<Tensor> outputs =
        run_node(make_node("QLinearConv", 9, 1, problem.attributes(false)),
                 {&x, &x_scale, &x_zero_point, &w, &w_scale, &w_zero_point, &y_scale, &y_zero_point, &bias}, 17, {},
                 1 + static_cast<int>(seed % 2));
    const std::string context = concat(problem.describe(), " signed x ", test_case.signed_x, " signed w ",
                                       test_case.signed_w, " per-channel ", test_case.per_channel);
    const Tensor& y = outputs[0];
    ASSERT_EQ(y.dtype(), signed_y ? DataType::kInt8 : DataType::kUint8) << context;
    ASSERT_EQ(y.shape(), problem.y_shape(false)) << context;
    const double low = signed_y ? -128 : 0;
    const double high = signed_y ? 127 : 255;
    int64_t unsaturated = 0;
    for (int64_t i = 0; i < y.element_count(); ++i) {
      const int64_t channel = i / output_size % problem.out_channels;
      const float multiplier = 0.02f * w_scale.data<float>()[test_case.per_channel ? channel : 0] / y_scale_value;
      const double accumulator = sums[static_cast<size_t>(i)] + bias.data<int32_t>()[channel];
      const double rounded = std::nearbyint(static_cast<float>(accumulator) * multiplier);
      const double expected = std::clamp(rounded + y_zero_point.value_as_double(0), low, high);
      ASSERT_EQ(y.value_as_double(i), expected) << context << " element " << i << " accumulator " << accumulator;
      if (expected > low && expected < high) ++unsaturated;
    }
    // Mostly saturated outputs would hide rounding mistakes.
    EXPECT_GE(4 * unsaturated, y.element_count()) << context;
  }
}

}  // namespace
}  // namespace octet
