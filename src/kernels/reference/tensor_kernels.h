// Shared pieces of the shape and data-movement kernels (tensor*.cpp). Private to the reference
// kernels: register_tensor_kernels() in tensor.cpp calls the group registration functions below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/kernel_registry.h"
#include "octet/tensor.h"

namespace octet {

void register_tensor_movement_kernels(KernelRegistry& registry);  // tensor_movement.cpp: Concat, Split, Slice, Pad...
void register_tensor_indexing_kernels(KernelRegistry& registry);  // tensor_indexing.cpp: Gather*, Scatter*, NonZero...
void register_tensor_creation_kernels(KernelRegistry& registry);  // tensor_creation.cpp: Constant, Range, OneHot...

// Below this many bytes per task, handing work to another thread costs more than it saves.
constexpr int64_t kMinBytesPerTask = 32 * 1024;

inline const std::byte* bytes_of(const Tensor& tensor) { return static_cast<const std::byte*>(tensor.raw_data()); }
inline std::byte* bytes_of(Tensor& tensor) { return static_cast<std::byte*>(tensor.raw_data()); }

// Product of shape[begin, end): the element count of those axes.
inline int64_t dims_product(const Shape& shape, size_t begin, size_t end) {
  int64_t result = 1;
  for (size_t axis = begin; axis < end; ++axis) result *= shape[axis];
  return result;
}

// Copies the elements of an index space `shape` from one strided layout to another: element
// (i0, i1, ...) is read at src + sum(i_d * src_strides[d]) and written at dst + sum(i_d * dst_strides[d])
// (strides in elements of `element_size` bytes; src strides may be 0 or, for reversed reads, negative).
// Transpose, Slice, Expand, Tile, Concat, Split and DepthToSpace are all one call. Axes that are
// contiguous in both layouts are merged first; rows contiguous on both sides are memcpy'd, and a
// transposing copy (the source's unit-stride axis is not the destination's) goes tile by tile so
// that both sides stay in cache.
void copy_strided(const Shape& shape, size_t element_size, const void* src, const std::vector<int64_t>& src_strides,
                  void* dst, const std::vector<int64_t>& dst_strides, ThreadPool& threads);

// Writes `value` converted to `dtype` (float, integer, bool, float16, bfloat16) at `destination`.
// Throws UnsupportedError for other types.
void store_number(DataType dtype, double value, void* destination);

// Fills every element of `tensor` with the element at `value` (element size bytes of the same type).
void fill_with_element(Tensor& tensor, const void* value);

}  // namespace octet
