// Pooling: MaxPool, AveragePool, LpPool, their Global forms, and MaxUnpool.
//
// Windowed pools walk every (batch, channel) plane independently. Inputs with one or two spatial
// axes are viewed as three-axis (depth, height, width) inputs with leading axes of size 1, so one
// loop nest serves 1-D, 2-D and 3-D pooling.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// Windowed pools support up to this many spatial axes (1-D, 2-D and 3-D pooling).
constexpr size_t kMaxSpatialRank = 3;
// Planes are handed to threads in chunks of at least this many input elements, so tiny pools
// stay on one thread.
constexpr int64_t kMinElementsPerTask = int64_t{1} << 14;
// Input layout: batch and channel axes come before the spatial axes.
constexpr size_t kLeadingAxes = 2;

int64_t ceil_div(int64_t numerator, int64_t denominator) { return (numerator + denominator - 1) / denominator; }

// LpPool's exponent: an int since opset 2, a float in opset 1.
double lp_exponent(const Node& node) {
  const Attribute* attribute = node.find_attribute("p");
  const double p = attribute == nullptr                       ? 2.0
                   : attribute->type == AttributeType::kFloat ? static_cast<double>(attribute->f)
                                                              : static_cast<double>(node.attr_int("p"));
  check(p > 0, "attribute p: value ", p, " must be positive");
  return p;
}

int64_t min_planes_per_task(int64_t plane_size) {
  return std::max<int64_t>(1, kMinElementsPerTask / std::max<int64_t>(1, plane_size));
}


// Same, plus the 8-bit integer types MaxPool accepts since opset 12.
template <typename Function>
void dispatch_max_pool(DataType dtype, const std::string& what, Function&& function) {
  switch (dtype) {
    case DataType::kInt8:
      function.template operator()<int8_t>();
      return;
    case DataType::kUint8:
      function.template operator()<uint8_t>();
      return;
    default:
      dispatch_floating(dtype, what, std::forward<Function>(function));
  }
}

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

AutoPad parse_auto_pad(const Node& node) {
  const std::string value = node.attr_string("auto_pad", "NOTSET");
  if (value == "NOTSET") return AutoPad::kNotSet;
  if (value == "SAME_UPPER") return AutoPad::kSameUpper;
  if (value == "SAME_LOWER") return AutoPad::kSameLower;
  if (value == "VALID") return AutoPad::kValid;
  throw Error(concat("attribute auto_pad: unknown value '", value, "'"));
}

// The taps k in [0, kernel) of a window starting at `start` whose coordinate start + k * dilation
// lies in [low, high). They form one contiguous range because coordinates grow with k.
std::pair<int64_t, int64_t> taps_within(int64_t start, int64_t dilation, int64_t kernel, int64_t low, int64_t high) {
  const int64_t first = start >= low ? 0 : ceil_div(low - start, dilation);
  const int64_t last = start >= high ? 0 : ceil_div(high - start, dilation);
  const int64_t begin = std::min(first, kernel);
  return {begin, std::max(begin, std::min(last, kernel))};
}

// One output position's window along one spatial axis. Tap k reads input coordinate
// start + k * dilation; taps in [tap_begin, tap_end) are inside the input.
struct AxisWindow {
  int64_t start = 0;
  int64_t tap_begin = 0;
  int64_t tap_end = 1;
  int64_t padded_tap_count = 1;  // taps inside the input or its explicit padding (count_include_pad)
};

// Where every window of a pool lies, for one input shape, with the spatial axes widened to three.
struct PoolGeometry {
  Shape output_shape;
  int64_t planes = 0;  // batch * channels
  std::array<int64_t, kMaxSpatialRank> input_dims{1, 1, 1};
  std::array<int64_t, kMaxSpatialRank> output_dims{1, 1, 1};
  std::array<int64_t, kMaxSpatialRank> dilations{1, 1, 1};
  std::array<std::vector<AxisWindow>, kMaxSpatialRank> windows;

