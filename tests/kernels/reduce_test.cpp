// Reduce*, Softmax, LogSoftmax, Hardmax, ArgMax, ArgMin and TopK against naive formulas written
// here with full multi-indices, on random data with odd sizes, size-1 dimensions, negative axes and
// both keepdims settings.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "octet/tensor.h"

namespace octet {
namespace {

using testing::float_attribute;
using testing::int_attribute;
using testing::ints_attribute;
using testing::make_node;
using testing::random_tensor;
using testing::run_node;

// Float kernels accumulate in a different order (and Softmax uses its own exp) than these
// double-precision references; a few float ulps of relative error is expected, nothing more.
constexpr double kFloatRelativeTolerance = 2e-6;
constexpr double kFloatAbsoluteTolerance = 1e-6;

std::string describe_axes(const std::vector<int64_t>& axes) {
  std::ostringstream stream;
  stream << "[";
  for (size_t i = 0; i < axes.size(); ++i) stream << (i ? "," : "") << axes[i];
  stream << "]";
  return stream.str();
}

// Multi-index of flat index `flat` in `shape` (row-major).
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

void expect_close_values(const Tensor& actual, const std::vector<double>& expected, const Shape& expected_shape,
                         const std::string& context, double relative = kFloatRelativeTolerance,
                         double absolute = kFloatAbsoluteTolerance) {
  ASSERT_EQ(actual.shape(), expected_shape) << context << " actual shape " << shape_to_string(actual.shape());
  ASSERT_EQ(actual.element_count(), static_cast<int64_t>(expected.size())) << context;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double value = actual.value_as_double(static_cast<int64_t>(i));
    if (std::isinf(expected[i])) {
      ASSERT_EQ(value, expected[i]) << context << " element " << i;
      continue;
    }
    ASSERT_NEAR(value, expected[i], absolute + relative * std::fabs(expected[i])) << context << " element " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// Reduce*

// The naive reference: collect the values of each output by walking every input multi-index.
struct NaiveReduction {
  Shape output_shape;
  std::vector<std::vector<double>> groups;  // the input values reduced into each output
};

NaiveReduction naive_groups(const Tensor& src, std::vector<int64_t> axes, bool keepdims, bool noop_with_empty_axes) {
  const Shape& shape = src.shape();
  const int64_t rank = src.rank();
  std::set<int64_t> reduced;
  for (int64_t axis : axes) reduced.insert(axis < 0 ? axis + rank : axis);
  if (axes.empty() && !noop_with_empty_axes)
    for (int64_t axis = 0; axis < rank; ++axis) reduced.insert(axis);
  NaiveReduction result;
  Shape kept_shape;  // output shape without the keepdims 1s: how outputs are numbered
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (!reduced.count(axis)) kept_shape.push_back(shape[static_cast<size_t>(axis)]);
    if (!reduced.count(axis) || keepdims)
      result.output_shape.push_back(reduced.count(axis) ? 1 : shape[static_cast<size_t>(axis)]);
  }
  result.groups.resize(static_cast<size_t>(element_count(kept_shape)));
  for (int64_t flat = 0; flat < src.element_count(); ++flat) {
    const std::vector<int64_t> index = unravel(flat, shape);
    std::vector<int64_t> kept_index;
    for (int64_t axis = 0; axis < rank; ++axis)
      if (!reduced.count(axis)) kept_index.push_back(index[static_cast<size_t>(axis)]);
    result.groups[static_cast<size_t>(ravel(kept_index, kept_shape))].push_back(src.value_as_double(flat));
  }
  return result;
}

double naive_reduce(const std::string& op, const std::vector<double>& values) {
  double sum = 0, sum_abs = 0, sum_square = 0, sum_exp = 0, prod = 1;
  double maximum = -std::numeric_limits<double>::infinity();
  double minimum = std::numeric_limits<double>::infinity();
  for (double value : values) {
    sum += value;
    sum_abs += std::fabs(value);
    sum_square += value * value;
    sum_exp += std::exp(value);
    prod *= value;
    maximum = std::max(maximum, value);
    minimum = std::min(minimum, value);
  }
  if (op == "ReduceSum") return sum;
  if (op == "ReduceMean") return sum / static_cast<double>(values.size());
  if (op == "ReduceMax") return maximum;
  if (op == "ReduceMin") return minimum;
  if (op == "ReduceProd") return prod;
  if (op == "ReduceL1") return sum_abs;
  if (op == "ReduceL2") return std::sqrt(sum_square);
  if (op == "ReduceLogSum") return std::log(sum);
  if (op == "ReduceLogSumExp") return std::log(sum_exp);
  if (op == "ReduceSumSquare") return sum_square;
  ADD_FAILURE() << "no reference for " << op;
  return 0;
}

const std::vector<std::string> kReduceOps = {"ReduceSum",  "ReduceMean", "ReduceMax",    "ReduceMin",
                                             "ReduceProd", "ReduceL1",   "ReduceL2",     "ReduceLogSum",
                                             "ReduceLogSumExp", "ReduceSumSquare"};

// Runs one Reduce node with axes as an attribute (opset 13, except ReduceSum) or as input 1
// (opset 18), and checks it against the naive reference.
void check_reduce(const std::string& op, const Tensor& src, const std::vector<int64_t>& axes, bool keepdims,
                  int64_t opset, bool noop_with_empty_axes = false, int threads = 1) {
  std::ostringstream context_stream;
  context_stream << op << " opset " << opset << " shape " << shape_to_string(src.shape()) << " axes "
                 << describe_axes(axes) << " keepdims " << keepdims << " noop_with_empty_axes "
                 << noop_with_empty_axes << " threads " << threads;
  const std::string context = context_stream.str();
  const bool axes_as_input = opset >= 18 || (op == "ReduceSum" && opset >= 13);
  std::vector<Attribute> attributes = {int_attribute("keepdims", keepdims ? 1 : 0)};
  if (noop_with_empty_axes) attributes.push_back(int_attribute("noop_with_empty_axes", 1));
  if (!axes_as_input && !axes.empty()) attributes.push_back(ints_attribute("axes", axes));
  const Tensor axes_tensor = Tensor::from_vector<int64_t>({static_cast<int64_t>(axes.size())}, axes);
  std::vector<Tensor> outputs;
  if (axes_as_input) {
    outputs = run_node(make_node(op, 2, 1, attributes), {&src, &axes_tensor}, opset, {}, threads);
  } else {
    outputs = run_node(make_node(op, 1, 1, attributes), {&src}, opset, {}, threads);
  }
  const NaiveReduction naive = naive_groups(src, axes, keepdims, noop_with_empty_axes);
  std::vector<double> expected;
  for (const std::vector<double>& group : naive.groups) expected.push_back(naive_reduce(op, group));
  ASSERT_EQ(outputs[0].dtype(), src.dtype()) << context;
  if (src.dtype() == DataType::kFloat) {
    expect_close_values(outputs[0], expected, naive.output_shape, context);
  } else {
    // Integer outputs: the reference value converted like the kernel's result (truncation).
    for (double& value : expected) value = std::trunc(value);
    expect_close_values(outputs[0], expected, naive.output_shape, context, 0, 0);
  }
}

// Positive inputs so that ReduceLogSum is defined; values near 1 keep ReduceProd of dozens of
// elements well inside float range.
Tensor reduce_input(const std::string& op, const Shape& shape, uint32_t seed) {
  if (op == "ReduceLogSum" || op == "ReduceProd") return random_tensor(shape, seed, 0.5f, 1.5f);
  return random_tensor(shape, seed, -2.0f, 2.0f);
}

TEST(ReduceKernelTest, EveryOpEveryAxisSubsetMatchesNaiveReference) {
  const std::vector<Shape> shapes = {{7}, {3, 5}, {2, 3, 5}, {3, 1, 4, 5}, {2, 3, 1, 4, 3}};
  uint32_t seed = 1;
  for (const std::string op : kReduceOps) {
    for (const Shape& shape : shapes) {
      const int64_t rank = static_cast<int64_t>(shape.size());
      const Tensor src = reduce_input(op, shape, seed++);
      // Every subset of axes; odd subsets use negative spellings of their axes.
      for (int64_t mask = 0; mask < (int64_t{1} << rank); ++mask) {
        std::vector<int64_t> axes;
        for (int64_t axis = 0; axis < rank; ++axis)
          if (mask & (int64_t{1} << axis)) axes.push_back(mask % 2 == 1 ? axis - rank : axis);
        for (bool keepdims : {false, true}) {
          check_reduce(op, src, axes, keepdims, 13);
          if (::testing::Test::HasFatalFailure()) return;
        }
      }
    }
  }
}

TEST(ReduceKernelTest, AxesAsInputFromOpset18AndForReduceSumFromOpset13) {
  const Tensor src = random_tensor({4, 3, 5}, 11, 0.5f, 1.5f);
  for (const std::string op : kReduceOps) {
    check_reduce(op, src, {-1, 0}, true, 18);
    check_reduce(op, src, {1}, false, 18);
    check_reduce(op, src, {}, false, 18);  // omitted axes: reduce everything
  }
  check_reduce("ReduceSum", src, {2, 0}, false, 13);
  check_reduce("ReduceSum", src, {1}, true, 11);  // attribute before opset 13
}

TEST(ReduceKernelTest, AxesInputCanBeOmitted) {
  const Tensor src = random_tensor({3, 4}, 12);
  const std::vector<Tensor> outputs =
      run_node(make_node("ReduceMean", 2, 1, {int_attribute("keepdims", 0)}), {&src, nullptr}, 18);
  double sum = 0;
  for (int64_t i = 0; i < src.element_count(); ++i) sum += src.value_as_double(i);
  expect_close_values(outputs[0], {sum / 12}, {}, "ReduceMean without axes");
}

TEST(ReduceKernelTest, NoopWithEmptyAxesReducesEachElementAlone) {
  const Tensor src = random_tensor({3, 4}, 13, 0.5f, 1.5f);
  for (const std::string op : kReduceOps) check_reduce(op, src, {}, true, 18, /*noop_with_empty_axes=*/true);
}

TEST(ReduceKernelTest, EmptyReductionGivesIdentityElements) {
  const Tensor src(DataType::kFloat, {3, 0});
  const double infinity = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::string, double>> cases = {{"ReduceSum", 0.0},        {"ReduceProd", 1.0},
                                                             {"ReduceMax", -infinity},  {"ReduceMin", infinity},
                                                             {"ReduceSumSquare", 0.0},  {"ReduceL1", 0.0},
                                                             {"ReduceLogSumExp", -infinity}};
  for (const auto& [op, identity] : cases) {
    const Tensor axes = Tensor::from_vector<int64_t>({1}, {1});
    const std::vector<Tensor> outputs =
        run_node(make_node(op, 2, 1, {int_attribute("keepdims", 0)}), {&src, &axes}, 18);
    expect_close_values(outputs[0], {identity, identity, identity}, {3}, op + " over an empty axis");
  }
}

TEST(ReduceKernelTest, IntegerTypesMatchExactly) {
  std::mt19937 generator(21);
  std::uniform_int_distribution<int32_t> distribution(-50, 50);
  std::vector<int32_t> values(3 * 5 * 4);
  for (int32_t& value : values) value = distribution(generator);
  const Tensor src32 = Tensor::from_vector<int32_t>({3, 5, 4}, values);
  const Tensor src64 = Tensor::from_vector<int64_t>({3, 5, 4}, std::vector<int64_t>(values.begin(), values.end()));
  for (const std::string op : {"ReduceSum", "ReduceMax", "ReduceMin", "ReduceMean", "ReduceL1", "ReduceSumSquare"}) {
    for (const Tensor* src : {&src32, &src64}) {
      check_reduce(op, *src, {1}, true, 13);
      check_reduce(op, *src, {-1, 0}, false, 13);
    }
  }
}

TEST(ReduceKernelTest, ManyOutputsOnSeveralThreads) {
  const Tensor src = random_tensor({997, 61}, 31);
  for (const std::string op : {"ReduceSum", "ReduceMax", "ReduceLogSumExp"}) {
    check_reduce(op, src, {-1}, false, 13, false, /*threads=*/3);
    check_reduce(op, src, {0}, true, 13, false, /*threads=*/3);
  }
}

TEST(ReduceKernelTest, RejectsRepeatedAndOutOfRangeAxes) {
  const Tensor src = random_tensor({2, 3}, 41);
  EXPECT_THROW(run_node(make_node("ReduceMax", 1, 1, {ints_attribute("axes", {1, -1})}), {&src}, 13), Error);
  EXPECT_THROW(run_node(make_node("ReduceMax", 1, 1, {ints_attribute("axes", {2})}), {&src}, 13), Error);
}

// ---------------------------------------------------------------------------------------------
// Softmax, LogSoftmax, Hardmax

// Random integers in a small range stored as T, so that ties are common.
template <typename T>
Tensor tied_tensor(const Shape& shape, uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> distribution(-3, 3);
  std::vector<T> values(static_cast<size_t>(element_count(shape)));
  for (T& value : values) value = static_cast<T>(distribution(generator));
  return Tensor::from_vector<T>(shape, values);
}


// The softmax family over groups of elements: `group_of(flat)` numbers the independent softmaxes.
std::vector<double> naive_softmax(const std::string& op, const Tensor& src,
                                  const std::function<int64_t(int64_t)>& group_of) {
  std::vector<std::vector<int64_t>> members;
  for (int64_t flat = 0; flat < src.element_count(); ++flat) {
    const size_t group = static_cast<size_t>(group_of(flat));
    if (members.size() <= group) members.resize(group + 1);
    members[group].push_back(flat);
  }
  std::vector<double> expected(static_cast<size_t>(src.element_count()));
  for (const std::vector<int64_t>& group : members) {
    double maximum = -std::numeric_limits<double>::infinity();
    int64_t first_argmax = group[0];
    for (int64_t flat : group) {
      if (src.value_as_double(flat) > maximum) {
        maximum = src.value_as_double(flat);
        first_argmax = flat;
      }
    }
    double sum = 0;
    for (int64_t flat : group) sum += std::exp(src.value_as_double(flat) - maximum);
    for (int64_t flat : group) {
      const double shifted = src.value_as_double(flat) - maximum;
      if (op == "Softmax") expected[flat] = std::exp(shifted) / sum;
      if (op == "LogSoftmax") expected[flat] = shifted - std::log(sum);
      if (op == "Hardmax") expected[flat] = flat == first_argmax ? 1.0 : 0.0;
    }
  }
  return expected;
}

void check_softmax(const std::string& op, const Tensor& src, int64_t opset, std::optional<int64_t> axis,
                   int threads = 1) {
  std::ostringstream context;
  context << op << " opset " << opset << " shape " << shape_to_string(src.shape()) << " axis "
          << (axis ? std::to_string(*axis) : "default");
  std::vector<Attribute> attributes;
  if (axis) attributes.push_back(int_attribute("axis", *axis));
  const std::vector<Tensor> outputs = run_node(make_node(op, 1, 1, attributes), {&src}, opset, {}, threads);
  const Shape& shape = src.shape();
  const int64_t rank = src.rank();
  std::function<int64_t(int64_t)> group_of;
  if (opset >= 13) {
    // One softmax per position of every axis except `axis`: drop that index from the multi-index.
    const int64_t along = axis.value_or(-1) < 0 ? axis.value_or(-1) + rank : *axis;
    group_of = [&, along](int64_t flat) {
      std::vector<int64_t> index = unravel(flat, shape);
      Shape other_shape = shape;
      index.erase(index.begin() + along);
      other_shape.erase(other_shape.begin() + along);
      return ravel(index, other_shape);
    };
  } else {
    // Flattened to 2-D at `axis`: one softmax per row of [prod(shape[:axis]), prod(shape[axis:])].
    const int64_t split = axis.value_or(1) < 0 ? axis.value_or(1) + rank : axis.value_or(1);
    int64_t row_length = 1;
    for (int64_t d = split; d < rank; ++d) row_length *= shape[static_cast<size_t>(d)];
    group_of = [row_length](int64_t flat) { return flat / row_length; };
  }
  const std::vector<double> expected = naive_softmax(op, src, group_of);
  if (op == "Hardmax") {
    expect_close_values(outputs[0], expected, shape, context.str(), 0, 0);
  } else {
    expect_close_values(outputs[0], expected, shape, context.str());
  }
}

TEST(SoftmaxKernelTest, EveryAxisBothOpsetSemantics) {
  const Tensor src = random_tensor({3, 4, 5}, 51, -4.0f, 4.0f);
  for (const std::string op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    for (int64_t axis : {-3, -2, -1, 0, 1, 2}) check_softmax(op, src, 13, axis);
    check_softmax(op, src, 13, std::nullopt);
    for (int64_t axis : {-2, 0, 1, 2, 3}) check_softmax(op, src, 11, axis);
    check_softmax(op, src, 11, std::nullopt);
  }
}

TEST(SoftmaxKernelTest, LongRowsOnSeveralThreads) {
  // A 6625-class output row, and attention-like rows, through the contiguous fast path.
  const Tensor classes = random_tensor({2, 6625}, 52, -20.0f, 20.0f);
  const Tensor attention = random_tensor({2, 3, 37, 37}, 53, -10.0f, 10.0f);
  for (const std::string op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    check_softmax(op, classes, 13, -1, 2);
    check_softmax(op, attention, 13, -1, 3);
    check_softmax(op, attention, 13, 1, 3);  // strided along a middle axis
  }
}

TEST(SoftmaxKernelTest, ExpAccurateOverWholeFloatRange) {
  // Rows [0, x]: the second output is exp(x) / (1 + exp(x)), which exercises the exponential for
  // every magnitude down to the smallest normal float.
  constexpr int64_t kRows = 20000;
  std::vector<float> values;
  for (int64_t row = 0; row < kRows; ++row) {
    values.push_back(0.0f);
    values.push_back(-87.0f * static_cast<float>(row) / (kRows - 1) - 1e-3f * static_cast<float>(row % 7));
  }
  const Tensor src = Tensor::from_vector<float>({kRows, 2}, values);
  const std::vector<Tensor> outputs = run_node(make_node("Softmax", 1, 1), {&src}, 13);
  for (int64_t row = 0; row < kRows; ++row) {
    const double x = values[static_cast<size_t>(2 * row + 1)];
    const double expected = std::exp(x) / (1 + std::exp(x));
    // About 4 float ulps: 2 from the exponential, one each from the sum, reciprocal and product.
    constexpr double kExpRelativeTolerance = 5e-7;
    ASSERT_NEAR(outputs[0].value_as_double(2 * row + 1), expected, kExpRelativeTolerance * expected)
        << "Softmax of [0, " << x << "]";
  }
}

TEST(SoftmaxKernelTest, LargeValuesAndMaskedPositions) {
  const float infinity = std::numeric_limits<float>::infinity();
  const Tensor src = Tensor::from_vector<float>({2, 4}, {1000.0f, 1001.0f, 1002.0f, 999.0f,  //
                                                         -infinity, 2.0f, -infinity, -1.0f});
  check_softmax("Softmax", src, 13, -1);
  check_softmax("LogSoftmax", src, 13, -1);
  const std::vector<Tensor> outputs = run_node(make_node("Softmax", 1, 1), {&src}, 13);
  EXPECT_EQ(outputs[0].data<float>()[4], 0.0f) << "a -inf (masked) position must give exactly 0";
}

TEST(SoftmaxKernelTest, HardmaxTiesPickFirstMaximum) {
  const Tensor src = Tensor::from_vector<float>({2, 2, 3}, {3, 1, 3, 2, 2, 2, 0, 5, 5, 5, 1, 1});
  check_softmax("Hardmax", src, 13, -1);
  check_softmax("Hardmax", src, 13, 0);
  check_softmax("Hardmax", src, 11, 1);
  const Tensor tied = tied_tensor<float>({3, 6, 5}, 55);
  for (int64_t axis : {0, 1, 2}) check_softmax("Hardmax", tied, 13, axis);
}

TEST(SoftmaxKernelTest, DoubleInput) {
  Tensor src(DataType::kDouble, {3, 7});
  std::mt19937 generator(54);
  std::uniform_real_distribution<double> distribution(-5, 5);
  for (int64_t i = 0; i < src.element_count(); ++i) src.data<double>()[i] = distribution(generator);
  check_softmax("Softmax", src, 13, -1);
  check_softmax("LogSoftmax", src, 13, 0);
}

// ---------------------------------------------------------------------------------------------
// ArgMax, ArgMin

void check_arg_extremum(const std::string& op, const Tensor& src, int64_t axis, bool keepdims, bool select_last) {
  std::ostringstream context;
  context << op << " shape " << shape_to_string(src.shape()) << " axis " << axis << " keepdims " << keepdims
          << " select_last_index " << select_last;
  const std::vector<Tensor> outputs =
      run_node(make_node(op, 1, 1,
                         {int_attribute("axis", axis), int_attribute("keepdims", keepdims ? 1 : 0),
                          int_attribute("select_last_index", select_last ? 1 : 0)}),
               {&src}, 13);
  const Shape& shape = src.shape();
  const int64_t along = axis < 0 ? axis + src.rank() : axis;
  Shape other_shape = shape;
  other_shape.erase(other_shape.begin() + along);
  Shape expected_shape = shape;
  expected_shape[static_cast<size_t>(along)] = 1;
  if (!keepdims) expected_shape = other_shape;
  std::vector<double> best(static_cast<size_t>(element_count(other_shape)), std::nan(""));
  std::vector<double> expected(best.size(), -1);
  for (int64_t flat = 0; flat < src.element_count(); ++flat) {
    std::vector<int64_t> index = unravel(flat, shape);
    const int64_t position = index[static_cast<size_t>(along)];
    index.erase(index.begin() + along);
    const size_t group = static_cast<size_t>(ravel(index, other_shape));
    const double value = src.value_as_double(flat);
    const bool strictly_better = op == "ArgMax" ? value > best[group] : value < best[group];
    // Positions arrive in increasing order, so "first" keeps the earliest and "last" takes equals.
    if (std::isnan(best[group]) || strictly_better || (select_last && value == best[group])) {
      best[group] = value;
      expected[group] = static_cast<double>(position);
    }
  }
  ASSERT_EQ(outputs[0].dtype(), DataType::kInt64) << context.str();
  expect_close_values(outputs[0], expected, expected_shape, context.str(), 0, 0);
}

TEST(ArgExtremumKernelTest, AllAxesTiesAndTypes) {
  const Tensor floats = tied_tensor<float>({3, 5, 4}, 61);
  const Tensor ints = tied_tensor<int32_t>({2, 1, 7}, 62);
  const Tensor bytes = tied_tensor<int8_t>({9}, 63);
  for (const std::string op : {"ArgMax", "ArgMin"}) {
    for (const Tensor* src : {&floats, &ints, &bytes}) {
      for (int64_t axis = -src->rank(); axis < src->rank(); ++axis) {
        for (bool keepdims : {false, true})
          for (bool select_last : {false, true}) check_arg_extremum(op, *src, axis, keepdims, select_last);
      }
    }
  }
}

TEST(ArgExtremumKernelTest, DefaultsAreAxisZeroKeepdims) {
  const Tensor src = Tensor::from_vector<float>({2, 3}, {1, 9, 3, 4, 5, 6});
  const std::vector<Tensor> outputs = run_node(make_node("ArgMax", 1, 1), {&src}, 13);
  ASSERT_EQ(outputs[0].shape(), (Shape{1, 3}));
  EXPECT_EQ(outputs[0].to_int64_vector(), (std::vector<int64_t>{1, 0, 1}));
}

// ---------------------------------------------------------------------------------------------
// TopK

void check_top_k(const Tensor& src, int64_t k, int64_t axis, bool largest, int64_t opset, int threads = 1) {
  std::ostringstream context;
  context << "TopK opset " << opset << " shape " << shape_to_string(src.shape()) << " k " << k << " axis " << axis
          << " largest " << largest;
  std::vector<Attribute> attributes = {int_attribute("axis", axis), int_attribute("largest", largest ? 1 : 0)};
  const Tensor k_tensor = Tensor::from_vector<int64_t>({1}, {k});
  std::vector<Tensor> outputs;
  if (opset >= 10) {
    outputs = run_node(make_node("TopK", 2, 2, attributes), {&src, &k_tensor}, opset, {}, threads);
  } else {
    attributes.push_back(int_attribute("k", k));
    outputs = run_node(make_node("TopK", 1, 2, attributes), {&src}, opset, {}, threads);
  }
  const Shape& shape = src.shape();
  const int64_t along = axis < 0 ? axis + src.rank() : axis;
  Shape expected_shape = shape;
  expected_shape[static_cast<size_t>(along)] = k;
  // Reference: for each position of the other axes, stable-sort the indices along `axis` by value.
  Shape other_shape = shape;
  other_shape.erase(other_shape.begin() + along);
  std::vector<double> expected_values(static_cast<size_t>(element_count(expected_shape)));
  std::vector<double> expected_indices(expected_values.size());
  for (int64_t group = 0; group < element_count(other_shape); ++group) {
    const std::vector<int64_t> other_index = unravel(group, other_shape);
    auto flat_at = [&](const Shape& target_shape, int64_t position) {
      std::vector<int64_t> index = other_index;
      index.insert(index.begin() + along, position);
      return ravel(index, target_shape);
    };
    std::vector<int64_t> order(static_cast<size_t>(shape[static_cast<size_t>(along)]));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const double value_a = src.value_as_double(flat_at(shape, a));
      const double value_b = src.value_as_double(flat_at(shape, b));
      return largest ? value_a > value_b : value_a < value_b;
    });
    for (int64_t j = 0; j < k; ++j) {
      const size_t destination = static_cast<size_t>(flat_at(expected_shape, j));
      expected_values[destination] = src.value_as_double(flat_at(shape, order[static_cast<size_t>(j)]));
      expected_indices[destination] = static_cast<double>(order[static_cast<size_t>(j)]);
    }
  }
  ASSERT_EQ(outputs[0].dtype(), src.dtype()) << context.str();
  ASSERT_EQ(outputs[1].dtype(), DataType::kInt64) << context.str();
  expect_close_values(outputs[0], expected_values, expected_shape, context.str() + " values", 0, 0);
  expect_close_values(outputs[1], expected_indices, expected_shape, context.str() + " indices", 0, 0);
}

