// Resize (opset 10 to 17) and Upsample (opsets 7 and 9).
//
// Interpolation is separable: every axis has its own map from output positions to weighted input
// taps, built once per run from the ONNX reference formulas (onnx/backend/test/case/node/resize.py).
// Nearest mode gathers through the maps on any rank and any type; linear and cubic modes apply the
// maps one axis at a time in double precision.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// Output rows are handed to threads in chunks of at least this many elements.
constexpr int64_t kMinElementsPerTask = int64_t{1} << 14;
constexpr float kDefaultCubicCoefficient = -0.75f;  // TensorFlow's choice; PyTorch uses -0.5
// Opset 11 turned the attribute-era inputs (X, scales) into (X, roi, scales, sizes).
constexpr int64_t kFirstOpsetWithRoi = 11;
// Upsample-7 took scales as an attribute, Upsample-9 as an input; Upsample-1 had another form.
constexpr int64_t kFirstUpsampleOpsetWithScales = 7;
constexpr int64_t kFirstUpsampleOpsetWithScalesInput = 9;
// Input taps per output position along one axis.
constexpr int64_t kNearestTaps = 1;
constexpr int64_t kLinearTaps = 2;
constexpr int64_t kCubicTaps = 4;

enum class InterpolationMode { kNearest, kLinear, kCubic };

enum class CoordinateMode {
  kHalfPixel,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize
};

// kLegacy is the rounding of Upsample and Resize-10, which had no nearest_mode attribute: it
// follows onnxruntime, which floors when upsampling and rounds up when downsampling.
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy };

InterpolationMode parse_mode(const std::string& value) {
  if (value == "nearest") return InterpolationMode::kNearest;
  if (value == "linear" || value == "bilinear") return InterpolationMode::kLinear;
  if (value == "cubic") return InterpolationMode::kCubic;
  throw UnsupportedError(concat("attribute mode: value '", value, "' is not supported"));
}

CoordinateMode parse_coordinate_mode(const std::string& value) {
  if (value == "half_pixel") return CoordinateMode::kHalfPixel;
  if (value == "pytorch_half_pixel") return CoordinateMode::kPytorchHalfPixel;
  if (value == "align_corners") return CoordinateMode::kAlignCorners;
  if (value == "asymmetric") return CoordinateMode::kAsymmetric;
  if (value == "tf_half_pixel_for_nn") return CoordinateMode::kTfHalfPixelForNn;
  if (value == "tf_crop_and_resize") return CoordinateMode::kTfCropAndResize;
  throw UnsupportedError(concat("attribute coordinate_transformation_mode: value '", value, "' is not supported"));
}

NearestMode parse_nearest_mode(const std::string& value) {
  if (value == "round_prefer_floor") return NearestMode::kRoundPreferFloor;
  if (value == "round_prefer_ceil") return NearestMode::kRoundPreferCeil;
  if (value == "floor") return NearestMode::kFloor;
  if (value == "ceil") return NearestMode::kCeil;
  throw UnsupportedError(concat("attribute nearest_mode: value '", value, "' is not supported"));
}

// How output positions along one axis read the input: output o takes
// sum over t of weight[o * taps + t] * input[source[o * taps + t]], or the extrapolation value
// when outside[o] is set (tf_crop_and_resize sampling beyond the input).
struct AxisMap {
  int64_t taps = 1;
  std::vector<int64_t> source;
  std::vector<double> weight;
  std::vector<uint8_t> outside;
  bool identity = false;  // output o is input o: the axis can be skipped
};

