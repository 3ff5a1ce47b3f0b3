// Ops that create tensors from attributes or small inputs: Constant, ConstantOfShape, Range,
// EyeLike, OneHot.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <type_traits>

#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"
#include "kernels/reference/tensor_kernels.h"

namespace octet {
namespace {

// Constant: the tensor of whichever value* attribute the node has.
class ConstantKernel : public Kernel {
 public:
  explicit ConstantKernel(const KernelCreateInfo& info) : value_(value_of(info.node)) {}

  void run(KernelContext& context) override { context.output(0) = value_.clone(); }

 private:
  static Tensor value_of(const Node& node) {
    if (node.has_attribute("value")) return node.attr_tensor("value").clone();
    if (node.has_attribute("value_float")) return Tensor::scalar<float>(node.attr_float("value_float"));
    if (node.has_attribute("value_floats")) {
      const std::vector<float> values = node.attr_floats("value_floats");
      return Tensor::from_vector<float>({static_cast<int64_t>(values.size())}, values);
    }
    if (node.has_attribute("value_int")) return Tensor::scalar<int64_t>(node.attr_int("value_int"));
    if (node.has_attribute("value_ints")) {
      const std::vector<int64_t> values = node.attr_ints("value_ints");
      return Tensor::from_vector<int64_t>({static_cast<int64_t>(values.size())}, values);
    }
    for (const char* name : {"sparse_value", "value_string", "value_strings"})
      if (node.has_attribute(name)) throw UnsupportedError(concat("Constant with attribute '", name, "' is not supported"));
    throw Error("Constant has none of the attributes value, value_float(s), value_int(s)");
  }

  Tensor value_;
};

// ConstantOfShape: a tensor of the given shape filled with the one-element 'value' (float 0 by default).
class ConstantOfShapeKernel : public Kernel {
 public:
  explicit ConstantOfShapeKernel(const KernelCreateInfo& info)
      : value_(info.node.has_attribute("value") ? info.node.attr_tensor("value").clone() : Tensor::scalar<float>(0.0f)) {
    check(value_.element_count() == 1, "value must hold one element, got shape ", shape_to_string(value_.shape()));
    check(dtype_size(value_.dtype()) > 0, "value: type ", dtype_name(value_.dtype()), " is not supported");
  }

  void run(KernelContext& context) override {
    const Shape shape = context.input(0).to_int64_vector();
    for (int64_t dim : shape) check(dim >= 0, "input: negative dimension in ", shape_to_string(shape));
    Tensor& dst = context.allocate_output(0, value_.dtype(), shape);
    fill_with_element(dst, value_.raw_data());
  }

 private:
  Tensor value_;
};

// Number of elements of start, start + delta, ... before reaching limit: ceil((limit - start) / delta),
// at least 0. Integers are computed exactly; floating point as ONNX Runtime does, in double.
template <typename T>
int64_t range_count(T start, T limit, T delta) {
  if constexpr (std::is_integral_v<T>) {
    const int64_t distance = static_cast<int64_t>(limit) - static_cast<int64_t>(start);
    const int64_t step = static_cast<int64_t>(delta);
    int64_t count = distance / step;
    if (distance % step != 0 && (distance > 0) == (step > 0)) ++count;
    return std::max<int64_t>(count, 0);
  } else {
    return std::max<int64_t>(static_cast<int64_t>(std::ceil((static_cast<double>(limit) - start) / delta)), 0);
  }
}

// Range: start, start + delta, ... up to (excluding) limit, all scalars of one type.
class RangeKernel : public Kernel {
 public:
  explicit RangeKernel(const KernelCreateInfo&) {}

