// Tensors: a data type, a shape and a buffer of elements in C (row-major) order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "octet/status.h"

namespace octet {

// Element types. The values equal onnx::TensorProto::DataType so conversion is a cast.
enum class DataType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kBfloat16 = 16,
};

// Bytes per element; 0 for kUndefined and kString (strings are not supported as tensor data).
size_t dtype_size(DataType dtype);
// The ONNX spelling: "float", "uint8", "int64", ...
std::string dtype_name(DataType dtype);

// Storage types for 16-bit floats; conversions live in src/core/float16.h.
struct Float16 {
  uint16_t bits;
};
struct Bfloat16 {
  uint16_t bits;
};

template <typename T>
constexpr DataType dtype_of();
template <> constexpr DataType dtype_of<float>() { return DataType::kFloat; }
template <> constexpr DataType dtype_of<double>() { return DataType::kDouble; }
template <> constexpr DataType dtype_of<uint8_t>() { return DataType::kUint8; }
template <> constexpr DataType dtype_of<int8_t>() { return DataType::kInt8; }
template <> constexpr DataType dtype_of<uint16_t>() { return DataType::kUint16; }
template <> constexpr DataType dtype_of<int16_t>() { return DataType::kInt16; }
template <> constexpr DataType dtype_of<uint32_t>() { return DataType::kUint32; }
template <> constexpr DataType dtype_of<int32_t>() { return DataType::kInt32; }
template <> constexpr DataType dtype_of<uint64_t>() { return DataType::kUint64; }
template <> constexpr DataType dtype_of<int64_t>() { return DataType::kInt64; }
template <> constexpr DataType dtype_of<bool>() { return DataType::kBool; }
template <> constexpr DataType dtype_of<Float16>() { return DataType::kFloat16; }
template <> constexpr DataType dtype_of<Bfloat16>() { return DataType::kBfloat16; }

using Shape = std::vector<int64_t>;

// Physical order of a tensor's elements. shape() is always the logical ONNX shape (N, C, spatial...);
// a channels-last tensor of logical shape [N, C, H, W] stores its elements in N, H, W, C order.
// Kernels that do not declare channels-last support only ever see kPlain tensors: the runtime
// converts at the boundary.
enum class Layout : uint8_t { kPlain, kChannelsLast };

// Number of elements of a shape (1 for a scalar). Throws Error on a negative dimension or overflow.
int64_t element_count(const Shape& shape);
// "1x3x224x224"; "scalar" for rank 0.
std::string shape_to_string(const Shape& shape);

// Largest single tensor octet will allocate. Guards against absurd dimensions in models and files.
constexpr int64_t kMaxTensorBytes = int64_t{16} << 30;

// A dense tensor that owns its buffer (64-byte aligned, zero-initialized). Move-only: copying a
// tensor is an explicit clone().
class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled tensor. Throws Error when the size exceeds kMaxTensorBytes.
  Tensor(DataType dtype, Shape shape);
  // Allocates without filling: for outputs a kernel overwrites entirely (saves a memory pass).
  static Tensor uninitialized(DataType dtype, Shape shape);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  // A tensor of the given shape holding a copy of `values` (values.size() must match the shape).
  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);
  template <typename T>
  static Tensor scalar(T value) {
    return from_vector<T>({}, std::vector<T>{value});
  }

  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t axis) const { return shape_[static_cast<size_t>(axis)]; }
  int64_t element_count() const { return element_count_; }
  size_t byte_size() const { return static_cast<size_t>(element_count_) * dtype_size(dtype_); }
  bool empty() const { return dtype_ == DataType::kUndefined; }
  Layout layout() const { return layout_; }
  // Declares how the buffer is ordered; does not move data (see runtime/layout.h for conversions).
  void set_layout(Layout layout) { layout_ = layout; }

  // Typed element access; throws Error if T does not match dtype().
  template <typename T>
  T* data() {
    check_type(dtype_of<T>());
    return reinterpret_cast<T*>(buffer_.get());
  }
  template <typename T>
  const T* data() const {
    check_type(dtype_of<T>());
    return reinterpret_cast<const T*>(buffer_.get());
  }
  void* raw_data() { return buffer_.get(); }
  const void* raw_data() const { return buffer_.get(); }

  // Same data, new shape with the same element count.
  void reshape(Shape shape);
  Tensor clone() const;
  // Reads element `index` converted to double / int64 (for attributes, shapes, tests).
  double value_as_double(int64_t index) const;
  int64_t value_as_int64(int64_t index) const;
  // All elements as int64 (for shape-like inputs: Reshape shape, Slice starts...). Integer types only.
  std::vector<int64_t> to_int64_vector() const;

 private:
  struct AlignedFree {
    void operator()(std::byte* pointer) const;
  };
  void check_type(DataType requested) const;
  Tensor(DataType dtype, Shape shape, bool zero_fill);

  DataType dtype_ = DataType::kUndefined;
  Layout layout_ = Layout::kPlain;
  Shape shape_;
  int64_t element_count_ = 0;
  std::unique_ptr<std::byte[], AlignedFree> buffer_;
};

template <typename T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor tensor(dtype_of<T>(), std::move(shape));
  check(static_cast<int64_t>(values.size()) == tensor.element_count(), "from_vector: ", values.size(),
        " values for shape ", shape_to_string(tensor.shape()));
  T* destination = tensor.data<T>();
  for (size_t i = 0; i < values.size(); ++i) destination[i] = values[i];
  return tensor;
}

}  // namespace octet
