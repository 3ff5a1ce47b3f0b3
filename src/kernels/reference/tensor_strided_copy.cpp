// copy_strided, the one data-movement loop behind most tensor kernels, and small element helpers.
#include <algorithm>
#include <cstring>

#include "core/float16.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/tensor_kernels.h"

namespace octet {
namespace {

// Side of the square tiles of a transposing copy: 32 x 32 elements of 8 bytes are 8 KiB, so a
// source tile and a destination tile sit in L1 together.
constexpr int64_t kTileSize = 32;

// An index space with two strided layouts over it, after dropping unit axes and merging axes that
// are contiguous with their inner neighbour in both layouts.
struct CopyPlan {
  Shape shape;
  std::vector<int64_t> src_strides;
  std::vector<int64_t> dst_strides;
};

CopyPlan simplify(const Shape& shape, const std::vector<int64_t>& src_strides, const std::vector<int64_t>& dst_strides) {
  CopyPlan plan;
  for (size_t axis = 0; axis < shape.size(); ++axis) {
    if (shape[axis] == 1) continue;
    if (!plan.shape.empty() && plan.src_strides.back() == src_strides[axis] * shape[axis] &&
        plan.dst_strides.back() == dst_strides[axis] * shape[axis]) {
      plan.shape.back() *= shape[axis];
      plan.src_strides.back() = src_strides[axis];
      plan.dst_strides.back() = dst_strides[axis];
      continue;
    }
    plan.shape.push_back(shape[axis]);
    plan.src_strides.push_back(src_strides[axis]);
    plan.dst_strides.push_back(dst_strides[axis]);
  }
  return plan;
}

// A row-major walk over the multi-indices of `shape`, tracking the offsets they map to in a source
// and a destination layout. Starts at any linear index so that each parallel chunk can begin mid-way.
class OffsetWalker {
 public:
  OffsetWalker(Shape shape, std::vector<int64_t> src_strides, std::vector<int64_t> dst_strides, int64_t linear_index)
      : shape_(std::move(shape)),
        src_strides_(std::move(src_strides)),
        dst_strides_(std::move(dst_strides)),
        index_(shape_.size(), 0) {
    for (size_t axis = shape_.size(); axis-- > 0;) {
      index_[axis] = linear_index % shape_[axis];
      linear_index /= shape_[axis];
      src_offset_ += index_[axis] * src_strides_[axis];
      dst_offset_ += index_[axis] * dst_strides_[axis];
    }
  }

  int64_t src_offset() const { return src_offset_; }
  int64_t dst_offset() const { return dst_offset_; }

  void advance() {
    for (size_t axis = shape_.size(); axis-- > 0;) {
      src_offset_ += src_strides_[axis];
      dst_offset_ += dst_strides_[axis];
      if (++index_[axis] < shape_[axis]) return;
      src_offset_ -= src_strides_[axis] * shape_[axis];
      dst_offset_ -= dst_strides_[axis] * shape_[axis];
      index_[axis] = 0;
    }
  }

