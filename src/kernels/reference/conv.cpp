// Convolutions: Conv, ConvTranspose, ConvInteger, QLinearConv.
//
// Float Conv lowers each (image, group, column tile) to a GEMM: W_g (out channels x C_g*kernel)
// times the im2col matrix (C_g*kernel x output positions), the im2col matrix written straight into
// the GEMM's packed layout. 1x1 stride-1 unpadded convolutions read the input as the matrix, and
// convolutions with one input channel per group (depthwise) use direct loops instead.
// ConvTranspose is the adjoint: a GEMM with W_g^T followed by a scatter-add (col2im).
// ConvInteger and QLinearConv use an im2col and an exact int32 product.
// 1-D and 2-D convolutions run as 3-D ones with leading spatial dimensions of size 1.
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <tuple>

#include "kernels/reference/gemm.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

constexpr int64_t kMaxSpatialRank = 3;
using SpatialSizes = std::array<int64_t, kMaxSpatialRank>;

// im2col scratch per task, in elements: 512 KiB of floats leaves room in L2 for the packed weights.
constexpr int64_t kIm2colBudget = int64_t{1} << 17;
// Column tiles narrower than this make the GEMM kernel's per-tile overhead dominate.
constexpr int64_t kMinColumnTile = 4 * kGemmTileCols;
// Convolutions with at least this many (image, group, column tile) tasks per thread run the tasks
// in parallel; fewer tasks would leave threads idle, so their GEMMs are split across threads
// instead (measured on ResNet-50's 14x14 and 7x7 layers with 2 threads).
constexpr int64_t kTasksPerThread = 2;
// ConvTranspose's GEMM result (out channels * kernel x input positions) is produced in column
// tiles of at most this many elements (16 MiB of floats, kept per thread between runs).
constexpr int64_t kCol2imBudget = int64_t{1} << 22;

int64_t ceil_div(int64_t numerator, int64_t denominator) { return (numerator + denominator - 1) / denominator; }

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

AutoPad parse_auto_pad(const Node& node) {
  const std::string value = node.attr_string("auto_pad", "NOTSET");
  if (value == "NOTSET") return AutoPad::kNotSet;
  if (value == "SAME_UPPER") return AutoPad::kSameUpper;
  if (value == "SAME_LOWER") return AutoPad::kSameLower;
  if (value == "VALID") return AutoPad::kValid;
  throw Error(concat("attribute auto_pad: unknown value '", value, "'"));
}

// The attributes shared by every convolution op, validated where the rank is not needed.
struct ConvAttributes {
  explicit ConvAttributes(const Node& node, bool transposed) {
    auto_pad = parse_auto_pad(node);
    group = node.attr_int("group", 1);
    check(group >= 1, "attribute group must be positive, got ", group);
    kernel_shape = node.attr_ints("kernel_shape", {});
    strides = node.attr_ints("strides", {});
    dilations = node.attr_ints("dilations", {});
    pads = node.attr_ints("pads", {});
    for (int64_t value : kernel_shape) check(value >= 1, "attribute kernel_shape must be positive");
    for (int64_t value : strides) check(value >= 1, "attribute strides must be positive");
    for (int64_t value : dilations) check(value >= 1, "attribute dilations must be positive");
    for (int64_t value : pads) check(value >= 0, "attribute pads must not be negative");
    if (transposed) {
      output_padding = node.attr_ints("output_padding", {});
      output_shape = node.attr_ints("output_shape", {});
      for (int64_t value : output_padding) check(value >= 0, "attribute output_padding must not be negative");
    }
  }

  AutoPad auto_pad;
  int64_t group;
  std::vector<int64_t> kernel_shape, strides, dilations, pads, output_padding, output_shape;
};

// The sizes of one convolution. Spatial arrays hold three entries, padded in front with size-1
// dimensions (stride 1, dilation 1, no padding) for 1-D and 2-D convolutions.
struct ConvGeometry {
  int64_t batch = 0;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t group = 1;
  int64_t spatial_rank = 0;
  SpatialSizes input{1, 1, 1}, output{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1}, dilation{1, 1, 1},
      pad_begin{0, 0, 0};

