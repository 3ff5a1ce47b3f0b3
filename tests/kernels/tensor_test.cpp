// Tests of the shape and data-movement reference kernels (tensor*.cpp). Every expected output is
// built here element by element from the op's definition over multi-indices, independently of the
// strided-copy machinery the kernels share. Data-movement results must be bit-identical, so inputs
// are random bit patterns of each element size (1, 2, 4 and 8 bytes) and comparisons are exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/float16.h"
#include "kernel_test_util.h"

namespace octet {
namespace {

using testing::float_attribute;
using testing::int_attribute;
using testing::ints_attribute;
using testing::make_node;
using testing::run_node;
using testing::string_attribute;

using Index = std::vector<int64_t>;

// One type per element size, so every dispatch_any branch runs.
const std::vector<DataType> kMovedTypes = {DataType::kUint8, DataType::kFloat16, DataType::kFloat, DataType::kInt64};

Index unravel(int64_t linear, const Shape& shape) {
  Index index(shape.size());
  for (size_t axis = shape.size(); axis-- > 0;) {
    index[axis] = linear % shape[axis];
    linear /= shape[axis];
  }
  return index;
}

int64_t ravel(const Index& index, const Shape& shape) {
  int64_t linear = 0;
  for (size_t axis = 0; axis < shape.size(); ++axis) linear = linear * shape[axis] + index[axis];
  return linear;
}

std::string to_string(const std::vector<int64_t>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) text += (i ? "," : "") + std::to_string(values[i]);
  return text + "]";
}

// A tensor whose bytes are random (for float types this includes NaN patterns: only bits matter).
Tensor random_bits(DataType dtype, const Shape& shape, uint32_t seed) {
  Tensor tensor(dtype, shape);
  std::mt19937 generator(seed);
  auto* bytes = static_cast<uint8_t*>(tensor.raw_data());
  for (size_t i = 0; i < tensor.byte_size(); ++i) bytes[i] = static_cast<uint8_t>(generator());
  return tensor;
}

template <typename T>
Tensor random_ints(const Shape& shape, uint32_t seed, int64_t low, int64_t high) {
  Tensor tensor(dtype_of<T>(), shape);
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int64_t> distribution(low, high);
  for (int64_t i = 0; i < tensor.element_count(); ++i) tensor.data<T>()[i] = static_cast<T>(distribution(generator));
  return tensor;
}

Tensor int64_vector(const std::vector<int64_t>& values) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(values.size())}, values);
}

// Expected output of a data-movement op: element `o` of a `shape` tensor is src[source(o)], or zero
// bits when source returns nullopt.
template <typename Source>
Tensor moved_reference(const Tensor& src, const Shape& shape, Source source) {
  Tensor expected(src.dtype(), shape);
  const size_t element_size = dtype_size(src.dtype());
  for (int64_t o = 0; o < expected.element_count(); ++o) {
    const std::optional<Index> from = source(unravel(o, shape));
    if (!from) continue;
    std::memcpy(static_cast<std::byte*>(expected.raw_data()) + o * element_size,
                static_cast<const std::byte*>(src.raw_data()) + ravel(*from, src.shape()) * element_size, element_size);
  }
  return expected;
}

// Same type, shape and bits; reports the first differing element.
void expect_identical(const Tensor& actual, const Tensor& expected, const std::string& context) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << context;
  ASSERT_EQ(actual.shape(), expected.shape())
      << context << ": actual " << shape_to_string(actual.shape()) << ", expected " << shape_to_string(expected.shape());
  const size_t element_size = dtype_size(expected.dtype());
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    ASSERT_EQ(std::memcmp(static_cast<const std::byte*>(actual.raw_data()) + i * element_size,
                          static_cast<const std::byte*>(expected.raw_data()) + i * element_size, element_size),
              0)
        << context << ": element " << i << " (index " << to_string(unravel(i, expected.shape())) << ") differs";
  }
}

std::vector<Tensor> run_op(const Node& node, const std::vector<const Tensor*>& inputs, int64_t opset = 17, int threads = 1) {
  return run_node(node, inputs, opset, {}, threads);
}

// ---------------------------------------------------------------------------------------------
// Transpose

Tensor transpose_reference(const Tensor& src, const std::vector<int64_t>& perm) {
  Shape shape(perm.size());
  for (size_t axis = 0; axis < perm.size(); ++axis) shape[axis] = src.dim(perm[axis]);
  return moved_reference(src, shape, [&](const Index& out) {
    Index in(out.size());
    for (size_t axis = 0; axis < perm.size(); ++axis) in[static_cast<size_t>(perm[axis])] = out[axis];
    return std::optional<Index>(in);
  });
}

