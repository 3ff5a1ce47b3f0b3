// Data-movement ops: Concat, Split, Slice, Pad, Transpose, Expand, Tile, DepthToSpace,
// SpaceToDepth, ReverseSequence. Elements are moved, never computed on, so every fixed-size type
// works; most ops are one copy_strided() call over a view of the input.
#include <algorithm>
#include <cstring>
#include <optional>

#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"
#include "kernels/reference/tensor_kernels.h"

namespace octet {
namespace {

// Writes dst (contiguous, shape `view` permuted by `perm`) from src read as the row-major `view`.
void copy_permuted(const Tensor& src, const Shape& view, const std::vector<int64_t>& perm, Tensor& dst,
                   ThreadPool& threads) {
  const std::vector<int64_t> view_strides = strides_of(view);
  Shape permuted_shape(perm.size());
  std::vector<int64_t> permuted_strides(perm.size());
  for (size_t axis = 0; axis < perm.size(); ++axis) {
    permuted_shape[axis] = view[static_cast<size_t>(perm[axis])];
    permuted_strides[axis] = view_strides[static_cast<size_t>(perm[axis])];
  }
  copy_strided(permuted_shape, dtype_size(src.dtype()), src.raw_data(), permuted_strides, dst.raw_data(),
               strides_of(permuted_shape), threads);
}

void check_copyable(const Tensor& tensor) {
  if (dtype_size(tensor.dtype()) == 0)
    throw UnsupportedError(concat("type ", dtype_name(tensor.dtype()), " is not supported"));
}

class ConcatKernel : public Kernel {
 public:
  explicit ConcatKernel(const KernelCreateInfo& info)
      : axis_(info.opset < 4 ? info.node.attr_int("axis", 1) : info.node.attr_int("axis")) {}

  void run(KernelContext& context) override {
    const Tensor& first = context.input(0);
    check_copyable(first);
    check(first.rank() > 0, "inputs must not be scalars");
    const int64_t axis = normalize_axis(axis_, first.rank(), "axis");
    Shape shape = first.shape();
    shape[static_cast<size_t>(axis)] = 0;
    for (size_t i = 0; i < context.input_count(); ++i) {
      const Tensor& src = context.input(i);
      check(src.dtype() == first.dtype(), "input ", i, " has type ", dtype_name(src.dtype()), ", input 0 has ",
            dtype_name(first.dtype()));
      bool compatible = src.rank() == first.rank();
      for (int64_t d = 0; compatible && d < src.rank(); ++d) compatible = d == axis || src.dim(d) == first.dim(d);
      check(compatible, "input ", i, " of shape ", shape_to_string(src.shape()), " does not match input 0 of shape ",
            shape_to_string(first.shape()), " outside axis ", axis);
      shape[static_cast<size_t>(axis)] += src.dim(axis);
    }
    Tensor& dst = context.allocate_output(0, first.dtype(), shape);
    const size_t element_size = dtype_size(first.dtype());
    const int64_t outer = dims_product(shape, 0, static_cast<size_t>(axis));
    const int64_t inner = dims_product(shape, static_cast<size_t>(axis) + 1, shape.size());
    const int64_t dst_row = shape[static_cast<size_t>(axis)] * inner;
    int64_t dst_column = 0;
    for (size_t i = 0; i < context.input_count(); ++i) {
      const Tensor& src = context.input(i);
      const int64_t src_row = src.dim(axis) * inner;
      copy_strided({outer, src_row}, element_size, src.raw_data(), {src_row, 1},
                   bytes_of(dst) + dst_column * static_cast<int64_t>(element_size), {dst_row, 1}, context.threads());
      dst_column += src_row;
    }
  }