// Cubic convolution weights of the four taps around a sample at fractional offset `ratio` past
// the second tap (Keys, 1981), as written in the ONNX reference.
std::array<double, kCubicTaps> cubic_weights(double ratio, double a) {
  const double r1 = ratio + 1;
  const double r2 = 1 - ratio;
  const double r3 = 2 - ratio;
  return {((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a, ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
          ((a + 2) * r2 - (a + 3)) * r2 * r2 + 1, ((a * r3 - 5 * a) * r3 + 8 * a) * r3 - 4 * a};
}

// Converts an interpolated value to the output type: integer outputs round to nearest and saturate.
template <typename T>
T from_double(double value) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(value);
  } else {
    const double rounded = std::nearbyint(value);
    return static_cast<T>(std::clamp(rounded, static_cast<double>(std::numeric_limits<T>::lowest()),
                                     static_cast<double>(std::numeric_limits<T>::max())));
  }
}

// Calls function.template operator()<T>() for the types linear and cubic modes compute on.
template <typename Function>
void dispatch_interpolation(DataType dtype, Function&& function) {
  switch (dtype) {
    case DataType::kFloat:
      function.template operator()<float>();
      return;
    case DataType::kDouble:
      function.template operator()<double>();
      return;
    case DataType::kInt8:
      function.template operator()<int8_t>();
      return;
    case DataType::kUint8:
      function.template operator()<uint8_t>();
      return;
    case DataType::kInt32:
      function.template operator()<int32_t>();
      return;
    default:
      throw UnsupportedError(concat("linear and cubic resize: type ", dtype_name(dtype), " is not supported"));
  }
}

// One element of `dtype` holding `value` (the extrapolation value), for nearest-mode gathers that
// copy raw elements.
Tensor element_of_type(DataType dtype, float value) {
  switch (dtype) {
    case DataType::kFloat16:
      return Tensor::scalar(float_to_half(value));
    case DataType::kBfloat16:
      return Tensor::scalar(float_to_bfloat16(value));
    case DataType::kBool:
      return Tensor::scalar(value != 0.0f);
    default: {
      Tensor element;
      dispatch_numeric(dtype, "Resize", [&]<typename T>() { element = Tensor::scalar(from_double<T>(value)); });
      return element;
    }
  }
}

class ResizeKernel : public Kernel {
 public:
  ResizeKernel(const KernelCreateInfo& info, bool is_upsample)
      : opset_(info.opset), is_upsample_(is_upsample), legacy_(is_upsample || info.opset < kFirstOpsetWithRoi) {
    const Node& node = info.node;
    mode_ = parse_mode(node.attr_string("mode", "nearest"));
    if (legacy_) {
      // Upsample and Resize-10 sample at x / scale and have no rounding or cubic options.
      coordinate_mode_ = CoordinateMode::kAsymmetric;
      nearest_mode_ = NearestMode::kLegacy;
      check(mode_ != InterpolationMode::kCubic, "attribute mode: 'cubic' needs Resize from opset 11");
      if (is_upsample_ && opset_ < kFirstUpsampleOpsetWithScalesInput) {
        if (opset_ < kFirstUpsampleOpsetWithScales)
          throw UnsupportedError("Upsample before opset 7 (height_scale/width_scale) is not supported");
        attribute_scales_ = node.attr_floats("scales");
      }
    } else {
      coordinate_mode_ = parse_coordinate_mode(node.attr_string("coordinate_transformation_mode", "half_pixel"));
      nearest_mode_ = parse_nearest_mode(node.attr_string("nearest_mode", "round_prefer_floor"));
      cubic_coefficient_ = node.attr_float("cubic_coeff_a", kDefaultCubicCoefficient);
      exclude_outside_ = node.attr_int("exclude_outside", 0) != 0;
      extrapolation_value_ = node.attr_float("extrapolation_value", 0.0f);
      // Opset 18 additions: a subset of axes is supported; the others keep their defaults or are refused.
      axes_ = node.attr_ints("axes", {});
      if (node.attr_int("antialias", 0) != 0) throw UnsupportedError("Resize with antialias = 1 is not supported");
      const std::string policy = node.attr_string("keep_aspect_ratio_policy", "stretch");
      if (policy != "stretch")
        throw UnsupportedError(concat("attribute keep_aspect_ratio_policy: value '", policy, "' is not supported"));
    }
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check(src.rank() >= 1, "input X must have at least one axis");
    std::vector<double> scales;
    Shape output_shape;
    resolve_output(context, src.shape(), scales, output_shape);
    const std::vector<double> roi = resolve_roi(context, src.rank());
    std::vector<AxisMap> maps(static_cast<size_t>(src.rank()));
    for (size_t axis = 0; axis < maps.size(); ++axis)
      maps[axis] = axis_map(src.dim(static_cast<int64_t>(axis)), output_shape[axis], scales[axis], roi[axis],
                            roi[axis + maps.size()]);
    Tensor& dst = context.allocate_output(0, src.dtype(), output_shape);
    if (dst.element_count() == 0) return;
    if (mode_ == InterpolationMode::kNearest)
      gather_nearest(context, src, maps, dst);
    else
      interpolate(context, src, maps, dst);
  }