TEST(TensorOpsTranspose, EveryPermutationOfSmallShapesMatchesDefinition) {
  const std::vector<Shape> shapes = {{7}, {3, 5}, {2, 3, 4}, {2, 1, 3, 5}, {3, 2, 1, 4, 5}};
  uint32_t seed = 1;
  for (const Shape& shape : shapes) {
    std::vector<int64_t> perm(shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    do {
      const DataType dtype = kMovedTypes[seed % kMovedTypes.size()];
      const Tensor src = random_bits(dtype, shape, seed++);
      const auto outputs = run_op(make_node("Transpose", 1, 1, {ints_attribute("perm", perm)}), {&src});
      expect_identical(outputs[0], transpose_reference(src, perm),
                       concat("shape ", shape_to_string(shape), " perm ", to_string(perm), " type ", dtype_name(dtype)));
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

// Activation-sized tensors take the tiled path (NCHW <-> NHWC and 5-D variants) with tails in every
// tile direction, single- and multi-threaded.
TEST(TensorOpsTranspose, LargeActivationsTiledAndThreaded) {
  struct Case {
    Shape shape;
    std::vector<int64_t> perm;
  };
  const std::vector<Case> cases = {
      {{2, 37, 41, 19}, {0, 2, 3, 1}}, {{2, 41, 19, 37}, {0, 3, 1, 2}}, {{1, 3, 67, 65}, {0, 2, 3, 1}},
      {{2, 3, 17, 9, 33}, {0, 2, 3, 4, 1}}, {{2, 17, 9, 5, 35}, {0, 4, 1, 2, 3}}, {{3, 70, 66}, {0, 2, 1}},
      {{65, 129}, {1, 0}}, {{4, 33, 35, 2}, {2, 0, 3, 1}}};
  uint32_t seed = 100;
  for (const Case& test_case : cases) {
    for (DataType dtype : kMovedTypes) {
      const Tensor src = random_bits(dtype, test_case.shape, seed++);
      const Tensor expected = transpose_reference(src, test_case.perm);
      for (int threads : {1, 3}) {
        const auto outputs =
            run_op(make_node("Transpose", 1, 1, {ints_attribute("perm", test_case.perm)}), {&src}, 17, threads);
        expect_identical(outputs[0], expected,
                         concat("shape ", shape_to_string(test_case.shape), " perm ", to_string(test_case.perm), " type ",
                                dtype_name(dtype), " threads ", threads));
      }
    }
  }
}

TEST(TensorOpsTranspose, DefaultPermReversesAxesAndBadPermThrows) {
  const Tensor src = random_bits(DataType::kFloat, {2, 3, 4}, 7);
  expect_identical(run_op(make_node("Transpose", 1, 1), {&src})[0], transpose_reference(src, {2, 1, 0}), "default perm");
  EXPECT_THROW(run_op(make_node("Transpose", 1, 1, {ints_attribute("perm", {0, 0, 1})}), {&src}), Error);
  EXPECT_THROW(run_op(make_node("Transpose", 1, 1, {ints_attribute("perm", {0, 1})}), {&src}), Error);
}

// ---------------------------------------------------------------------------------------------
// Slice

// Input indices start:end:step selects along an axis of size `dim`, found by filtering every index.
// Negative bounds count from the end. As the ONNX spec says (and unlike numpy), a backward start
// still before index 0 after that clamps to 0, selecting element 0.
std::vector<int64_t> selected_indices(int64_t start, int64_t end, int64_t step, int64_t dim) {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  std::vector<int64_t> selected;
  if (step > 0) {
    const int64_t first = std::max<int64_t>(start, 0);
    for (int64_t i = 0; i < dim; ++i)
      if (i >= first && i < end && (i - first) % step == 0) selected.push_back(i);
  } else {
    const int64_t first = std::clamp<int64_t>(start, 0, dim - 1);
    for (int64_t i = dim - 1; i >= 0; --i)
      if (i <= first && i > end && (first - i) % -step == 0) selected.push_back(i);
  }
  return selected;
}

TEST(TensorOpsSlice, RandomBoundsAndStepsMatchFilterReference) {
  std::mt19937 generator(42);
  const std::vector<Shape> shapes = {{9}, {4, 7}, {3, 5, 6}, {2, 3, 4, 5}, {0, 3}};
  const std::vector<int64_t> extremes = {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                                         -std::numeric_limits<int64_t>::max()};
  uint32_t seed = 1;
  for (int trial = 0; trial < 300; ++trial) {
    const Shape& shape = shapes[trial % shapes.size()];
    const int64_t rank = static_cast<int64_t>(shape.size());
    std::vector<int64_t> axes(shape.size());
    std::iota(axes.begin(), axes.end(), 0);
    std::shuffle(axes.begin(), axes.end(), generator);
    axes.resize(1 + generator() % shape.size());
    std::vector<int64_t> starts, ends, steps;
    std::vector<std::vector<int64_t>> selected(shape.size());
    for (size_t axis = 0; axis < shape.size(); ++axis) {
      selected[axis].resize(static_cast<size_t>(shape[axis]));
      std::iota(selected[axis].begin(), selected[axis].end(), 0);
    }
    for (int64_t& axis : axes) {
      const int64_t dim = shape[static_cast<size_t>(axis)];
      auto bound = [&]() {
        if (generator() % 8 == 0) return extremes[generator() % extremes.size()];
        return static_cast<int64_t>(generator() % (2 * dim + 7)) - dim - 3;
      };
      const int64_t step = std::vector<int64_t>{-3, -2, -1, 1, 2, 3}[generator() % 6];
      starts.push_back(bound());
      ends.push_back(bound());
      steps.push_back(step);
      selected[static_cast<size_t>(axis)] = selected_indices(starts.back(), ends.back(), step, dim);
      if (generator() % 2) axis -= rank;  // negative axes mean the same
    }
    Shape expected_shape;
    for (const auto& indices : selected) expected_shape.push_back(static_cast<int64_t>(indices.size()));
    const DataType dtype = kMovedTypes[trial % kMovedTypes.size()];
    const Tensor src = random_bits(dtype, shape, seed++);
    const Tensor expected = moved_reference(src, expected_shape, [&](const Index& out) {
      Index in(out.size());
      for (size_t axis = 0; axis < out.size(); ++axis) in[axis] = selected[axis][static_cast<size_t>(out[axis])];
      return std::optional<Index>(in);
    });
    const Tensor starts_tensor = int64_vector(starts), ends_tensor = int64_vector(ends), axes_tensor = int64_vector(axes),
                 steps_tensor = int64_vector(steps);
    const auto outputs =
        run_op(make_node("Slice", 5, 1), {&src, &starts_tensor, &ends_tensor, &axes_tensor, &steps_tensor}, 13);
    expect_identical(outputs[0], expected,
                     concat("shape ", shape_to_string(shape), " starts ", to_string(starts), " ends ", to_string(ends),
                            " axes ", to_string(axes), " steps ", to_string(steps)));
  }
}

TEST(TensorOpsSlice, OptionalInputsAndAttributeForm) {
  const Tensor src = random_bits(DataType::kFloat, {4, 6}, 3);
  const Tensor starts = Tensor::from_vector<int32_t>({2}, {1, -4});
  const Tensor ends = Tensor::from_vector<int32_t>({2}, {3, 100});
  const Tensor expected = moved_reference(src, {2, 4}, [](const Index& out) {
    return std::optional<Index>(Index{out[0] + 1, out[1] + 2});
  });
  expect_identical(run_op(make_node("Slice", 3, 1), {&src, &starts, &ends}, 13)[0], expected, "int32 inputs, no axes");
  const Node old = make_node("Slice", 1, 1, {ints_attribute("starts", {1, -4}), ints_attribute("ends", {3, 100})});
  expect_identical(run_op(old, {&src}, 9)[0], expected, "opset 9 attributes");
  const Tensor zero_step = int64_vector({0, 1});
  const Tensor axes = int64_vector({0, 1});
  EXPECT_THROW(run_op(make_node("Slice", 5, 1), {&src, &starts, &ends, &axes, &zero_step}, 13), Error);
  const Tensor repeated_axes = int64_vector({1, -1});
  EXPECT_THROW(run_op(make_node("Slice", 4, 1), {&src, &starts, &ends, &repeated_axes}, 13), Error);
}

// ---------------------------------------------------------------------------------------------
// Concat and Split

TEST(TensorOpsConcat, EveryAxisWithUnevenAndEmptyInputs) {
  const Shape base = {2, 3, 4};
  uint32_t seed = 10;
  for (int64_t axis = -3; axis < 3; ++axis) {
    const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
    for (DataType dtype : kMovedTypes) {
      std::vector<Tensor> inputs;
      for (int64_t size : {2, 0, 5, 1}) {
        Shape shape = base;
        shape[a] = size;
        inputs.push_back(random_bits(dtype, shape, seed++));
      }
      Shape shape = base;
      shape[a] = 8;
      // Output index along the axis -> (input, index within it).
      std::vector<std::pair<size_t, int64_t>> origin;
      for (size_t i = 0; i < inputs.size(); ++i)
        for (int64_t j = 0; j < inputs[i].dim(static_cast<int64_t>(a)); ++j) origin.emplace_back(i, j);
      Tensor expected(dtype, shape);
      const size_t element_size = dtype_size(dtype);
      for (int64_t o = 0; o < expected.element_count(); ++o) {
        Index index = unravel(o, shape);
        const auto [input, within] = origin[static_cast<size_t>(index[a])];
        index[a] = within;
        std::memcpy(static_cast<std::byte*>(expected.raw_data()) + o * element_size,
                    static_cast<const std::byte*>(inputs[input].raw_data()) + ravel(index, inputs[input].shape()) * element_size,
                    element_size);
      }
      const auto outputs = run_op(make_node("Concat", 4, 1, {int_attribute("axis", axis)}),
                                  {&inputs[0], &inputs[1], &inputs[2], &inputs[3]});
      expect_identical(outputs[0], expected, concat("axis ", axis, " type ", dtype_name(dtype)));
    }
  }
  const Tensor a = random_bits(DataType::kFloat, {2, 3}, 1), b = random_bits(DataType::kFloat, {3, 3}, 2);
  EXPECT_THROW(run_op(make_node("Concat", 2, 1, {int_attribute("axis", 1)}), {&a, &b}), Error);
}

// Checks that the outputs of Split are consecutive slices of `src` along `axis` of sizes `sizes`.
void expect_split(const Tensor& src, int64_t axis, const std::vector<int64_t>& sizes, const std::vector<Tensor>& outputs,
                  const std::string& context) {
  ASSERT_EQ(outputs.size(), sizes.size()) << context;
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Shape shape = src.shape();
    shape[static_cast<size_t>(axis)] = sizes[i];
    const Tensor expected = moved_reference(src, shape, [&](const Index& out) {
      Index in = out;
      in[static_cast<size_t>(axis)] += offset;
      return std::optional<Index>(in);
    });
    expect_identical(outputs[i], expected, concat(context, " output ", i));
    offset += sizes[i];
  }
}

TEST(TensorOpsSplit, EqualVariableAndUnevenParts) {
  const Tensor src = random_bits(DataType::kFloat16, {4, 6, 5}, 5);
  expect_split(src, 1, {2, 2, 2}, run_op(make_node("Split", 1, 3, {int_attribute("axis", 1)}), {&src}), "equal parts");
  expect_split(src, 2, {1, 0, 4},
               run_op(make_node("Split", 1, 3, {int_attribute("axis", -1), ints_attribute("split", {1, 0, 4})}), {&src}, 11),
               "attribute sizes");
  const Tensor sizes = int64_vector({3, 1});
  expect_split(src, 0, {3, 1}, run_op(make_node("Split", 2, 2), {&src, &sizes}, 13), "input sizes");
  expect_split(src, 2, {2, 2, 1},
               run_op(make_node("Split", 1, 3, {int_attribute("axis", 2), int_attribute("num_outputs", 3)}), {&src}, 18),
               "num_outputs, last part smaller");
  EXPECT_THROW(run_op(make_node("Split", 1, 4, {int_attribute("axis", 1)}), {&src}), Error);  // 6 into 4 parts
  const Tensor bad_sizes = int64_vector({3, 2});
  EXPECT_THROW(run_op(make_node("Split", 2, 2), {&src, &bad_sizes}, 13), Error);
}

// ---------------------------------------------------------------------------------------------
// Pad

// Reflects an out-of-range position back into [0, dim) by bouncing off both ends.
int64_t bounce(int64_t position, int64_t dim) {
  if (dim == 1) return 0;
  while (position < 0 || position >= dim) position = position < 0 ? -position : 2 * (dim - 1) - position;
  return position;
}

Tensor pad_reference(const Tensor& src, const std::vector<int64_t>& pads, const std::string& mode, double value) {
  const size_t rank = src.shape().size();
  Shape shape(rank);
  for (size_t axis = 0; axis < rank; ++axis) shape[axis] = src.shape()[axis] + pads[axis] + pads[axis + rank];
  Tensor expected = moved_reference(src, shape, [&](const Index& out) -> std::optional<Index> {
    Index in(rank);
    for (size_t axis = 0; axis < rank; ++axis) {
      const int64_t dim = src.shape()[axis];
      int64_t position = out[axis] - pads[axis];
      if (position < 0 || position >= dim) {
        if (mode == "constant") return std::nullopt;
        if (mode == "edge") position = std::clamp<int64_t>(position, 0, dim - 1);
        if (mode == "reflect") position = bounce(position, dim);
        if (mode == "wrap") {
          while (position < 0) position += dim;
          position %= dim;
        }
      }
      in[axis] = position;
    }
    return in;
  });
  if (mode == "constant") {  // fill the positions that read nothing
    for (int64_t o = 0; o < expected.element_count(); ++o) {
      const Index out = unravel(o, shape);
      bool inside = true;
      for (size_t axis = 0; axis < rank; ++axis)
        inside = inside && out[axis] - pads[axis] >= 0 && out[axis] - pads[axis] < src.shape()[axis];
      if (!inside) expected.data<float>()[o] = static_cast<float>(value);
    }
  }
  return expected;
}

TEST(TensorOpsPad, ModesWithPositiveAndNegativePads) {
  const Tensor src = testing::random_tensor({2, 3, 4}, 11);
  const std::vector<std::vector<int64_t>> pad_sets = {
      {0, 1, 2, 0, 2, 1}, {1, 0, 0, 1, 5, 7}, {0, -1, 2, 0, 1, -2}, {0, 0, 0, 0, 0, 0}, {0, 2, 9, 1, 3, 10}};
  for (const std::string mode : {"constant", "reflect", "edge", "wrap"}) {
    for (const auto& pads : pad_sets) {
      const bool crops = std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p < 0; });
      if (crops && mode != "constant") continue;
      const Tensor pads_tensor = int64_vector(pads);
      const Tensor value = Tensor::scalar<float>(2.5f);
      const auto outputs =
          run_op(make_node("Pad", 3, 1, {string_attribute("mode", mode)}), {&src, &pads_tensor, &value}, 19);
      expect_identical(outputs[0], pad_reference(src, pads, mode, 2.5), concat("mode ", mode, " pads ", to_string(pads)));
    }
  }
}

TEST(TensorOpsPad, AttributeFormAxesInputAndOtherTypes) {
  const Tensor src = testing::random_tensor({3, 5}, 12);
  const std::vector<int64_t> pads = {1, 2, 0, 3};
  const Node old = make_node("Pad", 1, 1, {ints_attribute("pads", pads), float_attribute("value", -1.0f)});
  expect_identical(run_op(old, {&src}, 2)[0], pad_reference(src, pads, "constant", -1.0), "opset 2 attributes");
  // Opset 18: pads for axis -1 only.
  const Tensor axis_pads = int64_vector({2, 3});
  const Tensor axes = int64_vector({-1});
  const auto outputs = run_op(make_node("Pad", 4, 1, {string_attribute("mode", "reflect")}),
                              {&src, &axis_pads, nullptr, &axes}, 18);
  expect_identical(outputs[0], pad_reference(src, {0, 2, 0, 3}, "reflect", 0), "opset 18 axes");
  // Edge mode on bytes: no arithmetic involved.
  const Tensor bytes = random_bits(DataType::kUint8, {4, 3}, 13);
  const Tensor byte_pads = int64_vector({2, 1, 1, 2});
  const Tensor expected = moved_reference(bytes, {7, 6}, [](const Index& out) {
    return std::optional<Index>(Index{std::clamp<int64_t>(out[0] - 2, 0, 3), std::clamp<int64_t>(out[1] - 1, 0, 2)});
  });
  expect_identical(run_op(make_node("Pad", 2, 1, {string_attribute("mode", "edge")}), {&bytes, &byte_pads})[0], expected,
                   "edge on uint8");
  EXPECT_THROW(run_op(make_node("Pad", 2, 1, {string_attribute("mode", "mirror")}), {&bytes, &byte_pads}), Error);
}

// ---------------------------------------------------------------------------------------------
// Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size

// The kernels must keep the data and change only the shape.
void expect_reshaped(const Tensor& actual, const Tensor& src, const Shape& shape, const std::string& context) {
  Tensor expected = src.clone();
  expected.reshape(shape);
  expect_identical(actual, expected, context);
}

TEST(TensorOpsReshape, ZeroMinusOneAndAllowZero) {
  const Tensor src = random_bits(DataType::kInt64, {2, 3, 4}, 20);
  const auto reshape = [&](const std::vector<int64_t>& requested, int64_t allow_zero = 0) {
    const Tensor shape = int64_vector(requested);
    return run_op(make_node("Reshape", 2, 1, {int_attribute("allowzero", allow_zero)}), {&src, &shape}, 14)[0].clone();
  };
  expect_reshaped(reshape({4, 6}), src, {4, 6}, "plain");
  expect_reshaped(reshape({0, -1}), src, {2, 12}, "0 and -1");
  expect_reshaped(reshape({-1, 0, 2}), src, {4, 3, 2}, "-1 first");
  expect_reshaped(reshape({0, 0, 0}), src, {2, 3, 4}, "all 0");
  expect_reshaped(reshape({24}), src, {24}, "flat");
  EXPECT_THROW(reshape({-1, -1}), Error);
  EXPECT_THROW(reshape({5, -1}), Error);
  EXPECT_THROW(reshape({0, 0, 0}, 1), Error);  // allowzero: 0 is a real zero, 24 elements do not fit
  const Tensor empty = random_bits(DataType::kFloat, {0, 3}, 21);
  const Tensor zero_shape = int64_vector({3, 0});
  expect_reshaped(run_op(make_node("Reshape", 2, 1, {int_attribute("allowzero", 1)}), {&empty, &zero_shape}, 14)[0], empty,
                  {3, 0}, "allowzero keeps 0");
  const Node old = make_node("Reshape", 1, 1, {ints_attribute("shape", {6, -1})});
  expect_reshaped(run_op(old, {&src}, 4)[0], src, {6, 4}, "opset 4 attribute");
}

TEST(TensorOpsFlatten, EveryAxisIncludingNegative) {
  const Tensor src = random_bits(DataType::kFloat, {2, 3, 4, 5}, 22);
  for (int64_t axis = -4; axis <= 4; ++axis) {
    const int64_t a = axis < 0 ? axis + 4 : axis;
    int64_t outer = 1;
    for (int64_t d = 0; d < a; ++d) outer *= src.dim(d);
    expect_reshaped(run_op(make_node("Flatten", 1, 1, {int_attribute("axis", axis)}), {&src})[0], src,
                    {outer, 120 / outer}, concat("axis ", axis));
  }
  EXPECT_THROW(run_op(make_node("Flatten", 1, 1, {int_attribute("axis", 5)}), {&src}), Error);
}

TEST(TensorOpsSqueeze, AttributeAndInputAxes) {
  const Tensor src = random_bits(DataType::kFloat16, {1, 3, 1, 4, 1}, 23);
  expect_reshaped(run_op(make_node("Squeeze", 1, 1), {&src})[0], src, {3, 4}, "all unit axes");
  expect_reshaped(run_op(make_node("Squeeze", 1, 1, {ints_attribute("axes", {0, -1})}), {&src}, 11)[0], src, {3, 1, 4},
                  "attribute axes");
  const Tensor axes = int64_vector({2});
  expect_reshaped(run_op(make_node("Squeeze", 2, 1), {&src, &axes}, 13)[0], src, {1, 3, 4, 1}, "input axes");
  const Tensor no_axes(DataType::kInt64, {0});
  expect_reshaped(run_op(make_node("Squeeze", 2, 1), {&src, &no_axes}, 13)[0], src, {3, 4}, "empty axes: all unit axes");
  const Tensor bad_axes = int64_vector({1});
  EXPECT_THROW(run_op(make_node("Squeeze", 2, 1), {&src, &bad_axes}, 13), Error);
}

TEST(TensorOpsUnsqueeze, AttributeAndInputAxesInAnyOrder) {
  const Tensor src = random_bits(DataType::kUint8, {3, 4}, 24);
  expect_reshaped(run_op(make_node("Unsqueeze", 1, 1, {ints_attribute("axes", {0, 3})}), {&src}, 11)[0], src, {1, 3, 4, 1},
                  "attribute axes");
  const Tensor axes = int64_vector({-1, 1, 0});
  expect_reshaped(run_op(make_node("Unsqueeze", 2, 1), {&src, &axes}, 13)[0], src, {1, 1, 3, 4, 1}, "unsorted negative");
  const Tensor repeated = int64_vector({1, 1});
  EXPECT_THROW(run_op(make_node("Unsqueeze", 2, 1), {&src, &repeated}, 13), Error);
}

TEST(TensorOpsShape, StartEndClampAndSize) {
  const Shape shape = {2, 3, 5, 7};
  const Tensor src(DataType::kFloat, shape);
  for (int64_t start = -6; start <= 6; ++start) {
    for (int64_t end = -6; end <= 6; ++end) {
      std::vector<int64_t> expected;
      for (int64_t axis = 0; axis < 4; ++axis) {
        const int64_t s = start < 0 ? start + 4 : start, e = end < 0 ? end + 4 : end;
        if (axis >= s && axis < e) expected.push_back(shape[static_cast<size_t>(axis)]);
      }
      const auto outputs =
          run_op(make_node("Shape", 1, 1, {int_attribute("start", start), int_attribute("end", end)}), {&src}, 15);
      expect_identical(outputs[0], int64_vector(expected), concat("start ", start, " end ", end));
    }
  }
  expect_identical(run_op(make_node("Shape", 1, 1), {&src})[0], int64_vector(shape), "whole shape");
  expect_identical(run_op(make_node("Size", 1, 1), {&src})[0], Tensor::scalar<int64_t>(210), "size");
}

// ---------------------------------------------------------------------------------------------
// Expand, Tile, DepthToSpace, SpaceToDepth, ReverseSequence

TEST(TensorOpsExpand, BroadcastsInBothDirections) {
  struct Case {
    Shape input, requested, expected;
  };
  const std::vector<Case> cases = {{{3, 1}, {2, 1, 6}, {2, 3, 6}}, {{1, 4}, {3, 1}, {3, 4}}, {{5}, {1}, {5}},
                                   {{}, {2, 3}, {2, 3}}, {{2, 1, 3}, {2, 4, 3}, {2, 4, 3}}};
  uint32_t seed = 30;
  for (const Case& test_case : cases) {
    for (DataType dtype : kMovedTypes) {
      const Tensor src = random_bits(dtype, test_case.input, seed++);
      const Tensor shape = int64_vector(test_case.requested);
      const size_t offset = test_case.expected.size() - test_case.input.size();
      const Tensor expected = moved_reference(src, test_case.expected, [&](const Index& out) {
        Index in(test_case.input.size());
        for (size_t axis = 0; axis < in.size(); ++axis) in[axis] = test_case.input[axis] == 1 ? 0 : out[axis + offset];
        return std::optional<Index>(in);
      });
      expect_identical(run_op(make_node("Expand", 2, 1), {&src, &shape}, 13, 2)[0], expected,
                       concat(shape_to_string(test_case.input), " to ", to_string(test_case.requested)));
    }
  }
  const Tensor src = random_bits(DataType::kFloat, {3}, 1);
  const Tensor bad = int64_vector({2});
  EXPECT_THROW(run_op(make_node("Expand", 2, 1), {&src, &bad}), Error);
}

TEST(TensorOpsTile, RepeatsPerAxis) {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{2, 3}, {2, 3}}, {{3}, {4}}, {{2, 1, 3}, {1, 5, 2}}, {{2, 3}, {0, 2}}, {{4, 5}, {1, 1}}};
  uint32_t seed = 40;
  for (const auto& [shape, repeats] : cases) {
    for (DataType dtype : kMovedTypes) {
      const Tensor src = random_bits(dtype, shape, seed++);
      Shape tiled(shape.size());
      for (size_t axis = 0; axis < shape.size(); ++axis) tiled[axis] = shape[axis] * repeats[axis];
      const Tensor expected = moved_reference(src, tiled, [&](const Index& out) {
        Index in(out.size());
        for (size_t axis = 0; axis < out.size(); ++axis) in[axis] = out[axis] % shape[axis];
        return std::optional<Index>(in);
      });
      const Tensor repeats_tensor = int64_vector(repeats);
      expect_identical(run_op(make_node("Tile", 2, 1), {&src, &repeats_tensor})[0], expected,
                       concat(shape_to_string(shape), " repeats ", to_string(repeats)));
    }
  }
}