 private:
  int64_t axis_;
};

// Split: part sizes come from the 'split' attribute (opset < 13), the 'split' input (opset 1 and
// 13+), equal parts over the outputs, or 'num_outputs' (opset 18: the last part may be smaller).
class SplitKernel : public Kernel {
 public:
  explicit SplitKernel(const KernelCreateInfo& info)
      : opset_(info.opset), axis_(info.node.attr_int("axis", 0)), output_count_(info.node.outputs.size()) {
    if (info.opset < 13 && info.node.has_attribute("split")) split_attribute_ = info.node.attr_ints("split");
    if (info.opset >= 18 && info.node.has_attribute("num_outputs")) {
      num_outputs_ = info.node.attr_int("num_outputs");
      check(*num_outputs_ == static_cast<int64_t>(output_count_), "num_outputs ", *num_outputs_, " but the node has ",
            output_count_, " outputs");
    }
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check_copyable(src);
    const int64_t axis = normalize_axis(axis_, src.rank(), "axis");
    const int64_t dim = src.dim(axis);
    const std::vector<int64_t> sizes = part_sizes(context, dim);
    const size_t element_size = dtype_size(src.dtype());
    const int64_t outer = dims_product(src.shape(), 0, static_cast<size_t>(axis));
    const int64_t inner = dims_product(src.shape(), static_cast<size_t>(axis) + 1, src.shape().size());
    int64_t offset = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (context.output_requested(i)) {
        Shape shape = src.shape();
        shape[static_cast<size_t>(axis)] = sizes[i];
        Tensor& dst = context.allocate_output(i, src.dtype(), shape);
        const int64_t dst_row = sizes[i] * inner;
        copy_strided({outer, dst_row}, element_size, bytes_of(src) + offset * inner * static_cast<int64_t>(element_size),
                     {dim * inner, 1}, dst.raw_data(), {dst_row, 1}, context.threads());
      }
      offset += sizes[i];
    }
  }

 private:
  std::vector<int64_t> part_sizes(const KernelContext& context, int64_t dim) const {
    std::vector<int64_t> sizes;
    const int64_t parts = static_cast<int64_t>(output_count_);
    if (split_attribute_) {
      sizes = *split_attribute_;
    } else if ((opset_ < 2 || opset_ >= 13) && context.optional_input(1) != nullptr) {
      sizes = context.input(1).to_int64_vector();
    } else if (num_outputs_) {
      const int64_t part = (dim + parts - 1) / parts;
      for (int64_t i = 0; i < parts; ++i) sizes.push_back(std::clamp<int64_t>(dim - i * part, 0, part));
    } else {
      check(dim % parts == 0, "axis of size ", dim, " cannot be split into ", parts, " equal parts");
      sizes.assign(output_count_, dim / parts);
    }
    check(sizes.size() == output_count_, "split has ", sizes.size(), " sizes for ", output_count_, " outputs");
    int64_t total = 0;
    for (int64_t size : sizes) {
      check(size >= 0, "split: negative size ", size);
      total += size;
    }
    check(total == dim, "split sizes add up to ", total, ", the axis has ", dim);
    return sizes;
  }

  int64_t opset_;
  int64_t axis_;
  size_t output_count_;
  std::optional<std::vector<int64_t>> split_attribute_;
  std::optional<int64_t> num_outputs_;
};

// Slice: starts/ends/axes are attributes before opset 10; since then inputs, with steps. Bounds
// are clamped as numpy does; a negative step walks backwards.
class SliceKernel : public Kernel {
 public:
  explicit SliceKernel(const KernelCreateInfo& info) {
    if (info.opset < 10) {
      starts_attribute_ = info.node.attr_ints("starts");
      ends_attribute_ = info.node.attr_ints("ends");
      if (info.node.has_attribute("axes")) axes_attribute_ = info.node.attr_ints("axes");
    }
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check_copyable(src);
    const std::vector<int64_t> starts = starts_attribute_ ? *starts_attribute_ : context.input(1).to_int64_vector();
    const std::vector<int64_t> ends = ends_attribute_ ? *ends_attribute_ : context.input(2).to_int64_vector();
    std::vector<int64_t> axes;
    if (axes_attribute_) {
      axes = *axes_attribute_;
    } else if (!starts_attribute_ && context.optional_input(3) != nullptr) {
      axes = context.input(3).to_int64_vector();
    } else {
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    }
    std::vector<int64_t> steps(starts.size(), 1);
    if (!starts_attribute_ && context.optional_input(4) != nullptr) steps = context.input(4).to_int64_vector();
    check(ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(), "starts (",
          starts.size(), "), ends (", ends.size(), "), axes (", axes.size(), ") and steps (", steps.size(),
          ") must have the same length");

    const std::vector<int64_t> src_strides = strides_of(src.shape());
    Shape shape = src.shape();
    std::vector<int64_t> strides = src_strides;
    std::vector<bool> seen(shape.size(), false);
    int64_t offset = 0;
    for (size_t i = 0; i < axes.size(); ++i) {
      const size_t axis = static_cast<size_t>(normalize_axis(axes[i], src.rank(), "axes"));
      check(!seen[axis], "axes: axis ", axes[i], " is repeated");
      seen[axis] = true;
      check(steps[i] != 0, "steps: step 0 on axis ", axes[i]);
      const auto [start, count] = clamp_range(starts[i], ends[i], steps[i], shape[axis]);
      shape[axis] = count;
      strides[axis] = src_strides[axis] * steps[i];
      offset += start * src_strides[axis];
    }
    Tensor& dst = context.allocate_output(0, src.dtype(), shape);
    if (dst.element_count() == 0) return;
    copy_strided(shape, dtype_size(src.dtype()), bytes_of(src) + offset * static_cast<int64_t>(dtype_size(src.dtype())),
                 strides, dst.raw_data(), strides_of(shape), context.threads());
  }