 private:
  Shape shape_;
  std::vector<int64_t> src_strides_;
  std::vector<int64_t> dst_strides_;
  std::vector<int64_t> index_;
  int64_t src_offset_ = 0;
  int64_t dst_offset_ = 0;
};

template <typename T>
void copy_row(const T* src, int64_t src_stride, T* dst, int64_t dst_stride, int64_t count) {
  if (src_stride == 1 && dst_stride == 1) {
    std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(T));
  } else if (dst_stride == 1) {
    for (int64_t i = 0; i < count; ++i) dst[i] = src[i * src_stride];
  } else {
    for (int64_t i = 0; i < count; ++i) dst[i * dst_stride] = src[i * src_stride];
  }
}

// Every axis but the innermost is walked; each step copies one row of the innermost axis.
template <typename T>
void copy_rows(const CopyPlan& plan, const T* src, T* dst, ThreadPool& threads) {
  const size_t inner = plan.shape.size() - 1;
  const int64_t row_length = plan.shape[inner];
  const Shape outer_shape(plan.shape.begin(), plan.shape.begin() + inner);
  const std::vector<int64_t> outer_src_strides(plan.src_strides.begin(), plan.src_strides.begin() + inner);
  const std::vector<int64_t> outer_dst_strides(plan.dst_strides.begin(), plan.dst_strides.begin() + inner);
  const int64_t row_count = element_count(outer_shape);
  const int64_t row_bytes = row_length * static_cast<int64_t>(sizeof(T));
  threads.parallel_for(
      row_count,
      [&](int64_t begin, int64_t end) {
        OffsetWalker walker(outer_shape, outer_src_strides, outer_dst_strides, begin);
        for (int64_t row = begin; row < end; ++row, walker.advance())
          copy_row(src + walker.src_offset(), plan.src_strides[inner], dst + walker.dst_offset(),
                   plan.dst_strides[inner], row_length);
      },
      std::max<int64_t>(1, kMinBytesPerTask / std::max<int64_t>(1, row_bytes)));
}

// The destination's unit-stride axis (`inner`, the last) is not the source's (`unit_axis`): reading
// or writing element by element along either one would touch a new cache line per element. Copying
// square tiles of the (unit_axis, inner) plane keeps both sides' lines in cache. Work is split into
// bands of kTileSize along unit_axis, for every index of the remaining (outer) axes.
template <typename T>
void copy_tiles(const CopyPlan& plan, size_t unit_axis, const T* src, T* dst, ThreadPool& threads) {
  const size_t inner = plan.shape.size() - 1;
  Shape outer_shape;
  std::vector<int64_t> outer_src_strides, outer_dst_strides;
  for (size_t axis = 0; axis < inner; ++axis) {
    if (axis == unit_axis) continue;
    outer_shape.push_back(plan.shape[axis]);
    outer_src_strides.push_back(plan.src_strides[axis]);
    outer_dst_strides.push_back(plan.dst_strides[axis]);
  }
  const int64_t columns = plan.shape[inner];  // along the destination's unit-stride axis
  const int64_t rows = plan.shape[unit_axis];  // along the source's unit-stride axis
  const int64_t src_column_stride = plan.src_strides[inner];
  const int64_t dst_row_stride = plan.dst_strides[unit_axis];
  const int64_t bands_per_outer = (rows + kTileSize - 1) / kTileSize;
  const int64_t band_bytes = kTileSize * columns * static_cast<int64_t>(sizeof(T));
  threads.parallel_for(
      element_count(outer_shape) * bands_per_outer,
      [&](int64_t begin, int64_t end) {
        OffsetWalker outer(outer_shape, outer_src_strides, outer_dst_strides, begin / bands_per_outer);
        for (int64_t item = begin; item < end; ++item) {
          const int64_t band = item % bands_per_outer;
          if (band == 0 && item != begin) outer.advance();
          const int64_t row_begin = band * kTileSize;
          const int64_t row_end = std::min(rows, row_begin + kTileSize);
          const T* src_band = src + outer.src_offset();
          T* dst_band = dst + outer.dst_offset();
          for (int64_t column_begin = 0; column_begin < columns; column_begin += kTileSize) {
            const int64_t column_end = std::min(columns, column_begin + kTileSize);
            for (int64_t row = row_begin; row < row_end; ++row) {
              T* dst_row = dst_band + row * dst_row_stride;
              const T* src_row = src_band + row;
              for (int64_t column = column_begin; column < column_end; ++column)
                dst_row[column] = src_row[column * src_column_stride];
            }
          }
        }
      },
      std::max<int64_t>(1, kMinBytesPerTask / std::max<int64_t>(1, band_bytes)));
}

template <typename T>
void copy_plan(const CopyPlan& plan, const void* src_memory, void* dst_memory, ThreadPool& threads) {
  const T* src = static_cast<const T*>(src_memory);
  T* dst = static_cast<T*>(dst_memory);
  if (plan.shape.empty()) {
    *dst = *src;
    return;
  }
  const size_t inner = plan.shape.size() - 1;
  if (plan.dst_strides[inner] == 1 && plan.src_strides[inner] != 1) {
    for (size_t axis = 0; axis < inner; ++axis) {
      if (plan.src_strides[axis] == 1) {
        copy_tiles(plan, axis, src, dst, threads);
        return;
      }
    }
  }
  copy_rows(plan, src, dst, threads);
}

}  // namespace

void copy_strided(const Shape& shape, size_t element_size, const void* src, const std::vector<int64_t>& src_strides,
                  void* dst, const std::vector<int64_t>& dst_strides, ThreadPool& threads) {
  check(src_strides.size() == shape.size() && dst_strides.size() == shape.size(), "copy_strided: ",
        src_strides.size(), " and ", dst_strides.size(), " strides for rank ", shape.size());
  for (int64_t dim : shape)
    if (dim == 0) return;
  const CopyPlan plan = simplify(shape, src_strides, dst_strides);
  switch (element_size) {
    case 1: copy_plan<uint8_t>(plan, src, dst, threads); return;
    case 2: copy_plan<uint16_t>(plan, src, dst, threads); return;
    case 4: copy_plan<uint32_t>(plan, src, dst, threads); return;
    case 8: copy_plan<uint64_t>(plan, src, dst, threads); return;
    default: throw UnsupportedError(concat("copy_strided: element size ", element_size, " is not supported"));
  }
}

void store_number(DataType dtype, double value, void* destination) {
  switch (dtype) {
    case DataType::kFloat16: *static_cast<Float16*>(destination) = float_to_half(static_cast<float>(value)); return;
    case DataType::kBfloat16:
      *static_cast<Bfloat16*>(destination) = float_to_bfloat16(static_cast<float>(value));
      return;
    case DataType::kBool: *static_cast<bool*>(destination) = value != 0; return;
    default:
      dispatch_numeric(dtype, "store_number", [&]<typename T>() { *static_cast<T*>(destination) = static_cast<T>(value); });
  }
}

void fill_with_element(Tensor& tensor, const void* value) {
  dispatch_any(tensor.dtype(), "fill", [&]<typename T>() {
    T element;
    std::memcpy(&element, value, sizeof(T));
    T* data = static_cast<T*>(tensor.raw_data());
    std::fill(data, data + tensor.element_count(), element);
  });
}

}  // namespace octet