  int64_t in_channels_per_group() const { return in_channels / group; }
  int64_t out_channels_per_group() const { return out_channels / group; }
  int64_t input_size() const { return input[0] * input[1] * input[2]; }
  int64_t output_size() const { return output[0] * output[1] * output[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  Shape output_shape() const {
    Shape shape{batch, out_channels};
    for (int64_t i = kMaxSpatialRank - spatial_rank; i < kMaxSpatialRank; ++i) shape.push_back(output[i]);
    return shape;
  }
  // The spatial position of kernel element `index` (row-major over kernel).
  SpatialSizes kernel_position(int64_t index) const {
    return {index / (kernel[1] * kernel[2]), index / kernel[2] % kernel[1], index % kernel[2]};
  }
  // A 1x1 kernel with stride 1 and no padding reads the input itself as the im2col matrix.
  bool is_pointwise() const {
    for (int64_t i = 0; i < kMaxSpatialRank; ++i)
      if (kernel[i] != 1 || stride[i] != 1 || pad_begin[i] != 0 || output[i] != input[i]) return false;
    return true;
  }
};

// An attribute with one value per spatial axis, or `fallback` for each when absent.
std::vector<int64_t> per_axis(const std::vector<int64_t>& values, int64_t spatial_rank, int64_t fallback,
                              const std::string& name) {
  if (values.empty()) return std::vector<int64_t>(static_cast<size_t>(spatial_rank), fallback);
  check(static_cast<int64_t>(values.size()) == spatial_rank, "attribute ", name, " has ", values.size(),
        " values for ", spatial_rank, " spatial dimensions");
  return values;
}

// Fills the parts of the geometry common to Conv and ConvTranspose: ranks, kernel, strides,
// dilations. `weight_channels` is the W dimension that must equal in_channels / group (Conv) or
// the W dimension that must equal in_channels (ConvTranspose).
void fill_common_geometry(const ConvAttributes& attributes, const Shape& x_shape, const Shape& w_shape,
                          ConvGeometry& geometry) {
  check(x_shape.size() >= 3, "input X must have rank >= 3, got ", shape_to_string(x_shape));
  check(w_shape.size() == x_shape.size(), "weight W ", shape_to_string(w_shape), " and input X ",
        shape_to_string(x_shape), " must have the same rank");
  geometry.spatial_rank = static_cast<int64_t>(x_shape.size()) - 2;
  if (geometry.spatial_rank > kMaxSpatialRank)
    throw UnsupportedError(concat("convolutions with ", geometry.spatial_rank, " spatial dimensions are not supported"));
  geometry.batch = x_shape[0];
  geometry.in_channels = x_shape[1];
  geometry.group = attributes.group;
  const int64_t rank = geometry.spatial_rank;
  const std::vector<int64_t> strides = per_axis(attributes.strides, rank, 1, "strides");
  const std::vector<int64_t> dilations = per_axis(attributes.dilations, rank, 1, "dilations");
  if (!attributes.kernel_shape.empty()) {
    check(static_cast<int64_t>(attributes.kernel_shape.size()) == rank, "attribute kernel_shape has ",
          attributes.kernel_shape.size(), " values for ", rank, " spatial dimensions");
  }
  for (int64_t axis = 0; axis < rank; ++axis) {
    const size_t slot = static_cast<size_t>(kMaxSpatialRank - rank + axis);
    const size_t source = static_cast<size_t>(axis);
    geometry.input[slot] = x_shape[source + 2];
    geometry.kernel[slot] = w_shape[source + 2];
    if (!attributes.kernel_shape.empty()) {
      check(attributes.kernel_shape[source] == geometry.kernel[slot], "attribute kernel_shape ",
            shape_to_string(attributes.kernel_shape), " does not match weight W ", shape_to_string(w_shape));
    }
    geometry.stride[slot] = strides[source];
    geometry.dilation[slot] = dilations[source];
  }
}

ConvGeometry conv_geometry(const ConvAttributes& attributes, const Shape& x_shape, const Shape& w_shape) {
  ConvGeometry geometry;
  fill_common_geometry(attributes, x_shape, w_shape, geometry);
  geometry.out_channels = w_shape[0];
  check(geometry.in_channels == w_shape[1] * geometry.group, "input X has ", geometry.in_channels,
        " channels but weight W ", shape_to_string(w_shape), " with group ", geometry.group, " expects ",
        w_shape[1] * geometry.group);
  check(geometry.out_channels % geometry.group == 0, "weight W has ", geometry.out_channels,
        " output channels, not a multiple of group ", geometry.group);
  const int64_t rank = geometry.spatial_rank;
  const std::vector<int64_t> pads = per_axis(attributes.pads, 2 * rank, 0, "pads");
  for (int64_t axis = 0; axis < rank; ++axis) {
    const size_t slot = static_cast<size_t>(kMaxSpatialRank - rank + axis);
    const int64_t input = geometry.input[slot];
    const int64_t stride = geometry.stride[slot];
    const int64_t extent = (geometry.kernel[slot] - 1) * geometry.dilation[slot] + 1;
    int64_t pad_begin = 0;
    int64_t output = 0;
    switch (attributes.auto_pad) {
      case AutoPad::kNotSet: {
        pad_begin = pads[static_cast<size_t>(axis)];
        const int64_t padded = input + pad_begin + pads[static_cast<size_t>(axis + rank)];
        check(padded >= extent, "kernel extent ", extent, " exceeds the padded input size ", padded);
        output = (padded - extent) / stride + 1;
        break;
      }
      case AutoPad::kValid:
        check(input >= extent, "kernel extent ", extent, " exceeds the input size ", input);
        output = (input - extent) / stride + 1;
        break;
      case AutoPad::kSameUpper:
      case AutoPad::kSameLower: {
        output = ceil_div(input, stride);
        const int64_t total_pad = std::max<int64_t>(0, (output - 1) * stride + extent - input);
        // SAME_UPPER puts the odd padding element at the end, SAME_LOWER at the beginning.
        pad_begin = attributes.auto_pad == AutoPad::kSameUpper ? total_pad / 2 : total_pad - total_pad / 2;
        break;
      }
    }
    geometry.pad_begin[slot] = pad_begin;
    geometry.output[slot] = output;
  }
  return geometry;
}

// For ConvTranspose, `input` and `output` keep their data-flow meaning (X and Y); `pad_begin` is
// cropped from the start of the full (unpadded) transposed output.
ConvGeometry transpose_geometry(const ConvAttributes& attributes, const Shape& x_shape, const Shape& w_shape) {
  ConvGeometry geometry;
  fill_common_geometry(attributes, x_shape, w_shape, geometry);
  check(geometry.in_channels == w_shape[0], "input X has ", geometry.in_channels, " channels but weight W ",
        shape_to_string(w_shape), " expects ", w_shape[0]);
  check(geometry.in_channels % geometry.group == 0, "input X has ", geometry.in_channels,
        " channels, not a multiple of group ", geometry.group);
  geometry.out_channels = w_shape[1] * geometry.group;
  const int64_t rank = geometry.spatial_rank;
  const std::vector<int64_t> pads = per_axis(attributes.pads, 2 * rank, 0, "pads");
  const std::vector<int64_t> output_padding = per_axis(attributes.output_padding, rank, 0, "output_padding");
  std::vector<int64_t> output_shape = attributes.output_shape;
  // output_shape may also list the batch and channel dimensions.
  if (static_cast<int64_t>(output_shape.size()) == rank + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  if (!output_shape.empty()) output_shape = per_axis(output_shape, rank, 0, "output_shape");
  for (int64_t axis = 0; axis < rank; ++axis) {
    const size_t slot = static_cast<size_t>(kMaxSpatialRank - rank + axis);
    const size_t index = static_cast<size_t>(axis);
    const int64_t extent = (geometry.kernel[slot] - 1) * geometry.dilation[slot] + 1;
    // The transposed output before any cropping.
    const int64_t full_output = geometry.stride[slot] * (geometry.input[slot] - 1) + output_padding[index] + extent;
    int64_t output = 0;
    int64_t pad_begin = 0;
    const bool same = attributes.auto_pad == AutoPad::kSameUpper || attributes.auto_pad == AutoPad::kSameLower;
    if (!output_shape.empty() || same) {
      output = output_shape.empty() ? geometry.input[slot] * geometry.stride[slot] : output_shape[index];
      const int64_t total_pad = std::max<int64_t>(0, full_output - output);
      // The ONNX spec (and its test data): SAME_UPPER crops the odd element at the end, otherwise
      // at the start. ONNX Runtime does the opposite.
      pad_begin = attributes.auto_pad == AutoPad::kSameUpper ? total_pad / 2 : total_pad - total_pad / 2;
    } else {
      pad_begin = attributes.auto_pad == AutoPad::kValid ? 0 : pads[index];
      const int64_t pad_end = attributes.auto_pad == AutoPad::kValid ? 0 : pads[index + static_cast<size_t>(rank)];
      output = full_output - pad_begin - pad_end;
    }
    check(output >= 0, "ConvTranspose output size ", output, " is negative");
    geometry.pad_begin[slot] = pad_begin;
    geometry.output[slot] = output;
  }
  return geometry;
}

// Output positions o with 0 <= o * stride + offset < size: [first, second).
std::pair<int64_t, int64_t> valid_output_range(int64_t offset, int64_t stride, int64_t size, int64_t output) {
  const int64_t begin = std::min(output, offset >= 0 ? 0 : ceil_div(-offset, stride));
  const int64_t end = size - 1 - offset < 0 ? 0 : (size - 1 - offset) / stride + 1;
  return {begin, std::clamp(end, begin, output)};
}

// Writes row (input channel c, kernel element) of the im2col matrix for output positions
// [column_begin, column_end): the input value each output position multiplies by that kernel
// element, `convert`ed, or Value{} where the kernel hangs over the padding.
template <typename Source, typename Value, typename Convert>
void im2col_row(const ConvGeometry& geometry, const Source* channel, const SpatialSizes& kernel_position,
                int64_t column_begin, int64_t column_end, Value* row, Convert convert) {
  const int64_t out_plane = geometry.output[1] * geometry.output[2];
  const int64_t out_width = geometry.output[2];
  const int64_t in_height = geometry.input[1];
  const int64_t in_width = geometry.input[2];
  const int64_t stride_w = geometry.stride[2];
  // Input column iw = ow * stride_w + column_offset, inside the image for ow in [valid_begin, valid_end).
  const int64_t column_offset = kernel_position[2] * geometry.dilation[2] - geometry.pad_begin[2];
  const auto [valid_begin, valid_end] = valid_output_range(column_offset, stride_w, in_width, out_width);
  int64_t column = column_begin;
  while (column < column_end) {
    const int64_t od = column / out_plane;
    const int64_t oh = column / out_width % geometry.output[1];
    const int64_t ow_begin = column % out_width;
    const int64_t ow_end = std::min(out_width, ow_begin + (column_end - column));
    const int64_t id = od * geometry.stride[0] - geometry.pad_begin[0] + kernel_position[0] * geometry.dilation[0];
    const int64_t ih = oh * geometry.stride[1] - geometry.pad_begin[1] + kernel_position[1] * geometry.dilation[1];
    Value* out = row + (column - column_begin);  // out[i] is output column ow_begin + i
    if (id < 0 || id >= geometry.input[0] || ih < 0 || ih >= in_height) {
      std::fill(out, out + (ow_end - ow_begin), Value{});
    } else {
      const Source* line = channel + (id * in_height + ih) * in_width;
      const int64_t copy_begin = std::clamp(valid_begin, ow_begin, ow_end);
      const int64_t copy_end = std::clamp(valid_end, copy_begin, ow_end);
      std::fill(out, out + (copy_begin - ow_begin), Value{});
      for (int64_t ow = copy_begin; ow < copy_end; ++ow) out[ow - ow_begin] = convert(line[ow * stride_w + column_offset]);
      std::fill(out + (copy_end - ow_begin), out + (ow_end - ow_begin), Value{});
    }
    column += ow_end - ow_begin;
  }
}

// A run of consecutive output positions on one output line (fixed od, oh) inside one GEMM column
// panel: output columns [ow_begin, ow_begin + count), stored from `panel_offset` in the panel.
struct LineSegment {
  int64_t od, oh, ow_begin, count, panel_offset;
};

// The line segments of each kGemmTileCols-wide panel of output positions [column_begin,
// column_begin + width): panel p owns segments[first[p]] .. segments[first[p + 1] - 1].
struct PanelSegments {
  std::vector<LineSegment> segments;
  std::vector<size_t> first;

  PanelSegments(const ConvGeometry& geometry, int64_t column_begin, int64_t width) {
    const int64_t out_width = geometry.output[2];
    for (int64_t panel = 0; panel < width; panel += kGemmTileCols) {
      first.push_back(segments.size());
      const int64_t panel_end = std::min(width, panel + kGemmTileCols);
      for (int64_t position = panel; position < panel_end;) {
        const int64_t column = column_begin + position;
        const int64_t ow = column % out_width;
        const int64_t count = std::min(out_width - ow, panel_end - position);
        segments.push_back({column / out_width / geometry.output[1], column / out_width % geometry.output[1], ow, count,
                            position - panel});
        position += count;
      }
    }
    first.push_back(segments.size());
  }
};

// Writes the im2col matrix of one group of one image, for output positions [column_begin,
// column_begin + width), straight into the GEMM's packed layout: row (input channel c, kernel
// element k) holds the input value each output position multiplies by that weight, zero in
// padding. Loops run panel by panel (rows of different panels lie a multiple of 4 KiB apart and
// would evict each other from L1), then by kernel element and line segment, whose bounds hold for
// every channel, so that the innermost loop is a plain copy per channel.
void im2col_packed(const ConvGeometry& geometry, const float* x_group, int64_t column_begin, int64_t width,
                   PackedRhs& columns) {
  const PanelSegments panels(geometry, column_begin, width);
  const int64_t kernel_size = geometry.kernel_size();
  const int64_t channels = geometry.in_channels_per_group();
  const int64_t input_size = geometry.input_size();
  const int64_t in_height = geometry.input[1];
  const int64_t in_width = geometry.input[2];
  const int64_t stride_w = geometry.stride[2];
  columns.reset(channels * kernel_size, width);
  const int64_t panel_count = static_cast<int64_t>(panels.first.size()) - 1;
  for (int64_t panel = 0; panel < panel_count; ++panel) {
    const int64_t panel_column = panel * kGemmTileCols;
    const int64_t panel_width = std::min(kGemmTileCols, width - panel_column);
    const LineSegment* segments_begin = panels.segments.data() + panels.first[static_cast<size_t>(panel)];
    const LineSegment* segments_end = panels.segments.data() + panels.first[static_cast<size_t>(panel) + 1];
    for (int64_t k = 0; k < kernel_size; ++k) {
      const SpatialSizes kernel_position = geometry.kernel_position(k);
      SpatialSizes offset;
      for (size_t axis = 0; axis < kMaxSpatialRank; ++axis)
        offset[axis] = kernel_position[axis] * geometry.dilation[axis] - geometry.pad_begin[axis];
      const auto [ow_valid_begin, ow_valid_end] = valid_output_range(offset[2], stride_w, in_width, geometry.output[2]);
      for (const LineSegment* segment = segments_begin; segment != segments_end; ++segment) {
        const int64_t count = segment->count;
        const int64_t id = segment->od * geometry.stride[0] + offset[0];
        const int64_t ih = segment->oh * geometry.stride[1] + offset[1];
        const bool inside = id >= 0 && id < geometry.input[0] && ih >= 0 && ih < in_height;
        // Entries [copy_begin, copy_end) of the segment read the input; the rest are padding.
        const int64_t copy_begin = inside ? std::clamp(ow_valid_begin - segment->ow_begin, int64_t{0}, count) : count;
        const int64_t copy_end = inside ? std::clamp(ow_valid_end - segment->ow_begin, copy_begin, count) : count;
        // The channel-0 input element read by segment entry i: line + i * stride_w.
        const int64_t line = (id * in_height + ih) * in_width + segment->ow_begin * stride_w + offset[2];
        const bool whole_panel_copy = stride_w == 1 && count == kGemmTileCols && copy_begin == 0 && copy_end == count;
        for (int64_t c = 0; c < channels; ++c) {
          float* out = columns.tile_row(c * kernel_size + k, panel_column) + segment->panel_offset;
          const float* source = x_group + c * input_size;
          if (whole_panel_copy) {
            // The common case inside large images: a whole panel row from one input line.
            std::memcpy(out, source + line, kGemmTileCols * sizeof(float));
            continue;
          }
          std::fill(out, out + copy_begin, 0.0f);
          for (int64_t i = copy_begin; i < copy_end; ++i) out[i] = source[line + i * stride_w];
          std::fill(out + copy_end, out + count, 0.0f);
        }
      }
      if (panel_width < kGemmTileCols) {
        for (int64_t c = 0; c < channels; ++c) {
          float* out = columns.tile_row(c * kernel_size + k, panel_column);
          std::fill(out + panel_width, out + kGemmTileCols, 0.0f);
        }
      }
    }
  }
}

// How a grouped convolution's output is cut into independent tasks: images x groups x column
// tiles, a tile's im2col matrix fitting the scratch budget.
struct ConvTiling {
  int64_t column_tile = 1;
  int64_t column_tiles = 1;

  ConvTiling(const ConvGeometry& geometry, int64_t depth) {
    const int64_t columns = geometry.output_size();
    const int64_t budget_tile = kIm2colBudget / std::max<int64_t>(1, depth) / kGemmTileCols * kGemmTileCols;
    column_tile = std::max<int64_t>(1, std::min(columns, std::max(kMinColumnTile, budget_tile)));
    column_tiles = ceil_div(columns, column_tile);
  }
  int64_t task_count(const ConvGeometry& geometry) const { return geometry.batch * geometry.group * column_tiles; }
};

// ---------------------------------------------------------------------------------------------
// Float Conv.

// GCC/Clang vector of 8 floats: one register with AVX2 and AVX-512 (see gemm.cpp for why the
// register-blocked loops use vector extensions rather than auto-vectorization).
using Float8 = float __attribute__((vector_size(8 * sizeof(float))));
constexpr int64_t kFloat8Width = 8;
// Output columns computed together by the unit-stride depthwise kernel: four independent vector
// accumulators hide the latency of the multiply-adds.
constexpr int64_t kDepthwiseVectors = 4;
constexpr int64_t kDepthwiseBlock = kDepthwiseVectors * kFloat8Width;

// One output plane of a 1-D or 2-D depthwise convolution with unit column stride. The input is
// copied into a zero-padded plane wide enough for whole blocks, so that each block of
// kDepthwiseBlock outputs is summed in registers over all kernel taps without bounds checks
// (columns past the output width are computed and dropped). Small planes (deep layers) would
// otherwise spend their time in per-line loop overhead.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void depthwise_plane_unit_stride(
    const ConvGeometry& geometry, const float* x_plane, const float* w_kernel, float bias_value,
    std::vector<float>& padded, float* y_plane) {
  const int64_t out_height = geometry.output[1], out_width = geometry.output[2];
  const int64_t in_height = geometry.input[1], in_width = geometry.input[2];
  const int64_t kernel_height = geometry.kernel[1], kernel_width = geometry.kernel[2];
  const int64_t stride_h = geometry.stride[1];
  const int64_t dilation_h = geometry.dilation[1], dilation_w = geometry.dilation[2];
  const int64_t pad_top = geometry.pad_begin[1], pad_left = geometry.pad_begin[2];
  const int64_t block_columns = ceil_div(out_width, kDepthwiseBlock) * kDepthwiseBlock;
  const int64_t padded_height = (out_height - 1) * stride_h + (kernel_height - 1) * dilation_h + 1;
  const int64_t padded_width = block_columns + (kernel_width - 1) * dilation_w;
  padded.assign(static_cast<size_t>(padded_height * padded_width), 0.0f);
  for (int64_t row = 0; row < padded_height; ++row) {
    const int64_t ih = row - pad_top;
    if (ih < 0 || ih >= in_height || pad_left >= padded_width) continue;
    const int64_t count = std::min(in_width, padded_width - pad_left);
    std::copy(x_plane + ih * in_width, x_plane + ih * in_width + count, padded.data() + row * padded_width + pad_left);
  }
  for (int64_t oh = 0; oh < out_height; ++oh) {
    for (int64_t ow = 0; ow < out_width; ow += kDepthwiseBlock) {
      Float8 sums[kDepthwiseVectors];
      for (Float8& sum : sums) sum = Float8{} + bias_value;
      for (int64_t kh = 0; kh < kernel_height; ++kh) {
        const float* padded_row = padded.data() + (oh * stride_h + kh * dilation_h) * padded_width + ow;
        for (int64_t kw = 0; kw < kernel_width; ++kw) {
          const float weight = w_kernel[kh * kernel_width + kw];
          const float* source = padded_row + kw * dilation_w;
          for (int64_t v = 0; v < kDepthwiseVectors; ++v) {
            Float8 values;
            std::memcpy(&values, source + v * kFloat8Width, sizeof(values));
            sums[v] += weight * values;
          }
        }
      }
      float block[kDepthwiseBlock];
      std::memcpy(block, sums, sizeof(block));
      std::copy(block, block + std::min(kDepthwiseBlock, out_width - ow), y_plane + oh * out_width + ow);
    }
  }
}

// One output plane of a depthwise convolution: each output line accumulates shifted, scaled input
// lines, one kernel tap at a time (contiguous when stride_w is 1, so the loop vectorizes). Cloned
// per ISA: with AVX2/AVX-512 and FMA it runs about twice as fast as the baseline SSE2 build.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void depthwise_plane(
    const ConvGeometry& geometry, const float* x_plane, const float* w_kernel, float bias_value, float* y_plane) {
  const int64_t in_width = geometry.input[2];
  const int64_t out_width = geometry.output[2];
  const int64_t stride_w = geometry.stride[2];
  std::fill(y_plane, y_plane + geometry.output_size(), bias_value);
  for (int64_t od = 0; od < geometry.output[0]; ++od) {
    for (int64_t oh = 0; oh < geometry.output[1]; ++oh) {
      float* y_line = y_plane + (od * geometry.output[1] + oh) * out_width;
      for (int64_t kd = 0; kd < geometry.kernel[0]; ++kd) {
        const int64_t id = od * geometry.stride[0] - geometry.pad_begin[0] + kd * geometry.dilation[0];
        if (id < 0 || id >= geometry.input[0]) continue;
        for (int64_t kh = 0; kh < geometry.kernel[1]; ++kh) {
          const int64_t ih = oh * geometry.stride[1] - geometry.pad_begin[1] + kh * geometry.dilation[1];
          if (ih < 0 || ih >= geometry.input[1]) continue;
          const float* x_line = x_plane + (id * geometry.input[1] + ih) * in_width;
          for (int64_t kw = 0; kw < geometry.kernel[2]; ++kw) {
            const float weight = w_kernel[(kd * geometry.kernel[1] + kh) * geometry.kernel[2] + kw];
            const int64_t offset = kw * geometry.dilation[2] - geometry.pad_begin[2];
            const auto [valid_begin, valid_end] = valid_output_range(offset, stride_w, in_width, out_width);
            if (stride_w == 1) {
              for (int64_t ow = valid_begin; ow < valid_end; ++ow) y_line[ow] += weight * x_line[ow + offset];
            } else {
              for (int64_t ow = valid_begin; ow < valid_end; ++ow) y_line[ow] += weight * x_line[ow * stride_w + offset];
            }
          }
        }
      }
    }
  }
}

class ConvKernel : public Kernel {
 public:
  explicit ConvKernel(const KernelCreateInfo& info) : attributes_(info.node, /*transposed=*/false) {
    if (const Tensor* weight = info.find_constant(info.node.input(1))) pack_weights(*weight);
  }