 private:
  // Output shape and per-axis scales from the scales or sizes inputs (or the Upsample-7 attribute).
  void resolve_output(const KernelContext& context, const Shape& input_shape, std::vector<double>& scales,
                      Shape& output_shape) const {
    const size_t rank = input_shape.size();
    std::vector<double> given_scales;
    std::vector<int64_t> given_sizes;
    if (is_upsample_ && opset_ < kFirstUpsampleOpsetWithScalesInput) {
      given_scales.assign(attribute_scales_.begin(), attribute_scales_.end());
    } else {
      // An omitted input and an empty tensor both mean "not given".
      const Tensor* scales_input = context.optional_input(legacy_ ? kLegacyScalesInput : kScalesInput);
      const Tensor* sizes_input = legacy_ ? nullptr : context.optional_input(kSizesInput);
      if (scales_input && scales_input->element_count() > 0)
        for (int64_t i = 0; i < scales_input->element_count(); ++i)
          given_scales.push_back(scales_input->value_as_double(i));
      if (sizes_input && sizes_input->element_count() > 0) given_sizes = sizes_input->to_int64_vector();
    }
    check(given_scales.empty() != given_sizes.empty(), "exactly one of scales and sizes must be given");
    // Opset 18 `axes`: the given values apply to those axes, the others keep their size.
    std::vector<size_t> target_axes;
    if (axes_.empty()) {
      for (size_t axis = 0; axis < rank; ++axis) target_axes.push_back(axis);
    } else {
      for (int64_t axis : axes_)
        target_axes.push_back(static_cast<size_t>(normalize_axis(axis, static_cast<int64_t>(rank), "attribute axes")));
    }
    const size_t given_count = given_scales.empty() ? given_sizes.size() : given_scales.size();
    check(given_count == target_axes.size(), given_scales.empty() ? "sizes" : "scales", " has ", given_count,
          " values for ", target_axes.size(), " axes");
    scales.assign(rank, 1.0);
    output_shape = input_shape;
    for (size_t i = 0; i < target_axes.size(); ++i) {
      const size_t axis = target_axes[i];
      const double input_size = static_cast<double>(input_shape[axis]);
      if (!given_scales.empty()) {
        check(given_scales[i] > 0, "scales: value ", given_scales[i], " must be positive");
        scales[axis] = given_scales[i];
        output_shape[axis] = static_cast<int64_t>(std::floor(input_size * given_scales[i]));
      } else {
        check(given_sizes[i] >= 0, "sizes: value ", given_sizes[i], " must not be negative");
        output_shape[axis] = given_sizes[i];
        scales[axis] = input_size > 0 ? static_cast<double>(given_sizes[i]) / input_size : 1.0;
      }
    }
  }