  int64_t input_plane_size() const { return input_dims[0] * input_dims[1] * input_dims[2]; }
  int64_t output_plane_size() const { return output_dims[0] * output_dims[1] * output_dims[2]; }
};

// Calls tap(plane_offset) for every input element of the window at output (od, oh, ow).
template <typename Tap>
inline void visit_window(const PoolGeometry& geometry, int64_t od, int64_t oh, int64_t ow, Tap&& tap) {
  const AxisWindow& depth = geometry.windows[0][static_cast<size_t>(od)];
  const AxisWindow& height = geometry.windows[1][static_cast<size_t>(oh)];
  const AxisWindow& width = geometry.windows[2][static_cast<size_t>(ow)];
  const int64_t input_height = geometry.input_dims[1];
  const int64_t input_width = geometry.input_dims[2];
  for (int64_t kd = depth.tap_begin; kd < depth.tap_end; ++kd) {
    const int64_t id = depth.start + kd * geometry.dilations[0];
    for (int64_t kh = height.tap_begin; kh < height.tap_end; ++kh) {
      const int64_t row = (id * input_height + height.start + kh * geometry.dilations[1]) * input_width;
      for (int64_t kw = width.tap_begin; kw < width.tap_end; ++kw) tap(row + width.start + kw * geometry.dilations[2]);
    }
  }
}

// Calls window(plane, output_offset_in_plane, od, oh, ow) for every output position, planes in parallel.
template <typename Window>
void for_each_window(KernelContext& context, const PoolGeometry& geometry, Window&& window) {
  context.threads().parallel_for(
      geometry.planes,
      [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane) {
          int64_t offset = 0;
          for (int64_t od = 0; od < geometry.output_dims[0]; ++od)
            for (int64_t oh = 0; oh < geometry.output_dims[1]; ++oh)
              for (int64_t ow = 0; ow < geometry.output_dims[2]; ++ow) window(plane, offset++, od, oh, ow);
        }
      },
      min_planes_per_task(geometry.input_plane_size()));
}

// The attributes shared by MaxPool, AveragePool, LpPool and MaxUnpool.
class PoolAttributes {
 public:
  explicit PoolAttributes(const Node& node)
      : kernel_shape_(node.attr_ints("kernel_shape")),
        auto_pad_(parse_auto_pad(node)),
        ceil_mode_(node.attr_int("ceil_mode", 0) != 0) {
    const size_t rank = kernel_shape_.size();
    strides_ = node.attr_ints("strides", std::vector<int64_t>(rank, 1));
    dilations_ = node.attr_ints("dilations", std::vector<int64_t>(rank, 1));
    pads_ = node.attr_ints("pads", std::vector<int64_t>(2 * rank, 0));
    check(rank >= 1, "attribute kernel_shape is empty");
    if (rank > kMaxSpatialRank)
      throw UnsupportedError(
          concat("pooling over ", rank, " spatial axes is not supported (at most ", kMaxSpatialRank, ")"));
    check(strides_.size() == rank, "attribute strides has ", strides_.size(), " values for ", rank, " spatial axes");
    check(dilations_.size() == rank, "attribute dilations has ", dilations_.size(), " values for ", rank,
          " spatial axes");
    check(pads_.size() == 2 * rank, "attribute pads has ", pads_.size(), " values for ", rank, " spatial axes");
    for (size_t i = 0; i < rank; ++i) {
      check(kernel_shape_[i] >= 1, "attribute kernel_shape: value ", kernel_shape_[i], " must be positive");
      check(strides_[i] >= 1, "attribute strides: value ", strides_[i], " must be positive");
      check(dilations_[i] >= 1, "attribute dilations: value ", dilations_[i], " must be positive");
      for (int64_t pad : {pads_[i], pads_[i + rank]})
        check(pad >= 0 && pad < kernel_shape_[i], "attribute pads: value ", pad, " must be in [0, kernel ",
              kernel_shape_[i], ")");
    }
  }