  void run(KernelContext& context) override {
    const Tensor& start = context.input(0);
    const Tensor& limit = context.input(1);
    const Tensor& delta = context.input(2);
    check(start.dtype() == limit.dtype() && start.dtype() == delta.dtype(), "start, limit and delta have types ",
          dtype_name(start.dtype()), ", ", dtype_name(limit.dtype()), ", ", dtype_name(delta.dtype()));
    check(start.element_count() == 1 && limit.element_count() == 1 && delta.element_count() == 1,
          "start, limit and delta must be scalars");
    dispatch_numeric(start.dtype(), "Range", [&]<typename T>() {
      const T first = start.data<T>()[0];
      const T step = delta.data<T>()[0];
      check(step != T(0), "delta must not be 0");
      const int64_t count = range_count(first, limit.data<T>()[0], step);
      T* out = context.allocate_output(0, start.dtype(), {count}).template data<T>();
      for (int64_t i = 0; i < count; ++i) {
        if constexpr (std::is_integral_v<T>) {
          out[i] = static_cast<T>(first + static_cast<T>(i) * step);
        } else {
          out[i] = static_cast<T>(static_cast<double>(first) + static_cast<double>(i) * step);
        }
      }
    });
  }
};

// EyeLike: a 2-D tensor of the input's shape with ones on diagonal k and zeros elsewhere.
class EyeLikeKernel : public Kernel {
 public:
  explicit EyeLikeKernel(const KernelCreateInfo& info) : diagonal_(info.node.attr_int("k", 0)) {
    if (info.node.has_attribute("dtype")) dtype_ = static_cast<DataType>(info.node.attr_int("dtype"));
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check(src.rank() == 2, "input must be 2-D, got ", shape_to_string(src.shape()));
    const DataType dtype = dtype_.value_or(src.dtype());
    Tensor& dst = context.allocate_output(0, dtype, src.shape());
    const int64_t rows = src.dim(0), columns = src.dim(1);
    const size_t element_size = dtype_size(dtype);
    std::vector<std::byte> one(element_size);
    store_number(dtype, 1.0, one.data());
    for (int64_t row = std::max<int64_t>(0, -diagonal_); row < rows && row + diagonal_ < columns; ++row)
      std::memcpy(static_cast<std::byte*>(dst.raw_data()) + (row * columns + row + diagonal_) * element_size, one.data(),
                  element_size);
  }

 private:
  int64_t diagonal_;
  std::optional<DataType> dtype_;
};

// OneHot: inserts an axis of size depth; along it, position indices[i] holds values[1] ("on") and
// the others values[0] ("off"). Negative indices count from depth; out-of-range ones stay all off.
class OneHotKernel : public Kernel {
 public:
  explicit OneHotKernel(const KernelCreateInfo& info) : axis_(info.node.attr_int("axis", -1)) {}

  void run(KernelContext& context) override {
    const Tensor& indices = context.input(0);
    const Tensor& depth_tensor = context.input(1);
    const Tensor& values = context.input(2);
    check(depth_tensor.element_count() == 1, "depth must hold one value, got shape ", shape_to_string(depth_tensor.shape()));
    check(values.element_count() == 2, "values must hold [off, on], got shape ", shape_to_string(values.shape()));
    // Non-integer depth and indices are truncated to integers, as ONNX Runtime does.
    const int64_t depth = static_cast<int64_t>(depth_tensor.value_as_double(0));
    check(depth > 0, "depth must be positive, got ", depth);
    const int64_t rank = indices.rank() + 1;
    const int64_t axis = normalize_axis(axis_, rank, "axis");
    Shape shape = indices.shape();
    shape.insert(shape.begin() + axis, depth);
    Tensor& dst = context.allocate_output(0, values.dtype(), shape);
    int64_t inner = 1;
    for (int64_t d = axis; d < indices.rank(); ++d) inner *= indices.dim(d);
    dispatch_any(values.dtype(), "OneHot", [&]<typename T>() {
      const T off = static_cast<const T*>(values.raw_data())[0];
      const T on = static_cast<const T*>(values.raw_data())[1];
      T* out = static_cast<T*>(dst.raw_data());
      std::fill(out, out + dst.element_count(), off);
      for (int64_t position = 0; position < indices.element_count(); ++position) {
        int64_t index = static_cast<int64_t>(indices.value_as_double(position));
        if (index < 0) index += depth;
        if (index < 0 || index >= depth) continue;
        const int64_t o = position / inner, i = position % inner;
        out[(o * depth + index) * inner + i] = on;
      }
    });
  }

 private:
  int64_t axis_;
};

}  // namespace

void register_tensor_creation_kernels(KernelRegistry& registry) {
  register_reference<ConstantKernel>(registry, "Constant");
  register_reference<ConstantOfShapeKernel>(registry, "ConstantOfShape");
  register_reference<RangeKernel>(registry, "Range");
  register_reference<EyeLikeKernel>(registry, "EyeLike");
  register_reference<OneHotKernel>(registry, "OneHot");
}

}  // namespace octet