  // Region of interest as [start of every axis..., end of every axis...] in normalized input
  // coordinates; only tf_crop_and_resize reads it.
  std::vector<double> resolve_roi(const KernelContext& context, int64_t rank) const {
    std::vector<double> roi(static_cast<size_t>(2 * rank), 0.0);
    std::fill(roi.begin() + rank, roi.end(), 1.0);
    if (coordinate_mode_ != CoordinateMode::kTfCropAndResize) return roi;
    const Tensor* roi_input = context.optional_input(kRoiInput);
    if (!roi_input || roi_input->element_count() == 0) return roi;
    std::vector<size_t> target_axes;
    for (int64_t axis = 0; axis < rank; ++axis) target_axes.push_back(static_cast<size_t>(axis));
    if (!axes_.empty()) {
      target_axes.clear();
      for (int64_t axis : axes_)
        target_axes.push_back(static_cast<size_t>(normalize_axis(axis, rank, "attribute axes")));
    }
    const size_t count = target_axes.size();
    check(roi_input->element_count() == static_cast<int64_t>(2 * count), "roi has ", roi_input->element_count(),
          " values, expected ", 2 * count);
    for (size_t i = 0; i < count; ++i) {
      roi[target_axes[i]] = roi_input->value_as_double(static_cast<int64_t>(i));
      roi[target_axes[i] + static_cast<size_t>(rank)] = roi_input->value_as_double(static_cast<int64_t>(i + count));
    }
    return roi;
  }

  // The input coordinate sampled by output position x (the coordinate transformation).
  double original_coordinate(int64_t x, double scale, int64_t input_size, double roi_start, double roi_end) const {
    const double position = static_cast<double>(x);
    // The reference uses the unrounded output length scale * input_size, not the output size.
    const double resized_length = scale * static_cast<double>(input_size);
    const double last_input = static_cast<double>(input_size - 1);
    switch (coordinate_mode_) {
      case CoordinateMode::kHalfPixel:
        return (position + 0.5) / scale - 0.5;
      case CoordinateMode::kPytorchHalfPixel:
        return resized_length == 1 ? -0.5 : (position + 0.5) / scale - 0.5;
      case CoordinateMode::kAlignCorners:
        return resized_length == 1 ? 0.0 : position * last_input / (resized_length - 1);
      case CoordinateMode::kAsymmetric:
        return position / scale;
      case CoordinateMode::kTfHalfPixelForNn:
        return (position + 0.5) / scale;
      case CoordinateMode::kTfCropAndResize: {
        const double offset = resized_length == 1
                                  ? (roi_end - roi_start) * last_input / 2
                                  : position * (roi_end - roi_start) * last_input / (resized_length - 1);
        return offset + roi_start * last_input;
      }
    }
    return position;
  }

  int64_t nearest_index(double coordinate, double scale) const {
    switch (nearest_mode_) {
      case NearestMode::kRoundPreferFloor:
        return static_cast<int64_t>(std::ceil(coordinate - 0.5));
      case NearestMode::kRoundPreferCeil:
        return static_cast<int64_t>(std::floor(coordinate + 0.5));
      case NearestMode::kFloor:
        return static_cast<int64_t>(std::floor(coordinate));
      case NearestMode::kCeil:
        return static_cast<int64_t>(std::ceil(coordinate));
      case NearestMode::kLegacy:
        return static_cast<int64_t>(scale < 1 ? std::ceil(coordinate) : std::floor(coordinate));
    }
    return 0;
  }