 private:
  // The first index and the element count of start:end:step over an axis of size `dim`.
  static std::pair<int64_t, int64_t> clamp_range(int64_t start, int64_t end, int64_t step, int64_t dim) {
    if (dim == 0) return {0, 0};
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      return {start, end > start ? (end - start + step - 1) / step : 0};
    }
    // Walking backwards, start is the last valid index at most and end can be -1 (before index 0).
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    return {start, start > end ? (start - end - step - 1) / -step : 0};
  }

  std::optional<std::vector<int64_t>> starts_attribute_;
  std::optional<std::vector<int64_t>> ends_attribute_;
  std::optional<std::vector<int64_t>> axes_attribute_;
};

// Pad: 'pads' [begin_0, begin_1, ..., end_0, end_1, ...] (negative values crop) and the constant
// value are attributes before opset 11, inputs since; opset 18 adds 'axes'. Modes: constant,
// reflect (mirror without repeating the edge), edge (repeat the edge), wrap (opset 19, periodic).
class PadKernel : public Kernel {
 public:
  explicit PadKernel(const KernelCreateInfo& info) : opset_(info.opset), mode_(info.node.attr_string("mode", "constant")) {
    check(mode_ == "constant" || mode_ == "reflect" || mode_ == "edge" || mode_ == "wrap", "mode '", mode_,
          "' is not one of constant, reflect, edge, wrap");
    if (info.opset < 11) {
      pads_attribute_ = info.node.attr_ints(info.opset < 2 ? "paddings" : "pads");
      value_attribute_ = info.node.attr_float("value", 0.0f);
    }
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check_copyable(src);
    const int64_t rank = src.rank();
    const std::vector<int64_t> pads = pads_attribute_ ? *pads_attribute_ : context.input(1).to_int64_vector();
    std::vector<int64_t> axes;
    if (opset_ >= 18 && context.optional_input(3) != nullptr) {
      for (int64_t axis : context.input(3).to_int64_vector()) axes.push_back(normalize_axis(axis, rank, "axes"));
    } else {
      for (int64_t axis = 0; axis < rank; ++axis) axes.push_back(axis);
    }
    check(pads.size() == 2 * axes.size(), "pads has ", pads.size(), " values for ", axes.size(), " axes");
    std::vector<int64_t> begin(static_cast<size_t>(rank), 0), end(static_cast<size_t>(rank), 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      begin[static_cast<size_t>(axes[i])] = pads[i];
      end[static_cast<size_t>(axes[i])] = pads[i + axes.size()];
    }
    Shape shape(static_cast<size_t>(rank));
    for (size_t axis = 0; axis < shape.size(); ++axis) {
      shape[axis] = src.shape()[axis] + begin[axis] + end[axis];
      check(shape[axis] >= 0, "pads crop axis ", axis, " of size ", src.shape()[axis], " below zero");
    }
    Tensor& dst = context.allocate_output(0, src.dtype(), shape);
    if (dst.element_count() == 0) return;
    if (mode_ == "constant") {
      pad_constant(src, begin, end, constant_value(context, src.dtype()), dst, context.threads());
    } else {
      pad_by_index_maps(src, begin, dst, context.threads());
    }
  }

 private:
  // The fill value as the bytes of one element of `dtype`.
  std::vector<std::byte> constant_value(const KernelContext& context, DataType dtype) const {
    std::vector<std::byte> value(dtype_size(dtype), std::byte{0});
    if (value_attribute_) {
      store_number(dtype, *value_attribute_, value.data());
    } else if (const Tensor* value_input = context.optional_input(2); value_input && value_input->element_count() > 0) {
      check(value_input->dtype() == dtype, "constant_value has type ", dtype_name(value_input->dtype()),
            ", data has ", dtype_name(dtype));
      std::memcpy(value.data(), value_input->raw_data(), value.size());
    }
    return value;
  }

