// Tests of the normalization reference kernels (BatchNormalization, InstanceNormalization,
// LayerNormalization, LRN, MeanVarianceNormalization) against the defining formulas evaluated
// here in double with plain multi-index loops.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace octet {
namespace {

using testing::float_attribute;
using testing::int_attribute;
using testing::ints_attribute;
using testing::make_node;
using testing::run_node;

// Kernels and references both work in double and round once to float; normalized values are of
// order 1 to 10, so they agree to a few float ulps.
constexpr double kFloatTolerance = 1e-5;

std::vector<int64_t> unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

// The flat index, in a tensor of `shape`, of the element at `index` with every axis where
// shape is 1 read at 0 (trailing-aligned broadcast).
int64_t broadcast_index(const std::vector<int64_t>& index, const Shape& shape) {
  const size_t offset = index.size() - shape.size();
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + (shape[d] == 1 ? 0 : index[offset + d]);
  return flat;
}

Tensor from_doubles(const Shape& shape, const std::vector<double>& values) {
  std::vector<float> floats(values.begin(), values.end());
  return Tensor::from_vector<float>(shape, floats);
}

double at(const Tensor& tensor, int64_t index) { return tensor.data<float>()[index]; }

TEST(NormalizationTest, BatchNormalizationUsesRunningStatistics) {
  uint32_t seed = 1;
  for (const Shape& shape : std::vector<Shape>{{2, 3, 4, 5}, {3, 4}, {1, 2, 7}, {2, 2, 2, 3, 2}}) {
    const int64_t channels = shape[1];
    const Tensor x = testing::random_tensor(shape, seed++, -3.0f, 3.0f);
    const Tensor scale = testing::random_tensor({channels}, seed++, 0.5f, 2.0f);
    const Tensor bias = testing::random_tensor({channels}, seed++);
    const Tensor mean = testing::random_tensor({channels}, seed++);
    const Tensor variance = testing::random_tensor({channels}, seed++, 0.1f, 2.0f);
    const float epsilon = 1e-3f;
    const int64_t plane = x.element_count() / (shape[0] * channels);
    std::vector<double> expected;
    for (int64_t i = 0; i < x.element_count(); ++i) {
      const int64_t c = i / plane % channels;
      expected.push_back((at(x, i) - at(mean, c)) / std::sqrt(at(variance, c) + epsilon) * at(scale, c) + at(bias, c));
    }
    for (int64_t opset : {6, 9, 15}) {
      const Node node = make_node("BatchNormalization", 5, 1, {float_attribute("epsilon", epsilon)});
      const Tensor y = std::move(run_node(node, {&x, &scale, &bias, &mean, &variance}, opset)[0]);
      testing::expect_near(y, from_doubles(shape, expected), kFloatTolerance,
                           concat("shape ", shape_to_string(shape), " opset ", opset));
    }
  }
}

TEST(NormalizationTest, BatchNormalizationRefusesTrainingMode) {
  const Tensor x = testing::random_tensor({1, 2, 3}, 10);
  const Tensor stats = testing::random_tensor({2}, 11, 0.5f, 1.0f);
  const Node node = make_node("BatchNormalization", 5, 3, {int_attribute("training_mode", 1)});
  EXPECT_THROW(run_node(node, {&x, &stats, &stats, &stats, &stats}, 15), UnsupportedError);
}

TEST(NormalizationTest, InstanceNormalizationNormalizesEachPlane) {
  uint32_t seed = 20;
  for (const Shape& shape : std::vector<Shape>{{2, 3, 5, 4}, {1, 4, 9}, {3, 1, 2, 3, 2}}) {
    const int64_t channels = shape[1];
    const Tensor x = testing::random_tensor(shape, seed++, -2.0f, 5.0f);
    const Tensor scale = testing::random_tensor({channels}, seed++);
    const Tensor bias = testing::random_tensor({channels}, seed++);
    const float epsilon = 0.01f;
    const int64_t plane = x.element_count() / (shape[0] * channels);
    std::vector<double> expected(static_cast<size_t>(x.element_count()));
    for (int64_t p = 0; p < shape[0] * channels; ++p) {
      double mean = 0;
      for (int64_t i = 0; i < plane; ++i) mean += at(x, p * plane + i) / static_cast<double>(plane);
      double variance = 0;
      for (int64_t i = 0; i < plane; ++i)
        variance += std::pow(at(x, p * plane + i) - mean, 2) / static_cast<double>(plane);
      const int64_t c = p % channels;
      for (int64_t i = 0; i < plane; ++i)
        expected[static_cast<size_t>(p * plane + i)] =
            (at(x, p * plane + i) - mean) / std::sqrt(variance + epsilon) * at(scale, c) + at(bias, c);
    }
    const Node node = make_node("InstanceNormalization", 3, 1, {float_attribute("epsilon", epsilon)});
    testing::expect_near(run_node(node, {&x, &scale, &bias})[0], from_doubles(shape, expected), kFloatTolerance,
                         "shape " + shape_to_string(shape));
  }
}

TEST(NormalizationTest, LayerNormalizationOverTrailingAxes) {
  struct Case {
    Shape shape;
    int64_t axis;
    Shape scale_shape;  // broadcast to shape[axis:]
    bool with_bias;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5}, -1, {5}, true},     {{2, 3, 5}, 1, {3, 5}, true}, {{2, 3, 5}, 0, {2, 3, 5}, false},
      {{4, 7}, -2, {4, 7}, true},     {{2, 3, 4, 6}, 2, {6}, true}, {{2, 3, 4, 6}, -3, {3, 1, 6}, true},
      {{3, 1, 257}, -1, {257}, true},
  };
  uint32_t seed = 40;
  for (const Case& test : cases) {
    const int64_t rank = static_cast<int64_t>(test.shape.size());
    const int64_t axis = test.axis < 0 ? test.axis + rank : test.axis;
    const Tensor x = testing::random_tensor(test.shape, seed++, -4.0f, 4.0f);
    const Tensor scale = testing::random_tensor(test.scale_shape, seed++);
    const Tensor bias = testing::random_tensor(test.scale_shape, seed++);
    const float epsilon = 1e-3f;
    int64_t row = 1;
    for (int64_t d = axis; d < rank; ++d) row *= test.shape[static_cast<size_t>(d)];
    const int64_t rows = x.element_count() / row;
    const Shape normalized(test.shape.begin() + axis, test.shape.end());
    std::vector<double> expected(static_cast<size_t>(x.element_count()));
    std::vector<double> means, inv_std_devs;
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0;
      for (int64_t i = 0; i < row; ++i) mean += at(x, r * row + i) / static_cast<double>(row);
      double variance = 0;
      for (int64_t i = 0; i < row; ++i) variance += std::pow(at(x, r * row + i) - mean, 2) / static_cast<double>(row);
      const double inv_std_dev = 1 / std::sqrt(variance + epsilon);
      means.push_back(mean);
      inv_std_devs.push_back(inv_std_dev);
      for (int64_t i = 0; i < row; ++i) {
        const int64_t parameter = broadcast_index(unravel(i, normalized), test.scale_shape);
        expected[static_cast<size_t>(r * row + i)] = (at(x, r * row + i) - mean) * inv_std_dev * at(scale, parameter) +
                                                     (test.with_bias ? at(bias, parameter) : 0.0);
      }
    }
    Shape statistics_shape(test.shape.begin(), test.shape.begin() + axis);
    statistics_shape.resize(test.shape.size(), 1);
    const Node node = make_node("LayerNormalization", test.with_bias ? 3 : 2, 3,
                                {int_attribute("axis", test.axis), float_attribute("epsilon", epsilon)});
    const std::vector<Tensor> outputs =
        test.with_bias ? run_node(node, {&x, &scale, &bias}) : run_node(node, {&x, &scale});
    const std::string context = concat("shape ", shape_to_string(test.shape), " axis ", test.axis);
    testing::expect_near(outputs[0], from_doubles(test.shape, expected), kFloatTolerance, context);
    testing::expect_near(outputs[1], from_doubles(statistics_shape, means), kFloatTolerance, context + " Mean");
    testing::expect_near(outputs[2], from_doubles(statistics_shape, inv_std_devs), kFloatTolerance,
                         context + " InvStdDev");
  }
}