TEST(TopKKernelTest, AllAxesBothDirectionsWithTies) {
  const Tensor tied = tied_tensor<float>({3, 7, 4}, 71);
  const Tensor distinct = random_tensor({5, 11}, 72);
  const Tensor ints = tied_tensor<int64_t>({4, 9}, 73);
  for (const Tensor* src : {&tied, &distinct, &ints}) {
    for (int64_t axis = -src->rank(); axis < src->rank(); ++axis) {
      const int64_t length = src->dim(axis < 0 ? axis + src->rank() : axis);
      for (int64_t k : {int64_t{0}, int64_t{1}, length / 2, length}) {
        for (bool largest : {true, false}) check_top_k(*src, k, axis, largest, 11);
      }
    }
  }
}

TEST(TopKKernelTest, KAttributeBeforeOpset10AndThreads) {
  const Tensor src = tied_tensor<float>({6, 13}, 74);
  check_top_k(src, 3, -1, true, 1);
  check_top_k(src, 5, 0, true, 1);
  const Tensor wide = random_tensor({400, 90}, 75);
  check_top_k(wide, 7, -1, false, 11, /*threads=*/3);
}

TEST(TopKKernelTest, RejectsKLargerThanAxis) {
  const Tensor src = random_tensor({2, 3}, 76);
  const Tensor k = Tensor::from_vector<int64_t>({1}, {4});
  EXPECT_THROW(run_node(make_node("TopK", 2, 2), {&src, &k}, 11), Error);
}

}  // namespace
}  // namespace octet