  void run(KernelContext& context) override {
    const Tensor& x = context.input(0);
    const Tensor& w = context.input(1);
    const Tensor* bias = context.optional_input(2);
    if (x.dtype() != DataType::kFloat || w.dtype() != DataType::kFloat)
      throw UnsupportedError(concat("Conv: type ", dtype_name(x.dtype()), " is not supported"));
    const ConvGeometry geometry = conv_geometry(attributes_, x.shape(), w.shape());
    if (bias) {
      check(bias->dtype() == DataType::kFloat && bias->element_count() == geometry.out_channels, "bias B ",
            shape_to_string(bias->shape()), " must hold ", geometry.out_channels, " floats");
    }
    Tensor& y = context.allocate_output(0, DataType::kFloat, geometry.output_shape());
    if (y.element_count() == 0) return;
    const float* bias_data = bias ? bias->data<float>() : nullptr;
    if (geometry.in_channels_per_group() == 1) {
      run_depthwise(geometry, x.data<float>(), w.data<float>(), bias_data, y.data<float>(), context.threads());
    } else {
      run_gemm(geometry, x.data<float>(), w, bias_data, y.data<float>(), context.threads());
    }
  }

 private:
  void pack_weights(const Tensor& w) {
    if (w.dtype() != DataType::kFloat || w.rank() < 3 || w.dim(0) % attributes_.group != 0) return;
    pack_groups(w, attributes_.group, packed_weights_);
    packed_shape_ = w.shape();
  }