  // Fills the whole output, then copies the part of the input that survives cropping into place.
  static void pad_constant(const Tensor& src, const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                           const std::vector<std::byte>& value, Tensor& dst, ThreadPool& threads) {
    const bool value_is_zero = std::all_of(value.begin(), value.end(), [](std::byte b) { return b == std::byte{0}; });
    if (!value_is_zero) fill_with_element(dst, value.data());  // a new tensor is already zero
    const std::vector<int64_t> src_strides = strides_of(src.shape());
    const std::vector<int64_t> dst_strides = strides_of(dst.shape());
    const int64_t element_size = static_cast<int64_t>(dtype_size(src.dtype()));
    Shape kept(src.shape().size());
    int64_t src_offset = 0, dst_offset = 0;
    for (size_t axis = 0; axis < kept.size(); ++axis) {
      kept[axis] = std::max<int64_t>(0, src.shape()[axis] + std::min<int64_t>(begin[axis], 0) + std::min<int64_t>(end[axis], 0));
      src_offset += std::max<int64_t>(-begin[axis], 0) * src_strides[axis];
      dst_offset += std::max<int64_t>(begin[axis], 0) * dst_strides[axis];
    }
    copy_strided(kept, dtype_size(src.dtype()), bytes_of(src) + src_offset * element_size, src_strides,
                 bytes_of(dst) + dst_offset * element_size, dst_strides, threads);
  }

  // Source index along one axis for output index `index` (which is `index - begin` in input terms).
  int64_t source_index(int64_t index, int64_t begin, int64_t dim) const {
    const int64_t position = index - begin;
    if (position >= 0 && position < dim) return position;
    if (mode_ == "edge") return std::clamp<int64_t>(position, 0, dim - 1);
    if (mode_ == "wrap") return ((position % dim) + dim) % dim;
    // reflect: the pattern 0 1 .. dim-1 .. 1 repeats with period 2 (dim - 1).
    if (dim == 1) return 0;
    const int64_t period = 2 * (dim - 1);
    const int64_t phase = ((position % period) + period) % period;
    return phase < dim ? phase : period - phase;
  }

  // Non-constant modes: every output index maps to one input index per axis.
  void pad_by_index_maps(const Tensor& src, const std::vector<int64_t>& begin, Tensor& dst, ThreadPool& threads) const {
    const Shape& src_shape = src.shape();
    const Shape& dst_shape = dst.shape();
    const size_t rank = src_shape.size();
    if (rank == 0) {
      std::memcpy(dst.raw_data(), src.raw_data(), dst.byte_size());
      return;
    }
    // Offsets (in elements) into the input of each output index, per axis.
    const std::vector<int64_t> src_strides = strides_of(src_shape);
    std::vector<std::vector<int64_t>> offsets(rank);
    for (size_t axis = 0; axis < rank; ++axis) {
      check(src_shape[axis] > 0, "cannot ", mode_, "-pad axis ", axis, " of size 0");
      for (int64_t index = 0; index < dst_shape[axis]; ++index)
        offsets[axis].push_back(source_index(index, begin[axis], src_shape[axis]) * src_strides[axis]);
    }
    const int64_t row_length = dst_shape[rank - 1];
    const int64_t row_count = dst.element_count() / row_length;
    dispatch_any(src.dtype(), "Pad", [&]<typename T>() {
      const T* src_data = static_cast<const T*>(src.raw_data());
      T* dst_data = static_cast<T*>(dst.raw_data());
      const std::vector<int64_t>& inner_offsets = offsets[rank - 1];
      threads.parallel_for(row_count, [&](int64_t row_begin, int64_t row_end) {
        for (int64_t row = row_begin; row < row_end; ++row) {
          int64_t src_row = 0;
          for (int64_t axis = static_cast<int64_t>(rank) - 2, rest = row; axis >= 0; --axis) {
            src_row += offsets[static_cast<size_t>(axis)][static_cast<size_t>(rest % dst_shape[static_cast<size_t>(axis)])];
            rest /= dst_shape[static_cast<size_t>(axis)];
          }
          T* dst_row = dst_data + row * row_length;
          for (int64_t i = 0; i < row_length; ++i) dst_row[i] = src_data[src_row + inner_offsets[static_cast<size_t>(i)]];
        }
      });
    });
  }

  int64_t opset_;
  std::string mode_;
  std::optional<std::vector<int64_t>> pads_attribute_;
  std::optional<float> value_attribute_;
};