TEST(NormalizationTest, LrnSumsSquaresOverNeighbouringChannels) {
  uint32_t seed = 60;
  for (int64_t size : {1, 3, 4, 5}) {
    const Shape shape = {2, 6, 3, 4};
    const Tensor x = testing::random_tensor(shape, seed++, -3.0f, 3.0f);
    const float alpha = 0.01f, beta = 0.6f, bias = 1.5f;
    std::vector<double> expected;
    for (int64_t i = 0; i < x.element_count(); ++i) {
      const std::vector<int64_t> index = unravel(i, shape);
      double square_sum = 0;
      // Channels c - floor((size - 1) / 2) to c + ceil((size - 1) / 2), clipped to the tensor.
      for (int64_t c = index[1] - (size - 1) / 2; c <= index[1] + size / 2; ++c) {
        if (c < 0 || c >= shape[1]) continue;
        std::vector<int64_t> neighbour = index;
        neighbour[1] = c;
        int64_t flat = 0;
        for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + neighbour[d];
        square_sum += at(x, flat) * at(x, flat);
      }
      expected.push_back(at(x, i) / std::pow(bias + alpha / static_cast<double>(size) * square_sum, beta));
    }
    const Node node = make_node("LRN", 1, 1,
                                {int_attribute("size", size), float_attribute("alpha", alpha),
                                 float_attribute("beta", beta), float_attribute("bias", bias)});
    testing::expect_near(run_node(node, {&x})[0], from_doubles(shape, expected), kFloatTolerance,
                         concat("size ", size));
  }
}