TEST(TensorOpsDepthToSpace, DcrCrdAndSpaceToDepthFollowTheSpecFormulas) {
  uint32_t seed = 50;
  for (int64_t b : {1, 2, 3}) {
    const int64_t n = 2, depth = 3, h = 4, w = 5;
    for (DataType dtype : kMovedTypes) {
      const Tensor src = random_bits(dtype, {n, depth * b * b, h, w}, seed++);
      const Shape out_shape = {n, depth, h * b, w * b};
      // out[n, c, y*b + by, x*b + bx] = in[n, (by*b + bx)*depth + c, y, x] (DCR) or in[n, c*b*b + by*b + bx, y, x] (CRD).
      const Tensor dcr = moved_reference(src, out_shape, [&](const Index& o) {
        const int64_t by = o[2] % b, bx = o[3] % b;
        return std::optional<Index>(Index{o[0], (by * b + bx) * depth + o[1], o[2] / b, o[3] / b});
      });
      const Tensor crd = moved_reference(src, out_shape, [&](const Index& o) {
        const int64_t by = o[2] % b, bx = o[3] % b;
        return std::optional<Index>(Index{o[0], o[1] * b * b + by * b + bx, o[2] / b, o[3] / b});
      });
      expect_identical(run_op(make_node("DepthToSpace", 1, 1, {int_attribute("blocksize", b)}), {&src})[0], dcr,
                       concat("DCR b ", b));
      expect_identical(run_op(make_node("DepthToSpace", 1, 1, {int_attribute("blocksize", b), string_attribute("mode", "CRD")}),
                              {&src})[0],
                       crd, concat("CRD b ", b));
      // SpaceToDepth inverts DCR DepthToSpace.
      expect_identical(run_op(make_node("SpaceToDepth", 1, 1, {int_attribute("blocksize", b)}), {&dcr})[0], src,
                       concat("SpaceToDepth b ", b));
    }
  }
  const Tensor odd = random_bits(DataType::kFloat, {1, 3, 2, 2}, 1);
  EXPECT_THROW(run_op(make_node("DepthToSpace", 1, 1, {int_attribute("blocksize", 2)}), {&odd}), Error);
  EXPECT_THROW(run_op(make_node("SpaceToDepth", 1, 1, {int_attribute("blocksize", 3)}), {&odd}), Error);
}