  size_t spatial_rank() const { return kernel_shape_.size(); }
  const std::vector<int64_t>& kernel_shape() const { return kernel_shape_; }
  const std::vector<int64_t>& strides() const { return strides_; }
  const std::vector<int64_t>& pads() const { return pads_; }

  // Output shape, padding and windows for an input of the given shape.
  PoolGeometry geometry(const Shape& input_shape) const {
    const size_t rank = spatial_rank();
    check(input_shape.size() == kLeadingAxes + rank, "input of shape ", shape_to_string(input_shape), " does not have ",
          rank, " spatial axes after batch and channels, as kernel_shape says");
    PoolGeometry geometry;
    geometry.planes = input_shape[0] * input_shape[1];
    geometry.output_shape = {input_shape[0], input_shape[1]};
    const size_t first_axis = kMaxSpatialRank - rank;  // 1-D and 2-D inputs fill the trailing axes
    for (size_t i = 0; i < rank; ++i) {
      const int64_t input_size = input_shape[kLeadingAxes + i];
      const int64_t stride = strides_[i];
      const int64_t dilation = dilations_[i];
      const int64_t kernel = kernel_shape_[i];
      const int64_t effective_kernel = (kernel - 1) * dilation + 1;
      int64_t pad_begin = pads_[i];
      int64_t pad_end = pads_[i + rank];
      int64_t output_size = 0;
      if (auto_pad_ == AutoPad::kSameUpper || auto_pad_ == AutoPad::kSameLower) {
        output_size = ceil_div(input_size, stride);
        const int64_t pad_total = std::max<int64_t>(0, (output_size - 1) * stride + effective_kernel - input_size);
        // SAME_UPPER puts the odd padding element at the end, SAME_LOWER at the beginning.
        pad_begin = auto_pad_ == AutoPad::kSameUpper ? pad_total / 2 : pad_total - pad_total / 2;
        pad_end = pad_total - pad_begin;
      } else {
        if (auto_pad_ == AutoPad::kValid) pad_begin = pad_end = 0;
        const int64_t span = input_size + pad_begin + pad_end - effective_kernel;
        check(span >= 0, "input of shape ", shape_to_string(input_shape),
              " is smaller than the (dilated, padded) kernel");
        output_size = (ceil_mode_ ? ceil_div(span, stride) : span / stride) + 1;
        // As in PyTorch and later ONNX versions: with ceil_mode the last window must start inside
        // the input or its leading padding, never entirely in the trailing padding.
        if (ceil_mode_ && (output_size - 1) * stride >= input_size + pad_begin) --output_size;
      }
      geometry.output_shape.push_back(output_size);
      const size_t axis = first_axis + i;
      geometry.input_dims[axis] = input_size;
      geometry.output_dims[axis] = output_size;
      geometry.dilations[axis] = dilation;
      std::vector<AxisWindow>& windows = geometry.windows[axis];
      windows.resize(static_cast<size_t>(output_size));
      for (int64_t o = 0; o < output_size; ++o) {
        AxisWindow& window = windows[static_cast<size_t>(o)];
        window.start = o * stride - pad_begin;
        std::tie(window.tap_begin, window.tap_end) = taps_within(window.start, dilation, kernel, 0, input_size);
        const auto [padded_begin, padded_end] =
            taps_within(window.start, dilation, kernel, -pad_begin, input_size + pad_end);
        window.padded_tap_count = padded_end - padded_begin;
      }
    }
    for (size_t axis = 0; axis < first_axis; ++axis) geometry.windows[axis] = {AxisWindow{}};
    return geometry;
  }

 private:
  std::vector<int64_t> kernel_shape_;
  std::vector<int64_t> strides_;
  std::vector<int64_t> dilations_;
  std::vector<int64_t> pads_;  // begin values of every axis, then end values
  AutoPad auto_pad_;
  bool ceil_mode_;
};

