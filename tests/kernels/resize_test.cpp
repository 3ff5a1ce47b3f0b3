// Tests of the Resize and Upsample reference kernels against interpolation written here from the
// operator specification: each output element is a weighted sum over every combination of its
// per-axis taps (not axis by axis, as the kernel does), with weights from the textbook forms of
// the nearest, linear and cubic (Keys) kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "kernel_test_util.h"

namespace octet {
namespace {

using testing::float_attribute;
using testing::floats_attribute;
using testing::int_attribute;
using testing::make_node;
using testing::run_node;
using testing::string_attribute;

// The kernel interpolates in double like this reference but in another order (axis by axis);
// both round once to float.
constexpr double kFloatTolerance = 1e-5;

std::vector<int64_t> unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

struct ResizeSettings {
  std::string mode = "nearest";
  std::string coordinate_mode = "half_pixel";
  std::string nearest_mode = "round_prefer_floor";
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation_value = 0;
  std::vector<double> roi;  // starts then ends, for tf_crop_and_resize

  std::string describe() const {
    return concat("mode ", mode, " coordinate_transformation_mode ", coordinate_mode, " nearest_mode ", nearest_mode,
                  " cubic_coeff_a ", cubic_a, " exclude_outside ", exclude_outside);
  }
};

using Taps = std::vector<std::pair<int64_t, double>>;  // (input index, weight); empty: extrapolate

// Keys' cubic convolution kernel at distance d.
double cubic_kernel(double d, double a) {
  d = std::abs(d);
  if (d <= 1) return (a + 2) * d * d * d - (a + 3) * d * d + 1;
  if (d < 2) return a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a;
  return 0;
}

// The taps of output position `x` along one axis.
Taps reference_taps(const ResizeSettings& settings, int64_t x, int64_t input_size, double scale, size_t axis,
                    size_t rank) {
  const double length = scale * static_cast<double>(input_size);  // unrounded output length
  const double last = static_cast<double>(input_size - 1);
  const double center = (x + 0.5) / scale;
  double coordinate = 0;
  const std::string& mode = settings.coordinate_mode;
  if (mode == "half_pixel") coordinate = center - 0.5;
  if (mode == "pytorch_half_pixel") coordinate = length > 1 ? center - 0.5 : -0.5;
  if (mode == "align_corners") coordinate = length > 1 ? x * last / (length - 1) : 0;
  if (mode == "asymmetric") coordinate = x / scale;
  if (mode == "tf_half_pixel_for_nn") coordinate = center;
  if (mode == "tf_crop_and_resize") {
    // The kernel reads the roi from a float tensor.
    const double start = static_cast<float>(settings.roi[axis]) * last;
    const double end = static_cast<float>(settings.roi[axis + rank]) * last;
    coordinate = length > 1 ? start + x * (end - start) / (length - 1) : (start + end) / 2;
    if (coordinate < 0 || coordinate > last) return {};
  }
  const auto clamp = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), input_size - 1); };
  if (settings.mode == "nearest") {
    const double fraction = coordinate - std::floor(coordinate);
    int64_t index = 0;
    if (settings.nearest_mode == "floor") index = static_cast<int64_t>(std::floor(coordinate));
    if (settings.nearest_mode == "ceil") index = static_cast<int64_t>(std::ceil(coordinate));
    if (settings.nearest_mode == "round_prefer_floor")
      index = static_cast<int64_t>(fraction == 0.5 ? std::floor(coordinate) : std::round(coordinate));
    if (settings.nearest_mode == "round_prefer_ceil")
      index = static_cast<int64_t>(fraction == 0.5 ? std::ceil(coordinate) : std::round(coordinate));
    return {{clamp(index), 1.0}};
  }
  if (settings.mode == "linear") {
    // Clamping the coordinate into the input is the same as replicating the edge elements.
    const double inside = std::min(std::max(coordinate, 0.0), last);
    const int64_t low = static_cast<int64_t>(std::floor(inside));
    const double fraction = inside - static_cast<double>(low);
    return {{low, 1 - fraction}, {clamp(low + 1), fraction}};
  }
  Taps taps;
  const int64_t base = static_cast<int64_t>(std::floor(coordinate));
  double sum = 0;
  for (int64_t i = base - 1; i <= base + 2; ++i) {
    double weight = cubic_kernel(coordinate - static_cast<double>(i), settings.cubic_a);
    if (settings.exclude_outside && (i < 0 || i >= input_size)) weight = 0;
    sum += weight;
    taps.push_back({clamp(i), weight});
  }
  if (settings.exclude_outside)
    for (auto& tap : taps) tap.second /= sum;
  return taps;
}