TEST(TensorOpsReverseSequence, BatchAndTimeMajor) {
  const std::vector<int64_t> lengths = {4, 0, 1, 3};
  const Tensor lengths_tensor = int64_vector(lengths);
  for (int64_t batch_axis : {0, 1}) {
    const int64_t time_axis = 1 - batch_axis;
    Shape shape = {0, 0, 3};
    shape[static_cast<size_t>(batch_axis)] = 4;
    shape[static_cast<size_t>(time_axis)] = 5;
    const Tensor src = random_bits(DataType::kFloat16, shape, 60);
    const Tensor expected = moved_reference(src, shape, [&](const Index& out) {
      Index in = out;
      const int64_t length = lengths[static_cast<size_t>(out[static_cast<size_t>(batch_axis)])];
      const int64_t t = out[static_cast<size_t>(time_axis)];
      if (t < length) in[static_cast<size_t>(time_axis)] = length - 1 - t;
      return std::optional<Index>(in);
    });
    const auto outputs = run_op(make_node("ReverseSequence", 2, 1,
                                          {int_attribute("batch_axis", batch_axis), int_attribute("time_axis", time_axis)}),
                                {&src, &lengths_tensor});
    expect_identical(outputs[0], expected, concat("batch_axis ", batch_axis));
  }
}