  // W as one packed GEMM left operand per group: (out channels / group) x (in channels / group *
  // kernel). Reuses the buffers already in `packed`.
  static void pack_groups(const Tensor& w, int64_t group, std::vector<PackedLhs>& packed) {
    const int64_t rows = w.dim(0) / group;
    const int64_t depth = w.element_count() / std::max<int64_t>(1, w.dim(0));
    packed.resize(static_cast<size_t>(group));
    for (int64_t g = 0; g < group; ++g)
      packed[static_cast<size_t>(g)].pack(MatrixView{w.data<float>() + g * rows * depth, depth}, rows, depth);
  }

  void run_gemm(const ConvGeometry& geometry, const float* x, const Tensor& w, const float* bias, float* y,
                ThreadPool& threads) const {
    const int64_t channels = geometry.in_channels_per_group();
    const int64_t rows = geometry.out_channels_per_group();
    const int64_t kernel_size = geometry.kernel_size();
    const int64_t depth = channels * kernel_size;
    const int64_t input_size = geometry.input_size();
    const int64_t output_size = geometry.output_size();
    const bool pointwise = geometry.is_pointwise();
    // Weights computed at run time (e.g. by DequantizeLinear) are packed once per run rather than
    // once per task, into buffers kept by the calling thread (see the scratch below).
    thread_local std::vector<PackedLhs> run_weights;
    const bool prepacked = !packed_weights_.empty() && packed_shape_ == w.shape();
    if (!prepacked) pack_groups(w, geometry.group, run_weights);
    const std::vector<PackedLhs>& weights = prepacked ? packed_weights_ : run_weights;
    const ConvTiling tiling(geometry, depth);
    // One task: the output channels of one group of one image, for one column tile.
    auto run_task = [&](int64_t task, PackedRhs& columns, ThreadPool* gemm_threads) {
      const int64_t column_tile = task % tiling.column_tiles;
      const int64_t group = task / tiling.column_tiles % geometry.group;
      const int64_t image = task / (tiling.column_tiles * geometry.group);
      const int64_t column_begin = column_tile * tiling.column_tile;
      const int64_t width = std::min(tiling.column_tile, output_size - column_begin);
      const float* x_group = x + (image * geometry.in_channels + group * channels) * input_size;
      const int64_t out_channel_begin = group * rows;
      float* y_tile = y + (image * geometry.out_channels + out_channel_begin) * output_size + column_begin;
      const PackedLhs& lhs = weights[static_cast<size_t>(group)];
      if (pointwise) {
        gemm(rows, width, depth, 1.0f, lhs, MatrixView{x_group + column_begin, input_size}, 0.0f, y_tile, output_size,
             gemm_threads);
      } else {
        im2col_packed(geometry, x_group, column_begin, width, columns);
        gemm(rows, width, depth, 1.0f, lhs, columns, 0.0f, y_tile, output_size, gemm_threads);
      }
      if (bias) {
        for (int64_t i = 0; i < rows; ++i) {
          const float value = bias[out_channel_begin + i];
          float* y_row = y_tile + i * output_size;
          for (int64_t j = 0; j < width; ++j) y_row[j] += value;
        }
      }
    };
    const int64_t tasks = tiling.task_count(geometry);
    if (threads.thread_count() == 1 || tasks >= kTasksPerThread * threads.thread_count()) {
      threads.parallel_for(tasks, [&](int64_t task_begin, int64_t task_end) {
        // Scratch kept per thread across runs: reallocating it would cost page faults and zeroing.
        thread_local PackedRhs columns;
        for (int64_t task = task_begin; task < task_end; ++task) run_task(task, columns, nullptr);
      });
    } else {
      // Few output positions (deep layers): one im2col per task, its GEMM split across threads.
      thread_local PackedRhs columns;
      for (int64_t task = 0; task < tasks; ++task) run_task(task, columns, &threads);
    }
  }