// Resize of `input` to `output_shape` with per-axis `scales`, summing over all tap combinations.
std::vector<double> reference_resize(const ResizeSettings& settings, const Tensor& input, const Shape& output_shape,
                                     const std::vector<double>& scales) {
  const size_t rank = output_shape.size();
  std::vector<std::vector<Taps>> taps(rank);
  for (size_t axis = 0; axis < rank; ++axis) {
    for (int64_t x = 0; x < output_shape[axis]; ++x) {
      Taps all = reference_taps(settings, x, input.dim(static_cast<int64_t>(axis)), scales[axis], axis, rank);
      // Zero-weight taps change nothing; dropping them keeps the number of combinations small.
      Taps nonzero;
      for (const auto& tap : all)
        if (tap.second != 0) nonzero.push_back(tap);
      if (!all.empty() && nonzero.empty()) nonzero.push_back(all.front());
      taps[axis].push_back(std::move(nonzero));
    }
  }
  std::vector<double> result;
  for (int64_t flat = 0; flat < element_count(output_shape); ++flat) {
    const std::vector<int64_t> index = unravel(flat, output_shape);
    std::vector<const Taps*> axis_taps;
    bool extrapolate = false;
    Shape combination_shape;
    for (size_t axis = 0; axis < rank; ++axis) {
      axis_taps.push_back(&taps[axis][static_cast<size_t>(index[axis])]);
      extrapolate = extrapolate || axis_taps.back()->empty();
      combination_shape.push_back(static_cast<int64_t>(axis_taps.back()->size()));
    }
    if (extrapolate) {
      result.push_back(settings.extrapolation_value);
      continue;
    }
    double value = 0;
    for (int64_t combination = 0; combination < element_count(combination_shape); ++combination) {
      const std::vector<int64_t> choice = unravel(combination, combination_shape);
      double weight = 1;
      int64_t source = 0;
      for (size_t axis = 0; axis < rank; ++axis) {
        const auto& [position, tap_weight] = (*axis_taps[axis])[static_cast<size_t>(choice[axis])];
        weight *= tap_weight;
        source = source * input.dim(static_cast<int64_t>(axis)) + position;
      }
      value += weight * input.value_as_double(source);
    }
    result.push_back(value);
  }
  return result;
}

Node resize_node(const ResizeSettings& settings, size_t inputs) {
  std::vector<Attribute> attributes = {
      string_attribute("mode", settings.mode),
      string_attribute("coordinate_transformation_mode", settings.coordinate_mode),
      string_attribute("nearest_mode", settings.nearest_mode),
      float_attribute("cubic_coeff_a", static_cast<float>(settings.cubic_a)),
      int_attribute("exclude_outside", settings.exclude_outside ? 1 : 0),
      float_attribute("extrapolation_value", static_cast<float>(settings.extrapolation_value))};
  Node node = make_node("Resize", inputs, 1, std::move(attributes));
  return node;
}

void expect_values(const Tensor& actual, const Shape& shape, const std::vector<double>& expected, double tolerance,
                   const std::string& context) {
  ASSERT_EQ(actual.shape(), shape) << context;
  for (int64_t i = 0; i < actual.element_count(); ++i)
    ASSERT_NEAR(actual.value_as_double(i), expected[static_cast<size_t>(i)], tolerance)
        << context << " output " << i << " at " << shape_to_string(unravel(i, shape));
}

// Runs Resize-13 once with a scales input and once with the sizes it implies, against the reference.
void check_resize(const ResizeSettings& settings, const Tensor& input, const std::vector<float>& scales,
                  uint32_t line) {
  const size_t rank = scales.size();
  Shape output_shape;
  std::vector<double> scale_values;
  for (size_t axis = 0; axis < rank; ++axis) {
    output_shape.push_back(
        static_cast<int64_t>(std::floor(input.dim(static_cast<int64_t>(axis)) * double{scales[axis]})));
    scale_values.push_back(scales[axis]);
  }
  const std::string context = concat("line ", line, " ", settings.describe(), " input ", shape_to_string(input.shape()),
                                     " output ", shape_to_string(output_shape));
  const Tensor scales_tensor = Tensor::from_vector<float>({static_cast<int64_t>(rank)}, scales);
  std::vector<float> roi_values(settings.roi.begin(), settings.roi.end());
  const Tensor roi = Tensor::from_vector<float>({static_cast<int64_t>(roi_values.size())}, roi_values);
  const Tensor* roi_input = settings.roi.empty() ? nullptr : &roi;
  const Tensor by_scales = std::move(run_node(resize_node(settings, 3), {&input, roi_input, &scales_tensor}, 13)[0]);
  const double tolerance = input.dtype() == DataType::kFloat ? kFloatTolerance : 0.0;
  expect_values(by_scales, output_shape, reference_resize(settings, input, output_shape, scale_values), tolerance,
                context + " (scales)");

  // With sizes the scale of each axis is output / input.
  std::vector<double> size_scales;
  for (size_t axis = 0; axis < rank; ++axis)
    size_scales.push_back(static_cast<double>(output_shape[axis]) /
                          static_cast<double>(input.dim(static_cast<int64_t>(axis))));
  const Tensor sizes = Tensor::from_vector<int64_t>({static_cast<int64_t>(rank)}, output_shape);
  const Tensor by_sizes = std::move(run_node(resize_node(settings, 4), {&input, roi_input, nullptr, &sizes}, 13)[0]);
  expect_values(by_sizes, output_shape, reference_resize(settings, input, output_shape, size_scales), tolerance,
                context + " (sizes)");
}