// ---------------------------------------------------------------------------------------------
// Gather family

TEST(TensorOpsGather, EveryAxisNegativeAndScalarIndices) {
  const Shape shape = {3, 4, 5};
  uint32_t seed = 70;
  for (int64_t axis = -3; axis < 3; ++axis) {
    const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
    const int64_t dim = shape[a];
    for (const Shape& indices_shape : {Shape{}, Shape{4}, Shape{2, 3}, Shape{0}}) {
      const DataType dtype = kMovedTypes[seed % kMovedTypes.size()];
      const Tensor src = random_bits(dtype, shape, seed++);
      const Tensor indices = random_ints<int64_t>(indices_shape, seed++, -dim, dim - 1);
      Shape out_shape(shape.begin(), shape.begin() + static_cast<int64_t>(a));
      out_shape.insert(out_shape.end(), indices_shape.begin(), indices_shape.end());
      out_shape.insert(out_shape.end(), shape.begin() + static_cast<int64_t>(a) + 1, shape.end());
      const Tensor expected = moved_reference(src, out_shape, [&](const Index& out) {
        Index in(out.begin(), out.begin() + static_cast<int64_t>(a));
        const Index position(out.begin() + static_cast<int64_t>(a),
                             out.begin() + static_cast<int64_t>(a + indices_shape.size()));
        int64_t index = indices.data<int64_t>()[ravel(position, indices_shape)];
        in.push_back(index < 0 ? index + dim : index);
        in.insert(in.end(), out.begin() + static_cast<int64_t>(a + indices_shape.size()), out.end());
        return std::optional<Index>(in);
      });
      expect_identical(run_op(make_node("Gather", 2, 1, {int_attribute("axis", axis)}), {&src, &indices})[0], expected,
                       concat("axis ", axis, " indices ", shape_to_string(indices_shape)));
    }
  }
  const Tensor src = random_bits(DataType::kFloat, {3, 2}, 1);
  const Tensor out_of_range = Tensor::from_vector<int32_t>({1}, {3});
  EXPECT_THROW(run_op(make_node("Gather", 2, 1), {&src, &out_of_range}), Error);
}