// MaxPool; the optional second output holds the flat input index of each maximum, row-major
// (storage_order 0) or with the spatial axes in column-major order (storage_order 1).
class MaxPoolKernel : public Kernel {
 public:
  explicit MaxPoolKernel(const KernelCreateInfo& info)
      : attributes_(info.node), column_major_indices_(info.node.attr_int("storage_order", 0) != 0) {
    const int64_t storage_order = info.node.attr_int("storage_order", 0);
    check(storage_order == 0 || storage_order == 1, "attribute storage_order: value ", storage_order,
          " must be 0 or 1");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const PoolGeometry geometry = attributes_.geometry(src.shape());
    Tensor& dst = context.allocate_output(0, src.dtype(), geometry.output_shape);
    int64_t* indices = context.output_requested(1)
                           ? context.allocate_output(1, DataType::kInt64, geometry.output_shape).data<int64_t>()
                           : nullptr;
    const int64_t input_plane = geometry.input_plane_size();
    const int64_t output_plane = geometry.output_plane_size();
    dispatch_max_pool(src.dtype(), "MaxPool", [&]<typename T>() {
      const T* src_data = src.data<T>();
      T* dst_data = dst.data<T>();
      for_each_window(context, geometry, [&](int64_t plane, int64_t offset, int64_t od, int64_t oh, int64_t ow) {
        const T* plane_data = src_data + plane * input_plane;
        T maximum = std::numeric_limits<T>::lowest();
        int64_t argmax = 0;
        visit_window(geometry, od, oh, ow, [&](int64_t position) {
          if (plane_data[position] > maximum) {
            maximum = plane_data[position];
            argmax = position;
          }
        });
        dst_data[plane * output_plane + offset] = maximum;
        if (indices) indices[plane * output_plane + offset] = plane * input_plane + storage_index(geometry, argmax);
      });
    });
  }

 private:
  // Converts a row-major offset within a plane into the requested storage order.
  int64_t storage_index(const PoolGeometry& geometry, int64_t row_major) const {
    if (!column_major_indices_) return row_major;
    std::array<int64_t, kMaxSpatialRank> coordinates{};
    for (size_t axis = kMaxSpatialRank; axis-- > 0;) {
      coordinates[axis] = row_major % geometry.input_dims[axis];
      row_major /= geometry.input_dims[axis];
    }
    int64_t index = 0;
    for (size_t axis = kMaxSpatialRank; axis-- > 0;) index = index * geometry.input_dims[axis] + coordinates[axis];
    return index;
  }

  PoolAttributes attributes_;
  bool column_major_indices_;
};

class AveragePoolKernel : public Kernel {
 public:
  explicit AveragePoolKernel(const KernelCreateInfo& info)
      : attributes_(info.node), count_include_pad_(info.node.attr_int("count_include_pad", 0) != 0) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const PoolGeometry geometry = attributes_.geometry(src.shape());
    Tensor& dst = context.allocate_output(0, src.dtype(), geometry.output_shape);
    const int64_t input_plane = geometry.input_plane_size();
    const int64_t output_plane = geometry.output_plane_size();
    dispatch_floating(src.dtype(), "AveragePool", [&]<typename T>() {
      const T* src_data = src.data<T>();
      T* dst_data = dst.data<T>();
      for_each_window(context, geometry, [&](int64_t plane, int64_t offset, int64_t od, int64_t oh, int64_t ow) {
        const T* plane_data = src_data + plane * input_plane;
        double sum = 0;
        int64_t count = 0;
        visit_window(geometry, od, oh, ow, [&](int64_t position) {
          sum += plane_data[position];
          ++count;
        });
        if (count_include_pad_) {
          // Padding elements count as zeros; the part of a ceil_mode window beyond the padding does not count.
          count = geometry.windows[0][static_cast<size_t>(od)].padded_tap_count *
                  geometry.windows[1][static_cast<size_t>(oh)].padded_tap_count *
                  geometry.windows[2][static_cast<size_t>(ow)].padded_tap_count;
        }
        dst_data[plane * output_plane + offset] = static_cast<T>(sum / static_cast<double>(count));
      });
    });
  }

 private:
  PoolAttributes attributes_;
  bool count_include_pad_;
};