const std::vector<std::vector<float>> kScaleSets = {
    {1, 1, 2, 2}, {1, 1, 0.5f, 0.5f}, {1, 1, 1.7f, 0.6f}, {1, 1, 3, 1}, {1, 2, 0.75f, 2.5f}};

TEST(ResizeTest, NearestForEveryRoundingAndCoordinateMode) {
  const Tensor input = testing::random_tensor({2, 3, 5, 6}, 1);
  for (const std::string coordinate_mode : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"})
    for (const std::string nearest_mode : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})
      for (const std::vector<float>& scales : kScaleSets) {
        ResizeSettings settings;
        settings.coordinate_mode = coordinate_mode;
        settings.nearest_mode = nearest_mode;
        check_resize(settings, input, scales, __LINE__);
      }
}

TEST(ResizeTest, LinearForEveryCoordinateMode) {
  const Tensor input = testing::random_tensor({1, 2, 6, 7}, 2);
  for (const std::string coordinate_mode : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"})
    for (const std::vector<float>& scales : kScaleSets) {
      ResizeSettings settings;
      settings.mode = "linear";
      settings.coordinate_mode = coordinate_mode;
      check_resize(settings, input, scales, __LINE__);
    }
}

TEST(ResizeTest, CubicWithBothCoefficientsAndExcludeOutside) {
  const Tensor input = testing::random_tensor({1, 2, 6, 5}, 3);
  for (const std::string coordinate_mode : {"half_pixel", "align_corners", "asymmetric"})
    for (double a : {-0.75, -0.5})
      for (bool exclude_outside : {false, true})
        for (const std::vector<float>& scales : kScaleSets) {
          ResizeSettings settings;
          settings.mode = "cubic";
          settings.coordinate_mode = coordinate_mode;
          settings.cubic_a = a;
          settings.exclude_outside = exclude_outside;
          check_resize(settings, input, scales, __LINE__);
        }
}

TEST(ResizeTest, CropAndResizeExtrapolatesOutsideTheInput) {
  const Tensor input = testing::random_tensor({1, 2, 6, 5}, 4);
  for (const std::string mode : {"nearest", "linear", "cubic"}) {
    ResizeSettings settings;
    settings.mode = mode;
    settings.coordinate_mode = "tf_crop_and_resize";
    settings.extrapolation_value = 10;
    // A box that sticks out of the input on the left and bottom, and its mirror image.
    settings.roi = {0, 0, -0.15, 0.3, 1, 1, 0.6, 1.4};
    check_resize(settings, input, {1, 1, 1.5f, 2}, __LINE__);
    settings.roi = {0, 0, 0.25, -0.1, 1, 1, 1.2, 0.8};
    check_resize(settings, input, {1, 1, 0.5f, 1.6f}, __LINE__);
  }
}

TEST(ResizeTest, AnyRankInterpolatesEveryAxis) {
  const Tensor rank3 = testing::random_tensor({3, 4, 5}, 5);
  const Tensor rank5 = testing::random_tensor({2, 1, 3, 4, 3}, 6);
  for (const std::string mode : {"nearest", "linear", "cubic"}) {
    ResizeSettings settings;
    settings.mode = mode;
    check_resize(settings, rank3, {2, 0.5f, 1.4f}, __LINE__);
    check_resize(settings, rank5, {1.5f, 2, 1, 0.7f, 2}, __LINE__);
  }
}

TEST(ResizeTest, EightBitNearestIsExactAndLinearRounds) {
  Tensor input(DataType::kUint8, {1, 2, 5, 4});
  std::mt19937 generator(7);
  std::uniform_int_distribution<int> distribution(0, 255);
  for (int64_t i = 0; i < input.element_count(); ++i)
    input.data<uint8_t>()[i] = static_cast<uint8_t>(distribution(generator));
  ResizeSettings nearest;
  check_resize(nearest, input, {1, 1, 2, 1.5f}, __LINE__);

  ResizeSettings linear;
  linear.mode = "linear";
  const std::vector<float> scales = {1, 1, 1.6f, 2};
  const Tensor scales_tensor = Tensor::from_vector<float>({4}, scales);
  const Tensor output = std::move(run_node(resize_node(linear, 3), {&input, nullptr, &scales_tensor}, 13)[0]);
  const std::vector<double> expected = reference_resize(linear, input, output.shape(), {1, 1, 1.6f, 2});
  ASSERT_EQ(output.dtype(), DataType::kUint8);
  for (int64_t i = 0; i < output.element_count(); ++i)
    ASSERT_EQ(output.data<uint8_t>()[i], std::nearbyint(expected[static_cast<size_t>(i)])) << "element " << i;
}

// Upsample and Resize-10 sample at x / scale, flooring when enlarging and rounding up when shrinking.
TEST(ResizeTest, LegacyOpsetsUseAsymmetricNearest) {
  const Tensor input = Tensor::from_vector<float>({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor up_scales = Tensor::from_vector<float>({4}, {1, 1, 2, 1.5f});
  // Rows 0 0 1 1; columns floor(x / 1.5) for x = 0..5: 0 0 1 2 2 3.
  const Tensor expected_up = Tensor::from_vector<float>(
      {1, 1, 4, 6}, {1, 1, 2, 3, 3, 4, 1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7, 8, 5, 5, 6, 7, 7, 8});
  const Node upsample9 = make_node("Upsample", 2, 1, {string_attribute("mode", "nearest")});
  testing::expect_near(run_node(upsample9, {&input, &up_scales}, 9)[0], expected_up, 0.0, "Upsample-9");
  const Node upsample7 =
      make_node("Upsample", 1, 1, {string_attribute("mode", "nearest"), floats_attribute("scales", {1, 1, 2, 1.5f})});
  testing::expect_near(run_node(upsample7, {&input}, 7)[0], expected_up, 0.0, "Upsample-7");
  const Node resize10 = make_node("Resize", 2, 1, {string_attribute("mode", "nearest")});
  testing::expect_near(run_node(resize10, {&input, &up_scales}, 10)[0], expected_up, 0.0, "Resize-10 upsample");

  // Scale 0.6: one row (x = 0), two columns at ceil(x / 0.6) = 0 and 2.
  const Tensor down_scales = Tensor::from_vector<float>({4}, {1, 1, 0.6f, 0.6f});
  testing::expect_near(run_node(resize10, {&input, &down_scales}, 10)[0],
                       Tensor::from_vector<float>({1, 1, 1, 2}, {1, 3}), 0.0, "Resize-10 downsample");

  // Linear Upsample-9 at x / 2 with the edge replicated: 1 1.5 2 2.5 3 3.5 4 4.
  const Tensor linear_scales = Tensor::from_vector<float>({4}, {1, 1, 1, 2});
  const Node linear = make_node("Upsample", 2, 1, {string_attribute("mode", "linear")});
  testing::expect_near(
      run_node(linear, {&input, &linear_scales}, 9)[0],
      Tensor::from_vector<float>({1, 1, 2, 8}, {1, 1.5, 2, 2.5, 3, 3.5, 4, 4, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8}),
      kFloatTolerance, "Upsample-9 linear");
}

TEST(ResizeTest, ThreadedRunMatchesSingleThread) {
  const Tensor input = testing::random_tensor({2, 8, 19, 23}, 8);
  const Tensor scales = Tensor::from_vector<float>({4}, {1, 1, 2, 1.5f});
  for (const std::string mode : {"nearest", "linear", "cubic"}) {
    ResizeSettings settings;
    settings.mode = mode;
    const Node node = resize_node(settings, 3);
    testing::expect_near(run_node(node, {&input, nullptr, &scales}, 13, {}, 3)[0],
                         run_node(node, {&input, nullptr, &scales}, 13, {}, 1)[0], 0.0, mode);
  }
}

TEST(ResizeTest, RejectsAmbiguousOrMissingTargets) {
  const Tensor input = testing::random_tensor({1, 1, 4, 4}, 9);
  const Tensor scales = Tensor::from_vector<float>({4}, {1, 1, 2, 2});
  const Tensor sizes = Tensor::from_vector<int64_t>({4}, {1, 1, 8, 8});
  const Tensor short_scales = Tensor::from_vector<float>({2}, {2, 2});
  ResizeSettings settings;
  EXPECT_THROW(run_node(resize_node(settings, 4), {&input, nullptr, &scales, &sizes}, 13), Error);
  EXPECT_THROW(run_node(resize_node(settings, 3), {&input, nullptr, nullptr}, 13), Error);
  EXPECT_THROW(run_node(resize_node(settings, 3), {&input, nullptr, &short_scales}, 13), Error);
  settings.coordinate_mode = "half_pixel_symmetric";
  EXPECT_THROW(run_node(resize_node(settings, 3), {&input, nullptr, &scales}, 13), UnsupportedError);
}

}  // namespace
}  // namespace octet