  // One input channel per group: each output plane is a sum of shifted, scaled input planes.
  static void run_depthwise(const ConvGeometry& geometry, const float* x, const float* w, const float* bias, float* y,
                            ThreadPool& threads) {
    const int64_t multiplier = geometry.out_channels_per_group();
    const bool planar_unit_stride = geometry.input[0] == 1 && geometry.kernel[0] == 1 && geometry.stride[2] == 1;
    threads.parallel_for(geometry.batch * geometry.out_channels, [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> padded;  // kept across runs, see run_gemm
      for (int64_t plane = begin; plane < end; ++plane) {
        const int64_t image = plane / geometry.out_channels;
        const int64_t out_channel = plane % geometry.out_channels;
        const float* x_plane = x + (image * geometry.in_channels + out_channel / multiplier) * geometry.input_size();
        const float* w_kernel = w + out_channel * geometry.kernel_size();
        const float bias_value = bias ? bias[out_channel] : 0.0f;
        float* y_plane = y + plane * geometry.output_size();
        if (planar_unit_stride) {
          depthwise_plane_unit_stride(geometry, x_plane, w_kernel, bias_value, padded, y_plane);
        } else {
          depthwise_plane(geometry, x_plane, w_kernel, bias_value, y_plane);
        }
      }
    });
  }