// Transpose: output axis i is input axis perm[i]; no perm reverses the axes.
class TransposeKernel : public Kernel {
 public:
  explicit TransposeKernel(const KernelCreateInfo& info) {
    if (info.node.has_attribute("perm")) perm_ = info.node.attr_ints("perm");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check_copyable(src);
    const int64_t rank = src.rank();
    std::vector<int64_t> perm(static_cast<size_t>(rank));
    if (perm_) {
      perm = *perm_;
      check(static_cast<int64_t>(perm.size()) == rank, "perm has ", perm.size(), " entries for rank ", rank);
      std::vector<bool> used(perm.size(), false);
      for (int64_t& axis : perm) {
        axis = normalize_axis(axis, rank, "perm");
        check(!used[static_cast<size_t>(axis)], "perm: axis ", axis, " is repeated");
        used[static_cast<size_t>(axis)] = true;
      }
    } else {
      for (int64_t axis = 0; axis < rank; ++axis) perm[static_cast<size_t>(axis)] = rank - 1 - axis;
    }
    Shape shape(perm.size());
    for (size_t axis = 0; axis < perm.size(); ++axis) shape[axis] = src.dim(perm[axis]);
    Tensor& dst = context.allocate_output(0, src.dtype(), shape);
    copy_permuted(src, src.shape(), perm, dst, context.threads());
  }

 private:
  std::optional<std::vector<int64_t>> perm_;
};

// Expand: numpy broadcast of the input with the requested shape (either side may hold the 1s).
class ExpandKernel : public Kernel {
 public:
  explicit ExpandKernel(const KernelCreateInfo&) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check_copyable(src);
    const Shape shape = broadcast_shapes(src.shape(), context.input(1).to_int64_vector());
    Tensor& dst = context.allocate_output(0, src.dtype(), shape);
    copy_strided(shape, dtype_size(src.dtype()), src.raw_data(), broadcast_strides(src.shape(), shape), dst.raw_data(),
                 strides_of(shape), context.threads());
  }
};

// Tile: output axis d has repeats[d] copies of input axis d. Viewing output axis d as the pair
// (repeat, index) makes it one strided copy whose source stride along each repeat axis is 0.
class TileKernel : public Kernel {
 public:
  explicit TileKernel(const KernelCreateInfo& info) {
    if (info.opset < 6) throw UnsupportedError("Tile before opset 6 (tiles and axis inputs) is not supported");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check_copyable(src);
    const std::vector<int64_t> repeats = context.input(1).to_int64_vector();
    check(static_cast<int64_t>(repeats.size()) == src.rank(), "repeats has ", repeats.size(), " values for rank ",
          src.rank());
    const std::vector<int64_t> src_strides = strides_of(src.shape());
    Shape shape, pair_shape;
    std::vector<int64_t> pair_src_strides;
    for (size_t axis = 0; axis < repeats.size(); ++axis) {
      check(repeats[axis] >= 0, "repeats: negative value ", repeats[axis]);
      shape.push_back(src.shape()[axis] * repeats[axis]);
      pair_shape.insert(pair_shape.end(), {repeats[axis], src.shape()[axis]});
      pair_src_strides.insert(pair_src_strides.end(), {0, src_strides[axis]});
    }
    Tensor& dst = context.allocate_output(0, src.dtype(), shape);
    copy_strided(pair_shape, dtype_size(src.dtype()), src.raw_data(), pair_src_strides, dst.raw_data(),
                 strides_of(pair_shape), context.threads());
  }
};

int64_t positive_blocksize(const KernelCreateInfo& info) {
  const int64_t blocksize = info.node.attr_int("blocksize");
  check(blocksize > 0, "blocksize must be positive, got ", blocksize);
  return blocksize;
}

// DepthToSpace: [N, C, H, W] -> [N, C / b^2, H b, W b]. DCR reads the channel as (block row, block
// column, channel); CRD (opset 11) as (channel, block row, block column).
class DepthToSpaceKernel : public Kernel {
 public:
  explicit DepthToSpaceKernel(const KernelCreateInfo& info)
      : blocksize_(positive_blocksize(info)), column_row_depth_(info.node.attr_string("mode", "DCR") == "CRD") {
    const std::string mode = info.node.attr_string("mode", "DCR");
    check(mode == "DCR" || mode == "CRD", "mode '", mode, "' is not DCR or CRD");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check_copyable(src);
    check(src.rank() == 4, "input must be 4-D, got ", shape_to_string(src.shape()));
    const int64_t b = blocksize_;
    const int64_t n = src.dim(0), c = src.dim(1), h = src.dim(2), w = src.dim(3);
    check(c % (b * b) == 0, "channels ", c, " are not a multiple of blocksize^2 = ", b * b);
    const int64_t depth = c / (b * b);
    Tensor& dst = context.allocate_output(0, src.dtype(), {n, depth, h * b, w * b});
    if (column_row_depth_) {
      copy_permuted(src, {n, depth, b, b, h, w}, {0, 1, 4, 2, 5, 3}, dst, context.threads());
    } else {
      copy_permuted(src, {n, b, b, depth, h, w}, {0, 3, 4, 1, 5, 2}, dst, context.threads());
    }
  }