  AxisMap axis_map(int64_t input_size, int64_t output_size, double scale, double roi_start, double roi_end) const {
    AxisMap map;
    map.taps = mode_ == InterpolationMode::kNearest  ? kNearestTaps
               : mode_ == InterpolationMode::kLinear ? kLinearTaps
                                                     : kCubicTaps;
    const size_t taps = static_cast<size_t>(map.taps);
    map.source.resize(static_cast<size_t>(output_size) * taps);
    map.weight.resize(map.source.size());
    map.outside.resize(static_cast<size_t>(output_size));
    for (int64_t o = 0; o < output_size; ++o) {
      const size_t first = static_cast<size_t>(o) * taps;
      const double coordinate = original_coordinate(o, scale, input_size, roi_start, roi_end);
      if (coordinate_mode_ == CoordinateMode::kTfCropAndResize &&
          (coordinate < 0 || coordinate > static_cast<double>(input_size - 1))) {
        map.outside[static_cast<size_t>(o)] = 1;
        continue;
      }
      if (mode_ == InterpolationMode::kNearest) {
        map.source[first] = std::clamp<int64_t>(nearest_index(coordinate, scale), 0, input_size - 1);
        map.weight[first] = 1;
        continue;
      }
      // Taps sit at whole input positions around the coordinate; a coordinate exactly on a
      // position counts as ratio 1 past the previous one, as in the reference.
      double base = std::floor(coordinate);
      double ratio = coordinate - base;
      if (ratio == 0) {
        base -= 1;
        ratio = 1;
      }
      std::array<double, kCubicTaps> weights{};
      if (mode_ == InterpolationMode::kLinear)
        weights = {1 - ratio, ratio, 0, 0};
      else
        weights = cubic_weights(ratio, cubic_coefficient_);
      const int64_t first_position = static_cast<int64_t>(base) - (map.taps / 2 - 1);
      double weight_sum = 0;
      for (size_t t = 0; t < taps; ++t) {
        const int64_t position = first_position + static_cast<int64_t>(t);
        if (exclude_outside_ && (position < 0 || position >= input_size)) weights[t] = 0;
        weight_sum += weights[t];
        // Positions beyond the input read the edge element (the reference pads by replication).
        map.source[first + t] = std::clamp<int64_t>(position, 0, input_size - 1);
      }
      for (size_t t = 0; t < taps; ++t) map.weight[first + t] = exclude_outside_ ? weights[t] / weight_sum : weights[t];
    }
    map.identity = input_size == output_size;
    for (int64_t o = 0; o < output_size && map.identity; ++o) {
      if (map.outside[static_cast<size_t>(o)]) map.identity = false;
      for (size_t t = 0; t < taps; ++t) {
        const size_t index = static_cast<size_t>(o) * taps + t;
        if (map.weight[index] != 0 && (map.source[index] != o || map.weight[index] != 1)) map.identity = false;
      }
    }
    return map;
  }

  // Nearest mode: every output element copies one input element (or the extrapolation value).
  void gather_nearest(KernelContext& context, const Tensor& src, const std::vector<AxisMap>& maps, Tensor& dst) const {
    const Shape& output_shape = dst.shape();
    const size_t rank = output_shape.size();
    const std::vector<int64_t> input_strides = strides_of(src.shape());
    const int64_t row_size = output_shape.back();
    const int64_t rows = dst.element_count() / row_size;
    const AxisMap& last = maps.back();
    const Tensor extrapolation = element_of_type(src.dtype(), extrapolation_value_);
    dispatch_any(src.dtype(), "Resize", [&]<typename T>() {
      const T* src_data = static_cast<const T*>(src.raw_data());
      T* dst_data = static_cast<T*>(dst.raw_data());
      const T fill = *static_cast<const T*>(extrapolation.raw_data());
      context.threads().parallel_for(
          rows,
          [&](int64_t begin, int64_t end) {
            for (int64_t row = begin; row < end; ++row) {
              int64_t remainder = row;
              int64_t base = 0;
              bool outside = false;
              for (size_t axis = rank - 1; axis-- > 0;) {
                const int64_t o = remainder % output_shape[axis];
                remainder /= output_shape[axis];
                outside = outside || maps[axis].outside[static_cast<size_t>(o)];
                base += maps[axis].source[static_cast<size_t>(o)] * input_strides[axis];
              }
              T* dst_row = dst_data + row * row_size;
              for (int64_t o = 0; o < row_size; ++o) {
                const size_t index = static_cast<size_t>(o);
                dst_row[o] = outside || last.outside[index] ? fill : src_data[base + last.source[index]];
              }
            }
          },
          std::max<int64_t>(1, kMinElementsPerTask / row_size));
    });
  }