  ConvAttributes attributes_;
  std::vector<PackedLhs> packed_weights_;  // one per group, when W is a constant (packed_shape_)
  Shape packed_shape_;
};

// ---------------------------------------------------------------------------------------------
// Float ConvTranspose.

class ConvTransposeKernel : public Kernel {
 public:
  explicit ConvTransposeKernel(const KernelCreateInfo& info) : attributes_(info.node, /*transposed=*/true) {}

  void run(KernelContext& context) override {
    const Tensor& x = context.input(0);
    const Tensor& w = context.input(1);
    const Tensor* bias = context.optional_input(2);
    if (x.dtype() != DataType::kFloat || w.dtype() != DataType::kFloat)
      throw UnsupportedError(concat("ConvTranspose: type ", dtype_name(x.dtype()), " is not supported"));
    const ConvGeometry geometry = transpose_geometry(attributes_, x.shape(), w.shape());
    if (bias) {
      check(bias->dtype() == DataType::kFloat && bias->element_count() == geometry.out_channels, "bias B ",
            shape_to_string(bias->shape()), " must hold ", geometry.out_channels, " floats");
    }
    Tensor& y = context.allocate_output(0, DataType::kFloat, geometry.output_shape());
    if (y.element_count() == 0) return;
    const int64_t channels = geometry.in_channels_per_group();
    const int64_t out_per_group = geometry.out_channels_per_group();
    const int64_t kernel_size = geometry.kernel_size();
    const int64_t rows = out_per_group * kernel_size;  // GEMM rows: (output channel, kernel element)
    const int64_t input_size = geometry.input_size();
    const int64_t output_size = geometry.output_size();
    const int64_t column_tile = std::max<int64_t>(1, std::min(input_size, kCol2imBudget / std::max<int64_t>(1, rows)));
    // Kept across runs (see ConvKernel::run_gemm). Workers below must use the pointer: naming a
    // thread_local inside the lambda would refer to the worker's own instance.
    thread_local std::vector<float> column_scratch;
    column_scratch.resize(static_cast<size_t>(rows * column_tile));
    float* columns = column_scratch.data();
    float* y_data = y.data<float>();
    const float* bias_data = bias ? bias->data<float>() : nullptr;
    for (int64_t channel = 0; channel < geometry.batch * geometry.out_channels; ++channel) {
      float* plane = y_data + channel * output_size;
      std::fill(plane, plane + output_size, bias_data ? bias_data[channel % geometry.out_channels] : 0.0f);
    }
    for (int64_t image = 0; image < geometry.batch; ++image) {
      for (int64_t group = 0; group < geometry.group; ++group) {
        const float* x_group = x.data<float>() + (image * geometry.in_channels + group * channels) * input_size;
        // W_g is (channels) x (out_per_group * kernel); the GEMM multiplies by its transpose.
        const MatrixView w_transposed{w.data<float>() + group * channels * rows, rows, /*transposed=*/true};
        float* y_group = y_data + (image * geometry.out_channels + group * out_per_group) * output_size;
        for (int64_t column_begin = 0; column_begin < input_size; column_begin += column_tile) {
          const int64_t width = std::min(column_tile, input_size - column_begin);
          gemm(rows, width, channels, 1.0f, w_transposed, MatrixView{x_group + column_begin, input_size}, 0.0f,
               columns, width, &context.threads());
          context.threads().parallel_for(out_per_group, [&](int64_t begin, int64_t end) {
            for (int64_t out_channel = begin; out_channel < end; ++out_channel) {
              for (int64_t k = 0; k < kernel_size; ++k) {
                col2im_row(geometry, columns + (out_channel * kernel_size + k) * width,
                           geometry.kernel_position(k), column_begin, column_begin + width,
                           y_group + out_channel * output_size);
              }
            }
          });
        }
      }
    }
  }

