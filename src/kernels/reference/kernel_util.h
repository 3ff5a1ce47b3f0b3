// Small helpers shared by the reference kernels: axes, broadcasting, strides, type dispatch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/float16.h"
#include "ir/graph.h"
#include "octet/status.h"
#include "octet/tensor.h"

namespace octet {

// Maps a possibly negative axis into [0, rank); throws Error naming `what` when out of range.
inline int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& what) {
  check(axis >= -rank && axis < rank, what, ": axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

// Row-major strides (in elements) of a shape.
inline std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[static_cast<size_t>(i)] = strides[static_cast<size_t>(i) + 1] * shape[static_cast<size_t>(i) + 1];
  return strides;
}

// Numpy-style broadcast of two shapes; throws Error when they are incompatible.
inline Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape result(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    check(da == db || da == 1 || db == 1, "shapes ", shape_to_string(a), " and ", shape_to_string(b),
          " cannot be broadcast");
    result[i] = da == 1 ? db : da;
  }
  return result;
}

// Strides to read a tensor of shape `shape` as if broadcast to `target` (0 along broadcast axes).
inline std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& target) {
  std::vector<int64_t> result(target.size(), 0);
  const std::vector<int64_t> own = strides_of(shape);
  const size_t offset = target.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) result[offset + i] = shape[i] == 1 ? 0 : own[i];
  return result;
}

// Calls `function.template operator()<T>()` with T the C++ type of `dtype` among the listed
// numeric types, or throws UnsupportedError naming `what`.
template <typename Function>
void dispatch_numeric(DataType dtype, const std::string& what, Function&& function) {
  switch (dtype) {
    case DataType::kFloat: function.template operator()<float>(); return;
    case DataType::kDouble: function.template operator()<double>(); return;
    case DataType::kInt32: function.template operator()<int32_t>(); return;
    case DataType::kInt64: function.template operator()<int64_t>(); return;
    case DataType::kInt8: function.template operator()<int8_t>(); return;
    case DataType::kUint8: function.template operator()<uint8_t>(); return;
    case DataType::kInt16: function.template operator()<int16_t>(); return;
    case DataType::kUint16: function.template operator()<uint16_t>(); return;
    case DataType::kUint32: function.template operator()<uint32_t>(); return;
    case DataType::kUint64: function.template operator()<uint64_t>(); return;
    default: throw UnsupportedError(concat(what, ": type ", dtype_name(dtype), " is not supported"));
  }
}

// Same for float and double only: ops that compute in floating point.
template <typename Function>
void dispatch_floating(DataType dtype, const std::string& what, Function&& function) {
  switch (dtype) {
    case DataType::kFloat: function.template operator()<float>(); return;
    case DataType::kDouble: function.template operator()<double>(); return;
    default: throw UnsupportedError(concat(what, ": type ", dtype_name(dtype), " is not supported"));
  }
}

// Same for types whose elements can be moved without arithmetic (every fixed-size type, incl. bool, fp16).
template <typename Function>
void dispatch_any(DataType dtype, const std::string& what, Function&& function) {
  switch (dtype_size(dtype)) {
    case 1: function.template operator()<uint8_t>(); return;
    case 2: function.template operator()<uint16_t>(); return;
    case 4: function.template operator()<uint32_t>(); return;
    case 8: function.template operator()<uint64_t>(); return;
    default: throw UnsupportedError(concat(what, ": type ", dtype_name(dtype), " is not supported"));
  }
}

}  // namespace octet
