#include "octet/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/float16.h"

namespace octet {

size_t dtype_size(DataType dtype) {
  switch (dtype) {
    case DataType::kFloat: return 4;
    case DataType::kUint8: return 1;
    case DataType::kInt8: return 1;
    case DataType::kUint16: return 2;
    case DataType::kInt16: return 2;
    case DataType::kInt32: return 4;
    case DataType::kInt64: return 8;
    case DataType::kBool: return 1;
    case DataType::kFloat16: return 2;
    case DataType::kDouble: return 8;
    case DataType::kUint32: return 4;
    case DataType::kUint64: return 8;
    case DataType::kBfloat16: return 2;
    case DataType::kString:
    case DataType::kUndefined: return 0;
  }
  return 0;
}

std::string dtype_name(DataType dtype) {
  switch (dtype) {
    case DataType::kFloat: return "float";
    case DataType::kUint8: return "uint8";
    case DataType::kInt8: return "int8";
    case DataType::kUint16: return "uint16";
    case DataType::kInt16: return "int16";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kString: return "string";
    case DataType::kBool: return "bool";
    case DataType::kFloat16: return "float16";
    case DataType::kDouble: return "double";
    case DataType::kUint32: return "uint32";
    case DataType::kUint64: return "uint64";
    case DataType::kBfloat16: return "bfloat16";
    case DataType::kUndefined: return "undefined";
  }
  return concat("dtype(", static_cast<int>(dtype), ")");
}

int64_t element_count(const Shape& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    check(dim >= 0, "negative dimension in shape ", shape_to_string(shape));
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim)
      throw Error(concat("shape ", shape_to_string(shape), " has too many elements"));
    count *= dim;
  }
  return count;
}

std::string shape_to_string(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text += "x";
    text += std::to_string(shape[i]);
  }
  return text;
}

void Tensor::AlignedFree::operator()(std::byte* pointer) const { std::free(pointer); }

Tensor::Tensor(DataType dtype, Shape shape) : Tensor(dtype, std::move(shape), true) {}

Tensor Tensor::uninitialized(DataType dtype, Shape shape) { return Tensor(dtype, std::move(shape), false); }

Tensor::Tensor(DataType dtype, Shape shape, bool zero_fill) : dtype_(dtype), shape_(std::move(shape)) {
  check(dtype_size(dtype) > 0, "tensors of type ", dtype_name(dtype), " are not supported");
  element_count_ = octet::element_count(shape_);
  const int64_t element_size = static_cast<int64_t>(dtype_size(dtype));
  check(element_count_ <= kMaxTensorBytes / element_size, "tensor of shape ", shape_to_string(shape_),
        " and type ", dtype_name(dtype), " exceeds the ", kMaxTensorBytes >> 30, " GiB limit");
  constexpr size_t kAlignment = 64;
  size_t bytes = static_cast<size_t>(element_count_) * static_cast<size_t>(element_size);
  size_t padded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (padded == 0) padded = kAlignment;
  auto* memory = static_cast<std::byte*>(std::aligned_alloc(kAlignment, padded));
  if (!memory) throw Error(concat("out of memory allocating ", bytes, " bytes"));
  if (zero_fill) std::memset(memory, 0, padded);
  buffer_.reset(memory);
}

void Tensor::check_type(DataType requested) const {
  if (requested != dtype_)
    throw Error(concat("tensor holds ", dtype_name(dtype_), ", accessed as ", dtype_name(requested)));
}

void Tensor::reshape(Shape shape) {
  check(layout_ == Layout::kPlain, "cannot reshape a channels-last tensor");
  check(octet::element_count(shape) == element_count_, "cannot reshape ", shape_to_string(shape_), " to ",
        shape_to_string(shape));
  shape_ = std::move(shape);
}

Tensor Tensor::clone() const {
  if (empty()) return Tensor();
  Tensor copy(dtype_, shape_);
  copy.layout_ = layout_;
  std::memcpy(copy.raw_data(), raw_data(), byte_size());
  return copy;
}

double Tensor::value_as_double(int64_t index) const {
  check(index >= 0 && index < element_count_, "element index ", index, " out of range");
  const std::byte* base = buffer_.get();
  switch (dtype_) {
    case DataType::kFloat: return reinterpret_cast<const float*>(base)[index];
    case DataType::kDouble: return reinterpret_cast<const double*>(base)[index];
    case DataType::kFloat16: return half_to_float(reinterpret_cast<const Float16*>(base)[index]);
    case DataType::kBfloat16: return bfloat16_to_float(reinterpret_cast<const Bfloat16*>(base)[index]);
    case DataType::kUint8: return reinterpret_cast<const uint8_t*>(base)[index];
    case DataType::kInt8: return reinterpret_cast<const int8_t*>(base)[index];
    case DataType::kUint16: return reinterpret_cast<const uint16_t*>(base)[index];
    case DataType::kInt16: return reinterpret_cast<const int16_t*>(base)[index];
    case DataType::kUint32: return reinterpret_cast<const uint32_t*>(base)[index];
    case DataType::kInt32: return reinterpret_cast<const int32_t*>(base)[index];
    case DataType::kUint64: return static_cast<double>(reinterpret_cast<const uint64_t*>(base)[index]);
    case DataType::kInt64: return static_cast<double>(reinterpret_cast<const int64_t*>(base)[index]);
    case DataType::kBool: return reinterpret_cast<const bool*>(base)[index] ? 1.0 : 0.0;
    default: throw Error(concat("cannot read ", dtype_name(dtype_), " as a number"));
  }
}

int64_t Tensor::value_as_int64(int64_t index) const {
  check(index >= 0 && index < element_count_, "element index ", index, " out of range");
  const std::byte* base = buffer_.get();
  switch (dtype_) {
    case DataType::kInt64: return reinterpret_cast<const int64_t*>(base)[index];
    case DataType::kInt32: return reinterpret_cast<const int32_t*>(base)[index];
    case DataType::kUint64: return static_cast<int64_t>(reinterpret_cast<const uint64_t*>(base)[index]);
    case DataType::kUint32: return reinterpret_cast<const uint32_t*>(base)[index];
    case DataType::kInt16: return reinterpret_cast<const int16_t*>(base)[index];
    case DataType::kUint16: return reinterpret_cast<const uint16_t*>(base)[index];
    case DataType::kInt8: return reinterpret_cast<const int8_t*>(base)[index];
    case DataType::kUint8: return reinterpret_cast<const uint8_t*>(base)[index];
    case DataType::kBool: return reinterpret_cast<const bool*>(base)[index] ? 1 : 0;
    default: return static_cast<int64_t>(value_as_double(index));
  }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> values(static_cast<size_t>(element_count_));
  for (int64_t i = 0; i < element_count_; ++i) values[static_cast<size_t>(i)] = value_as_int64(i);
  return values;
}

}  // namespace octet