 private:
  // Adds row (output channel, kernel element) of the GEMM result, for input positions
  // [column_begin, column_end), to the output positions they reach.
  static void col2im_row(const ConvGeometry& geometry, const float* row, const SpatialSizes& kernel_position,
                         int64_t column_begin, int64_t column_end, float* y_plane) {
    const int64_t in_plane = geometry.input[1] * geometry.input[2];
    const int64_t in_width = geometry.input[2];
    const int64_t out_width = geometry.output[2];
    const int64_t stride_w = geometry.stride[2];
    // Output column ow = iw * stride_w + column_offset.
    const int64_t column_offset = kernel_position[2] * geometry.dilation[2] - geometry.pad_begin[2];
    const auto [valid_begin, valid_end] = valid_output_range(column_offset, stride_w, out_width, in_width);
    int64_t column = column_begin;
    while (column < column_end) {
      const int64_t id = column / in_plane;
      const int64_t ih = column / in_width % geometry.input[1];
      const int64_t iw_begin = column % in_width;
      const int64_t iw_end = std::min(in_width, iw_begin + (column_end - column));
      const int64_t od = id * geometry.stride[0] - geometry.pad_begin[0] + kernel_position[0] * geometry.dilation[0];
      const int64_t oh = ih * geometry.stride[1] - geometry.pad_begin[1] + kernel_position[1] * geometry.dilation[1];
      if (od >= 0 && od < geometry.output[0] && oh >= 0 && oh < geometry.output[1]) {
        float* y_line = y_plane + (od * geometry.output[1] + oh) * out_width;
        const float* values = row + (column - column_begin);  // values[i] belongs to input column iw_begin + i
        const int64_t add_begin = std::clamp(valid_begin, iw_begin, iw_end);
        const int64_t add_end = std::clamp(valid_end, add_begin, iw_end);
        for (int64_t iw = add_begin; iw < add_end; ++iw) y_line[iw * stride_w + column_offset] += values[iw - iw_begin];
      }
      column += iw_end - iw_begin;
    }
  }

  ConvAttributes attributes_;
};

// ---------------------------------------------------------------------------------------------
// ConvInteger and QLinearConv: exact int32 accumulation of (x - x_zero_point) * (w - w_zero_point).

// A zero point or scale given per tensor (one element) or per output channel.
int64_t per_channel_index(const Tensor& tensor, int64_t channel, int64_t channels, const std::string& name) {
  if (tensor.element_count() == 1) return 0;
  check(tensor.rank() == 1 && tensor.element_count() == channels, name, " ", shape_to_string(tensor.shape()),
        " must be a scalar or hold one value per output channel (", channels, ")");
  return channel;
}

void check_quantized_type(const Tensor& tensor, const std::string& name) {
  if (tensor.dtype() != DataType::kUint8 && tensor.dtype() != DataType::kInt8)
    throw UnsupportedError(concat(name, ": type ", dtype_name(tensor.dtype()), " is not supported (uint8 or int8)"));
}

// Calls function.template operator()<T>() with T = uint8_t or int8_t for a quantized tensor.
template <typename Function>
void dispatch_quantized(const Tensor& tensor, Function&& function) {
  if (tensor.dtype() == DataType::kUint8) {
    function.template operator()<uint8_t>();
  } else {
    function.template operator()<int8_t>();
  }
}

class IntegerConvKernel : public Kernel {
 public:
  enum class Mode { kConvInteger, kQLinearConv };

  IntegerConvKernel(const KernelCreateInfo& info, Mode mode)
      : attributes_(info.node, /*transposed=*/false), mode_(mode) {}