 private:
  int64_t blocksize_;
  bool column_row_depth_;
};

// SpaceToDepth: [N, C, H, W] -> [N, C b^2, H / b, W / b], channel = (block row, block column, channel).
class SpaceToDepthKernel : public Kernel {
 public:
  explicit SpaceToDepthKernel(const KernelCreateInfo& info) : blocksize_(positive_blocksize(info)) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check_copyable(src);
    check(src.rank() == 4, "input must be 4-D, got ", shape_to_string(src.shape()));
    const int64_t b = blocksize_;
    const int64_t n = src.dim(0), c = src.dim(1), h = src.dim(2), w = src.dim(3);
    check(h % b == 0 && w % b == 0, "height ", h, " and width ", w, " must be multiples of blocksize ", b);
    Tensor& dst = context.allocate_output(0, src.dtype(), {n, c * b * b, h / b, w / b});
    copy_permuted(src, {n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4}, dst, context.threads());
  }

 private:
  int64_t blocksize_;
};

// ReverseSequence: for each batch entry b, reverses the first sequence_lens[b] steps along the time axis.
class ReverseSequenceKernel : public Kernel {
 public:
  explicit ReverseSequenceKernel(const KernelCreateInfo& info)
      : batch_axis_(info.node.attr_int("batch_axis", 1)), time_axis_(info.node.attr_int("time_axis", 0)) {
    check((batch_axis_ == 0 && time_axis_ == 1) || (batch_axis_ == 1 && time_axis_ == 0), "batch_axis ", batch_axis_,
          " and time_axis ", time_axis_, " must be 0 and 1 in some order");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check_copyable(src);
    check(src.rank() >= 2, "input must have rank >= 2, got ", shape_to_string(src.shape()));
    const std::vector<int64_t> lengths = context.input(1).to_int64_vector();
    const int64_t batch = src.dim(batch_axis_), time = src.dim(time_axis_);
    check(static_cast<int64_t>(lengths.size()) == batch, "sequence_lens has ", lengths.size(), " values for batch ",
          batch);
    Tensor& dst = context.allocate_output(0, src.dtype(), src.shape());
    const std::vector<int64_t> strides = strides_of(src.shape());
    const size_t block_bytes = static_cast<size_t>(strides[1]) * dtype_size(src.dtype());
    const size_t batch_step = static_cast<size_t>(strides[static_cast<size_t>(batch_axis_)]) * dtype_size(src.dtype());
    const size_t time_step = static_cast<size_t>(strides[static_cast<size_t>(time_axis_)]) * dtype_size(src.dtype());
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t length = lengths[static_cast<size_t>(b)];
      check(length >= 0 && length <= time, "sequence_lens[", b, "] = ", length, " is outside [0, ", time, "]");
      for (int64_t t = 0; t < time; ++t) {
        const int64_t source_t = t < length ? length - 1 - t : t;
        std::memcpy(bytes_of(dst) + b * batch_step + t * time_step, bytes_of(src) + b * batch_step + source_t * time_step,
                    block_bytes);
      }
    }
  }

 private:
  int64_t batch_axis_;
  int64_t time_axis_;
};

}  // namespace

void register_tensor_movement_kernels(KernelRegistry& registry) {
  register_reference<ConcatKernel>(registry, "Concat");
  register_reference<SplitKernel>(registry, "Split");
  register_reference<SliceKernel>(registry, "Slice");
  register_reference<PadKernel>(registry, "Pad");
  register_reference<TransposeKernel>(registry, "Transpose");
  register_reference<ExpandKernel>(registry, "Expand");
  register_reference<TileKernel>(registry, "Tile");
  register_reference<DepthToSpaceKernel>(registry, "DepthToSpace");
  register_reference<SpaceToDepthKernel>(registry, "SpaceToDepth");
  register_reference<ReverseSequenceKernel>(registry, "ReverseSequence");
}

}  // namespace octet