// y = (sum over the window of |x|^p)^(1/p); padding contributes nothing.
class LpPoolKernel : public Kernel {
 public:
  explicit LpPoolKernel(const KernelCreateInfo& info) : attributes_(info.node), p_(lp_exponent(info.node)) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const PoolGeometry geometry = attributes_.geometry(src.shape());
    Tensor& dst = context.allocate_output(0, src.dtype(), geometry.output_shape);
    const int64_t input_plane = geometry.input_plane_size();
    const int64_t output_plane = geometry.output_plane_size();
    dispatch_floating(src.dtype(), "LpPool", [&]<typename T>() {
      const T* src_data = src.data<T>();
      T* dst_data = dst.data<T>();
      for_each_window(context, geometry, [&](int64_t plane, int64_t offset, int64_t od, int64_t oh, int64_t ow) {
        const T* plane_data = src_data + plane * input_plane;
        double sum = 0;
        visit_window(geometry, od, oh, ow, [&](int64_t position) {
          sum += std::pow(std::abs(static_cast<double>(plane_data[position])), p_);
        });
        dst_data[plane * output_plane + offset] = static_cast<T>(std::pow(sum, 1.0 / p_));
      });
    });
  }

 private:
  PoolAttributes attributes_;
  double p_;
};

// GlobalAveragePool, GlobalMaxPool, GlobalLpPool: one value per (batch, channel) plane, any
// number of spatial axes.
enum class GlobalPoolKind { kAverage, kMax, kLp };

class GlobalPoolKernel : public Kernel {
 public:
  GlobalPoolKernel(const KernelCreateInfo& info, GlobalPoolKind kind)
      : kind_(kind), p_(kind == GlobalPoolKind::kLp ? lp_exponent(info.node) : 0.0) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check(src.rank() > static_cast<int64_t>(kLeadingAxes), "input of shape ", shape_to_string(src.shape()),
          " has no spatial axes");
    Shape output_shape(src.shape().size(), 1);
    output_shape[0] = src.dim(0);
    output_shape[1] = src.dim(1);
    Tensor& dst = context.allocate_output(0, src.dtype(), output_shape);
    const int64_t planes = src.dim(0) * src.dim(1);
    const int64_t plane_size = planes == 0 ? 0 : src.element_count() / planes;
    const auto run_typed = [&]<typename T>() {
      const T* src_data = src.data<T>();
      T* dst_data = dst.data<T>();
      context.threads().parallel_for(
          planes,
          [&](int64_t begin, int64_t end) {
            for (int64_t plane = begin; plane < end; ++plane)
              dst_data[plane] = reduce_plane<T>(src_data + plane * plane_size, plane_size);
          },
          min_planes_per_task(plane_size));
    };
    if (kind_ == GlobalPoolKind::kMax)
      dispatch_max_pool(src.dtype(), "GlobalMaxPool", run_typed);
    else
      dispatch_floating(src.dtype(), kind_ == GlobalPoolKind::kAverage ? "GlobalAveragePool" : "GlobalLpPool",
                        run_typed);
  }

 private:
  template <typename T>
  T reduce_plane(const T* values, int64_t count) const {
    if (kind_ == GlobalPoolKind::kMax) {
      T maximum = std::numeric_limits<T>::lowest();
      for (int64_t i = 0; i < count; ++i) maximum = std::max(maximum, values[i]);
      return maximum;
    }
    double sum = 0;
    if (kind_ == GlobalPoolKind::kAverage) {
      for (int64_t i = 0; i < count; ++i) sum += values[i];
      return static_cast<T>(sum / static_cast<double>(count));
    }
    for (int64_t i = 0; i < count; ++i) sum += std::pow(std::abs(static_cast<double>(values[i])), p_);
    return static_cast<T>(std::pow(sum, 1.0 / p_));
  }

  GlobalPoolKind kind_;
  double p_;
};