  // Linear and cubic modes: the maps are applied one axis at a time to a double buffer. An
  // output outside the region of interest along one axis is the extrapolation value; later axes
  // mix only such values (with weights summing to one), so it stays that value.
  void interpolate(KernelContext& context, const Tensor& src, const std::vector<AxisMap>& maps, Tensor& dst) const {
    dispatch_interpolation(src.dtype(), [&]<typename T>() {
      const T* src_data = src.data<T>();
      std::vector<double> current(src_data, src_data + src.element_count());
      Shape shape = src.shape();
      for (size_t axis = shape.size(); axis-- > 0;) {
        const AxisMap& map = maps[axis];
        if (map.identity) continue;
        const int64_t input_size = shape[axis];
        const int64_t output_size = dst.dim(static_cast<int64_t>(axis));
        int64_t outer = 1;
        for (size_t i = 0; i < axis; ++i) outer *= shape[i];
        int64_t inner = 1;
        for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
        std::vector<double> next(static_cast<size_t>(outer * output_size * inner));
        context.threads().parallel_for(
            outer * output_size,
            [&](int64_t begin, int64_t end) {
              for (int64_t line = begin; line < end; ++line) {
                const int64_t o = line % output_size;
                const double* src_block = current.data() + (line / output_size) * input_size * inner;
                double* dst_line = next.data() + line * inner;
                if (map.outside[static_cast<size_t>(o)]) {
                  std::fill(dst_line, dst_line + inner, static_cast<double>(extrapolation_value_));
                  continue;
                }
                std::fill(dst_line, dst_line + inner, 0.0);
                for (int64_t t = 0; t < map.taps; ++t) {
                  const size_t tap = static_cast<size_t>(o * map.taps + t);
                  const double weight = map.weight[tap];
                  if (weight == 0) continue;
                  const double* src_line = src_block + map.source[tap] * inner;
                  for (int64_t i = 0; i < inner; ++i) dst_line[i] += weight * src_line[i];
                }
              }
            },
            std::max<int64_t>(1, kMinElementsPerTask / std::max<int64_t>(1, inner * map.taps)));
        current = std::move(next);
        shape[axis] = output_size;
      }
      T* dst_data = dst.data<T>();
      for (size_t i = 0; i < current.size(); ++i) dst_data[i] = from_double<T>(current[i]);
    });
  }

  // Input positions: (X, scales) for Upsample-9 and Resize-10, (X, roi, scales, sizes) from Resize-11.
  static constexpr size_t kLegacyScalesInput = 1;
  static constexpr size_t kRoiInput = 1;
  static constexpr size_t kScalesInput = 2;
  static constexpr size_t kSizesInput = 3;

  int64_t opset_;
  bool is_upsample_;
  bool legacy_;  // Upsample or Resize-10: asymmetric coordinates, legacy rounding, (X, scales) inputs
  InterpolationMode mode_ = InterpolationMode::kNearest;
  CoordinateMode coordinate_mode_ = CoordinateMode::kHalfPixel;
  NearestMode nearest_mode_ = NearestMode::kRoundPreferFloor;
  double cubic_coefficient_ = kDefaultCubicCoefficient;
  bool exclude_outside_ = false;
  float extrapolation_value_ = 0.0f;
  std::vector<int64_t> axes_;
  std::vector<float> attribute_scales_;  // Upsample-7
};

class ResizeOp : public ResizeKernel {
 public:
  explicit ResizeOp(const KernelCreateInfo& info) : ResizeKernel(info, /*is_upsample=*/false) {}
};

class UpsampleOp : public ResizeKernel {
 public:
  explicit UpsampleOp(const KernelCreateInfo& info) : ResizeKernel(info, /*is_upsample=*/true) {}
};

}  // namespace

void register_resize_kernels(KernelRegistry& registry) {
  register_reference<ResizeOp>(registry, "Resize");
  register_reference<UpsampleOp>(registry, "Upsample");
}

}  // namespace octet