TEST(TensorOpsGatherElements, EveryAxisWithSmallerIndices) {
  const Shape shape = {3, 4, 5};
  uint32_t seed = 80;
  for (int64_t axis = -3; axis < 3; ++axis) {
    const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
    const Shape indices_shape = {2, 3, 4};
    const Tensor src = random_bits(DataType::kFloat16, shape, seed++);
    const Tensor indices = random_ints<int32_t>(indices_shape, seed++, -shape[a], shape[a] - 1);
    const Tensor expected = moved_reference(src, indices_shape, [&](const Index& out) {
      Index in = out;
      const int64_t index = indices.data<int32_t>()[ravel(out, indices_shape)];
      in[a] = index < 0 ? index + shape[a] : index;
      return std::optional<Index>(in);
    });
    expect_identical(run_op(make_node("GatherElements", 2, 1, {int_attribute("axis", axis)}), {&src, &indices})[0],
                     expected, concat("axis ", axis));
  }
}

TEST(TensorOpsGatherND, TupleLengthsAndBatchDims) {
  struct Case {
    Shape data, indices;
    int64_t batch_dims;
  };
  const std::vector<Case> cases = {{{4, 5}, {3, 2}, 0}, {{4, 5, 3}, {2, 2, 1}, 0}, {{3, 4, 5}, {3, 2, 1}, 1},
                                   {{2, 3, 4, 5}, {2, 3, 2}, 2}, {{3, 4}, {3, 0}, 1}};
  uint32_t seed = 90;
  for (const Case& c : cases) {
    const Tensor src = random_bits(DataType::kFloat, c.data, seed++);
    const size_t b = static_cast<size_t>(c.batch_dims);
    const size_t k = static_cast<size_t>(c.indices.back());
    Tensor indices(DataType::kInt64, c.indices);
    std::mt19937 generator(seed++);
    for (int64_t i = 0; i < indices.element_count(); ++i) {
      const int64_t dim = c.data[b + static_cast<size_t>(i) % k];
      indices.data<int64_t>()[i] = static_cast<int64_t>(generator() % (2 * dim)) - dim;
    }
    Shape out_shape(c.indices.begin(), c.indices.end() - 1);
    out_shape.insert(out_shape.end(), c.data.begin() + static_cast<int64_t>(b + k), c.data.end());
    const Tensor expected = moved_reference(src, out_shape, [&](const Index& out) {
      const size_t tuple_axes = c.indices.size() - 1;
      Index tuple_position(out.begin(), out.begin() + static_cast<int64_t>(tuple_axes));
      tuple_position.push_back(0);
      Index in(out.begin(), out.begin() + static_cast<int64_t>(b));
      for (size_t j = 0; j < k; ++j) {
        tuple_position.back() = static_cast<int64_t>(j);
        const int64_t index = indices.data<int64_t>()[ravel(tuple_position, c.indices)];
        in.push_back(index < 0 ? index + c.data[b + j] : index);
      }
      in.insert(in.end(), out.begin() + static_cast<int64_t>(tuple_axes), out.end());
      return std::optional<Index>(in);
    });
    expect_identical(run_op(make_node("GatherND", 2, 1, {int_attribute("batch_dims", c.batch_dims)}), {&src, &indices})[0],
                     expected,
                     concat("data ", shape_to_string(c.data), " indices ", shape_to_string(c.indices), " batch_dims ",
                            c.batch_dims));
  }
}

// ---------------------------------------------------------------------------------------------
// Scatter family

double reduce(const std::string& reduction, double target, double update) {
  if (reduction == "add") return target + update;
  if (reduction == "mul") return target * update;
  if (reduction == "max") return std::max(target, update);
  if (reduction == "min") return std::min(target, update);
  return update;
}

TEST(TensorOpsScatterElements, EveryAxisAndReduction) {
  const Shape shape = {3, 4, 5};
  const Shape indices_shape = {2, 3, 4};
  uint32_t seed = 100;
  for (const std::string reduction : {"none", "add", "mul", "max", "min"}) {
    for (int64_t axis = -3; axis < 3; ++axis) {
      const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
      const Tensor data = random_ints<int32_t>(shape, seed++, -9, 9);
      const Tensor updates = random_ints<int32_t>(indices_shape, seed++, -9, 9);
      Tensor indices(DataType::kInt64, indices_shape);
      std::mt19937 generator(seed++);
      for (int64_t i = 0; i < indices.element_count(); ++i) {
        // Without a reduction, duplicate targets make the result depend on order: keep them distinct
        // by using each position's own coordinate shifted by a per-axis-line random offset.
        const Index position = unravel(i, indices_shape);
        indices.data<int64_t>()[i] = reduction == "none" ? (position[a] + 1) % shape[a] - (generator() % 2 ? shape[a] : 0)
                                                         : static_cast<int64_t>(generator() % shape[a]);
      }
      Tensor expected = data.clone();
      for (int64_t i = 0; i < indices.element_count(); ++i) {
        Index target = unravel(i, indices_shape);
        const int64_t index = indices.data<int64_t>()[i];
        target[a] = index < 0 ? index + shape[a] : index;
        int32_t& element = expected.data<int32_t>()[ravel(target, shape)];
        element = static_cast<int32_t>(reduce(reduction, element, updates.data<int32_t>()[i]));
      }
      const auto outputs =
          run_op(make_node("ScatterElements", 3, 1, {int_attribute("axis", axis), string_attribute("reduction", reduction)}),
                 {&data, &indices, &updates}, 18);
      expect_identical(outputs[0], expected, concat("reduction ", reduction, " axis ", axis));
    }
  }
  const Tensor data = random_bits(DataType::kFloat16, {2, 2}, 1);
  const Tensor indices = Tensor::from_vector<int64_t>({1, 2}, {1, 0});
  const Tensor updates = random_bits(DataType::kFloat16, {1, 2}, 2);
  Tensor expected = data.clone();
  expected.data<Float16>()[2] = updates.data<Float16>()[0];
  expected.data<Float16>()[1] = updates.data<Float16>()[1];
  expect_identical(run_op(make_node("Scatter", 3, 1), {&data, &indices, &updates}, 9)[0], expected, "Scatter opset 9");
}