TEST(NormalizationTest, MeanVarianceNormalizationOverAxes) {
  // The op divides by the standard deviation plus this constant (its ONNX function body).
  constexpr double kStdDevEpsilon = 1e-9;
  struct Case {
    Shape shape;
    std::vector<int64_t> axes;  // empty: the default [0, 2, 3]
  };
  const std::vector<Case> cases = {
      {{2, 3, 4, 5}, {}}, {{2, 3, 4, 5}, {1}}, {{3, 2, 5}, {-1}}, {{2, 3, 4, 2}, {0, 1, 2, 3}}};
  uint32_t seed = 80;
  for (const Case& test : cases) {
    const Tensor x = testing::random_tensor(test.shape, seed++, -2.0f, 3.0f);
    const std::vector<int64_t> axes = test.axes.empty() ? std::vector<int64_t>{0, 2, 3} : test.axes;
    const int64_t rank = static_cast<int64_t>(test.shape.size());
    Shape kept = test.shape;
    for (int64_t axis : axes) kept[static_cast<size_t>(axis < 0 ? axis + rank : axis)] = 1;
    const int64_t groups = element_count(kept);
    const double group_size = static_cast<double>(x.element_count() / groups);
    std::vector<double> mean(static_cast<size_t>(groups)), variance(static_cast<size_t>(groups));
    std::vector<int64_t> group_of;
    for (int64_t i = 0; i < x.element_count(); ++i) group_of.push_back(broadcast_index(unravel(i, test.shape), kept));
    for (int64_t i = 0; i < x.element_count(); ++i) mean[static_cast<size_t>(group_of[i])] += at(x, i) / group_size;
    for (int64_t i = 0; i < x.element_count(); ++i) {
      const size_t g = static_cast<size_t>(group_of[static_cast<size_t>(i)]);
      variance[g] += std::pow(at(x, i) - mean[g], 2) / group_size;
    }
    std::vector<double> expected;
    for (int64_t i = 0; i < x.element_count(); ++i) {
      const size_t g = static_cast<size_t>(group_of[static_cast<size_t>(i)]);
      expected.push_back((at(x, i) - mean[g]) / (std::sqrt(variance[g]) + kStdDevEpsilon));
    }
    std::vector<Attribute> attributes;
    if (!test.axes.empty()) attributes.push_back(ints_attribute("axes", test.axes));
    const Node node = make_node("MeanVarianceNormalization", 1, 1, attributes);
    testing::expect_near(run_node(node, {&x}, 13)[0], from_doubles(test.shape, expected), kFloatTolerance,
                         "shape " + shape_to_string(test.shape));
  }
}

TEST(NormalizationTest, ThreadedRunMatchesSingleThread) {
  const Tensor x = testing::random_tensor({4, 16, 9, 11}, 90);
  const Tensor scale = testing::random_tensor({16}, 91);
  const Tensor bias = testing::random_tensor({16}, 92);
  const Node instance = make_node("InstanceNormalization", 3, 1);
  testing::expect_near(run_node(instance, {&x, &scale, &bias}, 17, {}, 3)[0],
                       run_node(instance, {&x, &scale, &bias})[0], 0.0, "InstanceNormalization");
  const Node lrn = make_node("LRN", 1, 1, {int_attribute("size", 5)});
  testing::expect_near(run_node(lrn, {&x}, 17, {}, 3)[0], run_node(lrn, {&x})[0], 0.0, "LRN");
}

}  // namespace
}  // namespace octet