template <GlobalPoolKind kind>
class GlobalPoolOf : public GlobalPoolKernel {
 public:
  explicit GlobalPoolOf(const KernelCreateInfo& info) : GlobalPoolKernel(info, kind) {}
};

// MaxUnpool: scatters X into a zero tensor at the flat positions given by I (MaxPool's Indices).
// The indices address the pooling input shape implied by the attributes; the optional third
// input asks for a larger output, which is that tensor padded with zeros at the end of each axis
// (as the ONNX reference implementation and backend tests do).
class MaxUnpoolKernel : public Kernel {
 public:
  explicit MaxUnpoolKernel(const KernelCreateInfo& info) : attributes_(info.node) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Tensor& indices = context.input(1);
    check(indices.shape() == src.shape(), "indices of shape ", shape_to_string(indices.shape()),
          " do not match X of shape ", shape_to_string(src.shape()));
    const size_t rank = attributes_.spatial_rank();
    check(src.rank() == static_cast<int64_t>(kLeadingAxes + rank), "X of shape ", shape_to_string(src.shape()),
          " does not have ", rank, " spatial axes after batch and channels, as kernel_shape says");
    Shape unpooled_shape = {src.dim(0), src.dim(1)};
    for (size_t i = 0; i < rank; ++i)
      unpooled_shape.push_back((src.dim(static_cast<int64_t>(kLeadingAxes + i)) - 1) * attributes_.strides()[i] -
                               attributes_.pads()[i] - attributes_.pads()[i + rank] + attributes_.kernel_shape()[i]);
    Shape output_shape = unpooled_shape;
    if (const Tensor* requested_shape = context.optional_input(2)) {
      output_shape = requested_shape->to_int64_vector();
      check(output_shape.size() == unpooled_shape.size(), "output_shape ", shape_to_string(output_shape),
            " does not have the rank of X");
      for (size_t axis = 0; axis < output_shape.size(); ++axis)
        check(output_shape[axis] >= unpooled_shape[axis], "output_shape ", shape_to_string(output_shape),
              " is smaller than the unpooled shape ", shape_to_string(unpooled_shape));
    }
    Tensor& dst = context.allocate_output(0, src.dtype(), output_shape);
    const std::vector<int64_t> positions = indices.to_int64_vector();
    const int64_t unpooled_count = element_count(unpooled_shape);
    const std::vector<int64_t> unpooled_strides = strides_of(unpooled_shape);
    const std::vector<int64_t> output_strides = strides_of(output_shape);
    dispatch_any(src.dtype(), "MaxUnpool", [&]<typename T>() {
      const T* src_data = static_cast<const T*>(src.raw_data());
      T* dst_data = static_cast<T*>(dst.raw_data());
      for (size_t i = 0; i < positions.size(); ++i) {
        check(positions[i] >= 0 && positions[i] < unpooled_count, "index ", positions[i],
              " is outside the unpooled shape ", shape_to_string(unpooled_shape));
        int64_t remainder = positions[i];
        int64_t output_offset = 0;
        for (size_t axis = 0; axis < unpooled_shape.size(); ++axis) {
          output_offset += remainder / unpooled_strides[axis] * output_strides[axis];
          remainder %= unpooled_strides[axis];
        }
        dst_data[output_offset] = src_data[i];
      }
    });
  }

 private:
  PoolAttributes attributes_;
};

}  // namespace

void register_pool_kernels(KernelRegistry& registry) {
  register_reference<MaxPoolKernel>(registry, "MaxPool");
  register_reference<AveragePoolKernel>(registry, "AveragePool");
  register_reference<LpPoolKernel>(registry, "LpPool");
  register_reference<GlobalPoolOf<GlobalPoolKind::kAverage>>(registry, "GlobalAveragePool");
  register_reference<GlobalPoolOf<GlobalPoolKind::kMax>>(registry, "GlobalMaxPool");
  register_reference<GlobalPoolOf<GlobalPoolKind::kLp>>(registry, "GlobalLpPool");
  register_reference<MaxUnpoolKernel>(registry, "MaxUnpool");
}

}  // namespace octet