TEST(TensorOpsScatterND, TuplesOfEveryLengthAndReductions) {
  const Shape shape = {4, 3, 5};
  uint32_t seed = 110;
  for (const std::string reduction : {"none", "add", "mul", "max", "min"}) {
    for (int64_t k = 1; k <= 3; ++k) {
      // Distinct target tuples (a permutation prefix) so that "none" is order-independent.
      const int64_t tuple_count = 3;
      std::vector<int64_t> targets(static_cast<size_t>(element_count(Shape(shape.begin(), shape.begin() + k))));
      std::iota(targets.begin(), targets.end(), 0);
      std::shuffle(targets.begin(), targets.end(), std::mt19937(seed++));
      Tensor indices(DataType::kInt64, {tuple_count, k});
      const Shape prefix(shape.begin(), shape.begin() + k);
      for (int64_t t = 0; t < tuple_count; ++t) {
        const Index tuple = unravel(targets[static_cast<size_t>(t)], prefix);
        for (int64_t j = 0; j < k; ++j)
          indices.data<int64_t>()[t * k + j] = tuple[static_cast<size_t>(j)] - (t % 2 ? prefix[static_cast<size_t>(j)] : 0);
      }
      Shape updates_shape = {tuple_count};
      updates_shape.insert(updates_shape.end(), shape.begin() + k, shape.end());
      const Tensor data = random_ints<int64_t>(shape, seed++, -9, 9);
      const Tensor updates = random_ints<int64_t>(updates_shape, seed++, -9, 9);
      Tensor expected = data.clone();
      const Shape rest(shape.begin() + k, shape.end());
      for (int64_t u = 0; u < updates.element_count(); ++u) {
        const Index update_index = unravel(u, updates_shape);
        Index target = unravel(targets[static_cast<size_t>(update_index[0])], prefix);
        target.insert(target.end(), update_index.begin() + 1, update_index.end());
        int64_t& element = expected.data<int64_t>()[ravel(target, shape)];
        element = static_cast<int64_t>(reduce(reduction, static_cast<double>(element), static_cast<double>(updates.data<int64_t>()[u])));
      }
      const auto outputs = run_op(make_node("ScatterND", 3, 1, {string_attribute("reduction", reduction)}),
                                  {&data, &indices, &updates}, 18);
      expect_identical(outputs[0], expected, concat("reduction ", reduction, " k ", k));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// NonZero, Compress, Trilu, CumSum

TEST(TensorOpsNonZero, CoordinatesOfNonZeroValues) {
  const Tensor values = Tensor::from_vector<float>({2, 3}, {0.0f, -0.0f, 1.5f, std::nanf(""), 0.0f, -2.0f});
  expect_identical(run_op(make_node("NonZero", 1, 1), {&values})[0],
                   Tensor::from_vector<int64_t>({2, 3}, {0, 1, 1, 2, 0, 2}), "float with -0 and NaN");
  Tensor half(DataType::kFloat16, {4});
  half.data<Float16>()[1] = float_to_half(-0.0f);
  half.data<Float16>()[3] = float_to_half(0.25f);
  expect_identical(run_op(make_node("NonZero", 1, 1), {&half})[0], Tensor::from_vector<int64_t>({1, 1}, {3}), "float16");
  // Random ints: check every reported coordinate and the count.
  const Tensor ints = random_ints<int8_t>({3, 4, 5}, 120, -1, 1);
  const Tensor result = run_op(make_node("NonZero", 1, 1), {&ints})[0].clone();
  int64_t count = 0;
  for (int64_t i = 0; i < ints.element_count(); ++i) count += ints.data<int8_t>()[i] != 0;
  ASSERT_EQ(result.shape(), (Shape{3, count}));
  int64_t previous = -1;
  for (int64_t column = 0; column < count; ++column) {
    const Index index = {result.data<int64_t>()[column], result.data<int64_t>()[count + column],
                         result.data<int64_t>()[2 * count + column]};
    const int64_t linear = ravel(index, ints.shape());
    EXPECT_GT(linear, previous) << "row-major order, column " << column;
    EXPECT_NE(ints.data<int8_t>()[linear], 0) << "column " << column;
    previous = linear;
  }
}

TEST(TensorOpsCompress, AxesAndShortCondition) {
  const Tensor src = random_bits(DataType::kFloat, {3, 4}, 130);
  const Tensor condition = Tensor::from_vector<bool>({3}, {true, false, true});
  expect_identical(run_op(make_node("Compress", 2, 1, {int_attribute("axis", 1)}), {&src, &condition})[0],
                   moved_reference(src, {3, 2}, [](const Index& o) { return std::optional<Index>(Index{o[0], o[1] * 2}); }),
                   "axis 1, condition shorter than the axis");
  expect_identical(run_op(make_node("Compress", 2, 1, {int_attribute("axis", -2)}), {&src, &condition})[0],
                   moved_reference(src, {2, 4}, [](const Index& o) { return std::optional<Index>(Index{o[0] * 2, o[1]}); }),
                   "axis -2");
  const Tensor flat_condition = Tensor::from_vector<bool>({6}, {false, true, false, false, true, true});
  expect_identical(run_op(make_node("Compress", 2, 1), {&src, &flat_condition})[0],
                   moved_reference(src, {3}, [](const Index& o) {
                     const int64_t flat = std::vector<int64_t>{1, 4, 5}[static_cast<size_t>(o[0])];
                     return std::optional<Index>(Index{flat / 4, flat % 4});
                   }),
                   "no axis");
}

TEST(TensorOpsTrilu, UpperAndLowerForEveryDiagonal) {
  const Tensor src = random_bits(DataType::kInt64, {2, 4, 6}, 140);
  for (int64_t upper : {0, 1}) {
    for (int64_t k = -6; k <= 7; ++k) {
      const Tensor k_tensor = Tensor::scalar<int64_t>(k);
      const Tensor expected = moved_reference(src, src.shape(), [&](const Index& o) -> std::optional<Index> {
        const int64_t offset = o[2] - o[1];
        const bool kept = upper ? offset >= k : offset <= k;
        return kept ? std::optional<Index>(o) : std::nullopt;
      });
      expect_identical(run_op(make_node("Trilu", 2, 1, {int_attribute("upper", upper)}), {&src, &k_tensor})[0], expected,
                       concat("upper ", upper, " k ", k));
    }
  }
  const Tensor expected_default = moved_reference(src, src.shape(), [](const Index& o) -> std::optional<Index> {
    return o[2] >= o[1] ? std::optional<Index>(o) : std::nullopt;
  });
  expect_identical(run_op(make_node("Trilu", 1, 1), {&src})[0], expected_default, "defaults: upper, k = 0");
}

TEST(TensorOpsCumSum, ExclusiveReverseAndAxes) {
  const Shape shape = {3, 4, 5};
  const Tensor src = random_ints<int32_t>(shape, 150, -100, 100);
  for (int64_t axis = -3; axis < 3; ++axis) {
    const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
    for (int64_t exclusive : {0, 1}) {
      for (int64_t reverse : {0, 1}) {
        Tensor expected(DataType::kInt32, shape);
        for (int64_t o = 0; o < expected.element_count(); ++o) {
          const Index out = unravel(o, shape);
          int32_t sum = 0;
          for (int64_t j = 0; j < shape[a]; ++j) {
            const bool before = reverse ? j > out[a] : j < out[a];
            if (!before && !(j == out[a] && !exclusive)) continue;
            Index in = out;
            in[a] = j;
            sum += src.data<int32_t>()[ravel(in, shape)];
          }
          expected.data<int32_t>()[o] = sum;
        }
        const Tensor axis_tensor = Tensor::scalar<int32_t>(static_cast<int32_t>(axis));
        const auto outputs = run_op(
            make_node("CumSum", 2, 1, {int_attribute("exclusive", exclusive), int_attribute("reverse", reverse)}),
            {&src, &axis_tensor});
        expect_identical(outputs[0], expected, concat("axis ", axis, " exclusive ", exclusive, " reverse ", reverse));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Creation ops

TEST(TensorOpsConstantOfShape, TypesAndEmptyShapes) {
  const Tensor shape = int64_vector({2, 3});
  expect_identical(run_op(make_node("ConstantOfShape", 1, 1), {&shape})[0], Tensor(DataType::kFloat, {2, 3}), "default 0");
  Node node = make_node("ConstantOfShape", 1, 1);
  Attribute value;
  value.name = "value";
  value.type = AttributeType::kTensor;
  value.tensor = std::make_shared<const Tensor>(Tensor::from_vector<int32_t>({1}, {-7}));
  node.attributes.push_back(value);
  expect_identical(run_op(node, {&shape})[0], Tensor::from_vector<int32_t>({2, 3}, std::vector<int32_t>(6, -7)), "int32 -7");
  const Tensor scalar_shape(DataType::kInt64, {0});
  expect_identical(run_op(node, {&scalar_shape})[0], Tensor::scalar<int32_t>(-7), "empty shape gives a scalar");
  const Tensor zero_dim = int64_vector({3, 0});
  expect_identical(run_op(node, {&zero_dim})[0], Tensor(DataType::kInt32, {3, 0}), "zero dimension");
}

TEST(TensorOpsRange, IntegerAndFloatCounts) {
  const auto range = [](auto start, auto limit, auto delta) {
    using T = decltype(start);
    const Tensor a = Tensor::scalar<T>(start), b = Tensor::scalar<T>(limit), c = Tensor::scalar<T>(delta);
    return run_op(make_node("Range", 3, 1), {&a, &b, &c})[0].clone();
  };
  for (int32_t start = -7; start <= 7; start += 2) {
    for (int32_t limit = -8; limit <= 8; limit += 3) {
      for (int32_t delta : {-3, -1, 1, 2, 5}) {
        std::vector<int32_t> expected;
        for (int32_t v = start; delta > 0 ? v < limit : v > limit; v += delta) expected.push_back(v);
        expect_identical(range(start, limit, delta),
                         Tensor::from_vector<int32_t>({static_cast<int64_t>(expected.size())}, expected),
                         concat("range(", start, ", ", limit, ", ", delta, ")"));
      }
    }
  }
  const Tensor floats = range(1.0f, 2.0f, 0.25f);
  testing::expect_near(floats, Tensor::from_vector<float>({4}, {1.0f, 1.25f, 1.5f, 1.75f}), 0, "float range");
  EXPECT_EQ(range(int64_t{0}, int64_t{10}, int64_t{3}).element_count(), 4);
  EXPECT_EQ(range(5.0, 1.0, 1.0).element_count(), 0);
  EXPECT_THROW(range(int64_t{0}, int64_t{1}, int64_t{0}), Error);
}

TEST(TensorOpsConstant, EveryValueAttribute) {
  const auto constant = [](Attribute attribute) {
    Node node = make_node("Constant", 0, 1, {std::move(attribute)});
    return run_op(node, {})[0].clone();
  };
  expect_identical(constant(float_attribute("value_float", 1.5f)), Tensor::scalar<float>(1.5f), "value_float");
  expect_identical(constant(testing::floats_attribute("value_floats", {1, 2})), Tensor::from_vector<float>({2}, {1, 2}),
                   "value_floats");
  expect_identical(constant(int_attribute("value_int", -3)), Tensor::scalar<int64_t>(-3), "value_int");
  expect_identical(constant(ints_attribute("value_ints", {4, 5, 6})), int64_vector({4, 5, 6}), "value_ints");
  Attribute tensor_value;
  tensor_value.name = "value";
  tensor_value.type = AttributeType::kTensor;
  const Tensor value = random_bits(DataType::kFloat16, {2, 2}, 160);
  tensor_value.tensor = std::make_shared<const Tensor>(value.clone());
  expect_identical(constant(tensor_value), value, "value tensor");
  Attribute sparse;
  sparse.name = "sparse_value";
  sparse.type = AttributeType::kSparseTensor;
  EXPECT_THROW(constant(sparse), UnsupportedError);
  EXPECT_THROW(constant(string_attribute("value_string", "x")), UnsupportedError);
}

TEST(TensorOpsEyeLike, DiagonalsAndTypes) {
  const Tensor src(DataType::kFloat, {3, 5});
  for (int64_t k = -4; k <= 6; ++k) {
    Tensor expected(DataType::kInt32, {3, 5});
    for (int64_t row = 0; row < 3; ++row)
      for (int64_t column = 0; column < 5; ++column) expected.data<int32_t>()[row * 5 + column] = column - row == k;
    const auto outputs = run_op(
        make_node("EyeLike", 1, 1, {int_attribute("k", k), int_attribute("dtype", static_cast<int64_t>(DataType::kInt32))}),
        {&src});
    expect_identical(outputs[0], expected, concat("k ", k));
  }
  Tensor expected(DataType::kFloat, {3, 5});
  for (int64_t i = 0; i < 3; ++i) expected.data<float>()[i * 5 + i] = 1.0f;
  expect_identical(run_op(make_node("EyeLike", 1, 1), {&src})[0], expected, "input type, main diagonal");
}

TEST(TensorOpsOneHot, AxesNegativeAndOutOfRangeIndices) {
  const int64_t depth = 5;
  const Tensor indices = Tensor::from_vector<int64_t>({2, 3}, {0, 4, -1, -5, 5, -6});
  const Tensor depth_tensor = Tensor::scalar<float>(5.0f);  // a float depth is allowed
  const Tensor values = Tensor::from_vector<int32_t>({2}, {-1, 7});
  for (int64_t axis = -3; axis <= 2; ++axis) {
    const size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
    Shape shape = indices.shape();
    shape.insert(shape.begin() + static_cast<int64_t>(a), depth);
    Tensor expected(DataType::kInt32, shape);
    for (int64_t o = 0; o < expected.element_count(); ++o) {
      Index out = unravel(o, shape);
      const int64_t position = out[a];
      out.erase(out.begin() + static_cast<int64_t>(a));
      const int64_t index = indices.data<int64_t>()[ravel(out, indices.shape())];
      expected.data<int32_t>()[o] = (index == position || index + depth == position) ? 7 : -1;
    }
    expect_identical(run_op(make_node("OneHot", 3, 1, {int_attribute("axis", axis)}), {&indices, &depth_tensor, &values})[0],
                     expected, concat("axis ", axis));
  }
}

// ---------------------------------------------------------------------------------------------
// Identity and Dropout

TEST(TensorOpsDropout, InferenceCopiesAndMaskIsTrue) {
  const Tensor src = random_bits(DataType::kFloat, {3, 4}, 170);
  const Tensor ratio = Tensor::scalar<float>(0.5f);
  const Tensor inference = Tensor::scalar<bool>(false);
  const auto outputs = run_op(make_node("Dropout", 3, 2), {&src, &ratio, &inference}, 13);
  expect_identical(outputs[0], src, "output");
  expect_identical(outputs[1], Tensor::from_vector<bool>({3, 4}, std::vector<bool>(12, true)), "mask");
  const auto old = run_op(make_node("Dropout", 1, 2, {float_attribute("ratio", 0.3f)}), {&src}, 7);
  expect_identical(old[1], Tensor::from_vector<float>({3, 4}, std::vector<float>(12, 1.0f)), "opset 7 mask has input type");
  const Tensor training = Tensor::scalar<bool>(true);
  EXPECT_THROW(run_op(make_node("Dropout", 3, 1), {&src, &ratio, &training}, 13), UnsupportedError);
  const Tensor no_drop = Tensor::scalar<float>(0.0f);
  expect_identical(run_op(make_node("Dropout", 3, 1), {&src, &no_drop, &training}, 13)[0], src, "training with ratio 0");
  expect_identical(run_op(make_node("Identity", 1, 1), {&src})[0], src, "Identity");
}

}  // namespace
}  // namespace octet