  void run(KernelContext& context) override {
    const bool qlinear = mode_ == Mode::kQLinearConv;
    const Tensor& x = context.input(0);
    const Tensor& w = context.input(qlinear ? 3 : 1);
    const Tensor* x_zero_point = context.optional_input(2);
    const Tensor* w_zero_point = context.optional_input(qlinear ? 5 : 3);
    check_quantized_type(x, "input x");
    check_quantized_type(w, "input w");
    const ConvGeometry geometry = conv_geometry(attributes_, x.shape(), w.shape());
    const int64_t out_channels = geometry.out_channels;
    const int64_t depth = geometry.in_channels_per_group() * geometry.kernel_size();

    int32_t x_offset = 0;
    if (x_zero_point) {
      check(x_zero_point->element_count() == 1, "x_zero_point must be a scalar, got ",
            shape_to_string(x_zero_point->shape()));
      check(x_zero_point->dtype() == x.dtype(), "x_zero_point must have the type of x");
      x_offset = static_cast<int32_t>(x_zero_point->value_as_int64(0));
    }
    // W minus its zero point, as int32 (out_channels x depth).
    if (w_zero_point) check(w_zero_point->dtype() == w.dtype(), "w_zero_point must have the type of w");
    std::vector<int32_t> weights(static_cast<size_t>(out_channels * depth));
    dispatch_quantized(w, [&]<typename T>() {
      const T* source = static_cast<const T*>(w.raw_data());
      for (int64_t channel = 0; channel < out_channels; ++channel) {
        const int32_t w_offset =
            w_zero_point ? static_cast<int32_t>(w_zero_point->value_as_int64(
                               per_channel_index(*w_zero_point, channel, out_channels, "w_zero_point")))
                         : 0;
        for (int64_t i = channel * depth; i < (channel + 1) * depth; ++i)
          weights[static_cast<size_t>(i)] = static_cast<int32_t>(source[i]) - w_offset;
      }
    });

    std::vector<float> multipliers;
    const Tensor* bias = nullptr;
    int32_t y_zero = 0;
    DataType y_type = DataType::kInt32;
    if (qlinear) {
      const Tensor& x_scale = context.input(1);
      const Tensor& w_scale = context.input(4);
      const Tensor& y_scale = context.input(6);
      const Tensor* y_zero_point = context.optional_input(7);
      bias = context.optional_input(8);
      check(x_scale.element_count() == 1 && y_scale.element_count() == 1, "x_scale and y_scale must be scalars");
      y_type = y_zero_point ? y_zero_point->dtype() : x.dtype();
      if (y_zero_point) {
        check(y_zero_point->element_count() == 1, "y_zero_point must be a scalar");
        check_quantized_type(*y_zero_point, "y_zero_point");
        y_zero = static_cast<int32_t>(y_zero_point->value_as_int64(0));
      }
      if (bias) {
        check(bias->dtype() == DataType::kInt32 && bias->element_count() == out_channels, "bias B ",
              shape_to_string(bias->shape()), " must hold ", out_channels, " int32 values");
      }
      const float input_scale = static_cast<float>(x_scale.value_as_double(0));
      const float output_scale = static_cast<float>(y_scale.value_as_double(0));
      for (int64_t channel = 0; channel < out_channels; ++channel) {
        const float weight_scale =
            static_cast<float>(w_scale.value_as_double(per_channel_index(w_scale, channel, out_channels, "w_scale")));
        multipliers.push_back(input_scale * weight_scale / output_scale);
      }
    }

    Tensor& y = context.allocate_output(0, y_type, geometry.output_shape());
    if (y.element_count() == 0) return;
    const int32_t* bias_data = bias ? bias->data<int32_t>() : nullptr;
    dispatch_quantized(x, [&]<typename T>() {
      compute(geometry, static_cast<const T*>(x.raw_data()), x_offset, weights, context.threads(),
              [&](int64_t plane, int64_t column, const int32_t* accumulators, int64_t count) {
                store(y, geometry, plane, column, accumulators, count, multipliers, bias_data, y_zero);
              });
    });
  }

 private:
  // Runs the integer convolution in tasks (image, group, column tile) and hands each output
  // channel's accumulators for a column range to `emit`.
  template <typename T, typename Emit>
  static void compute(const ConvGeometry& geometry, const T* x, int32_t x_offset, const std::vector<int32_t>& weights,
                      ThreadPool& threads, Emit emit) {
    const int64_t channels = geometry.in_channels_per_group();
    const int64_t rows = geometry.out_channels_per_group();
    const int64_t kernel_size = geometry.kernel_size();
    const int64_t depth = channels * kernel_size;
    const int64_t input_size = geometry.input_size();
    const int64_t output_size = geometry.output_size();
    const ConvTiling tiling(geometry, depth);
    threads.parallel_for(tiling.task_count(geometry), [&](int64_t task_begin, int64_t task_end) {
      thread_local std::vector<int32_t> columns;  // kept across runs, see ConvKernel::run_gemm
      thread_local std::vector<int32_t> accumulators;
      columns.resize(static_cast<size_t>(depth * tiling.column_tile));
      accumulators.resize(static_cast<size_t>(rows * tiling.column_tile));
      for (int64_t task = task_begin; task < task_end; ++task) {
        const int64_t column_tile = task % tiling.column_tiles;
        const int64_t group = task / tiling.column_tiles % geometry.group;
        const int64_t image = task / (tiling.column_tiles * geometry.group);
        const int64_t column_begin = column_tile * tiling.column_tile;
        const int64_t width = std::min(tiling.column_tile, output_size - column_begin);
        const T* x_group = x + (image * geometry.in_channels + group * channels) * input_size;
        for (int64_t r = 0; r < depth; ++r) {
          im2col_row(geometry, x_group + r / kernel_size * input_size, geometry.kernel_position(r % kernel_size),
                     column_begin, column_begin + width, columns.data() + r * width,
                     [x_offset](T value) { return static_cast<int32_t>(value) - x_offset; });
        }
        gemm_int32(rows, width, depth, weights.data() + group * rows * depth, depth, columns.data(), width,
                   accumulators.data(), width);
        for (int64_t i = 0; i < rows; ++i) {
          const int64_t out_channel = group * rows + i;
          emit(image * geometry.out_channels + out_channel, column_begin, accumulators.data() + i * width, width);
        }
      }
    });
  }

  // Writes accumulators for output plane `plane` (image * out_channels + channel), columns
  // [column, column + count): as int32 (ConvInteger) or requantized (QLinearConv).
  static void store(Tensor& y, const ConvGeometry& geometry, int64_t plane, int64_t column, const int32_t* accumulators,
                    int64_t count, const std::vector<float>& multipliers, const int32_t* bias, int32_t y_zero) {
    const int64_t offset = plane * geometry.output_size() + column;
    const int64_t channel = plane % geometry.out_channels;
    if (y.dtype() == DataType::kInt32) {
      std::copy(accumulators, accumulators + count, static_cast<int32_t*>(y.raw_data()) + offset);
      return;
    }
    const int32_t bias_value = bias ? bias[channel] : 0;
    const float multiplier = multipliers[static_cast<size_t>(channel)];
    dispatch_quantized(y, [&]<typename Q>() {
      Q* destination = static_cast<Q*>(y.raw_data()) + offset;
      for (int64_t i = 0; i < count; ++i) destination[i] = requantize<Q>(accumulators[i] + bias_value, multiplier, y_zero);
    });
  }

  ConvAttributes attributes_;
  Mode mode_;
};

class ConvIntegerKernel : public IntegerConvKernel {
 public:
  explicit ConvIntegerKernel(const KernelCreateInfo& info) : IntegerConvKernel(info, Mode::kConvInteger) {}
};

class QLinearConvKernel : public IntegerConvKernel {
 public:
  explicit QLinearConvKernel(const KernelCreateInfo& info) : IntegerConvKernel(info, Mode::kQLinearConv) {}
};

}  // namespace

void register_conv_kernels(KernelRegistry& registry) {
  register_reference<ConvKernel>(registry, "Conv");
  register_reference<ConvTransposeKernel>(registry, "ConvTranspose");
  register_reference<ConvIntegerKernel>(registry, "ConvInteger");
  register_reference<QLinearConvKernel>(registry, "QLinearConv");
}

}  // namespace octet
