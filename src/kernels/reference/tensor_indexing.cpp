// Indexing ops: Gather, GatherElements, GatherND, ScatterElements (and the old Scatter), ScatterND,
// NonZero, Compress, Trilu, CumSum.
#include <algorithm>
#include <cstring>
#include <optional>

#include "core/float16.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"
#include "kernels/reference/tensor_kernels.h"

namespace octet {
namespace {

// Index values may be negative (counting from the end); anything outside [-dim, dim) is an error.
int64_t normalize_index(int64_t index, int64_t dim, const char* what) {
  check(index >= -dim && index < dim, what, ": index ", index, " is out of range for a dimension of size ", dim);
  return index < 0 ? index + dim : index;
}

std::vector<int64_t> read_indices(const Tensor& indices) {
  check(indices.dtype() == DataType::kInt64 || indices.dtype() == DataType::kInt32, "indices must be int32 or int64, got ",
        dtype_name(indices.dtype()));
  return indices.to_int64_vector();
}

// Calls visit(position, base) for every position of `shape` in row-major order, where base is the
// offset sum(i_d * strides[d]) over every axis d except `skipped_axis`.
template <typename Visit>
void for_each_position(const Shape& shape, const std::vector<int64_t>& strides, size_t skipped_axis, Visit&& visit) {
  const int64_t count = element_count(shape);
  std::vector<int64_t> index(shape.size(), 0);
  int64_t base = 0;
  for (int64_t position = 0; position < count; ++position) {
    visit(position, base);
    for (size_t axis = shape.size(); axis-- > 0;) {
      const int64_t stride = axis == skipped_axis ? 0 : strides[axis];
      base += stride;
      if (++index[axis] < shape[axis]) break;
      base -= stride * shape[axis];
      index[axis] = 0;
    }
  }
}

// Gather: output = data[:axis] + indices.shape + data[axis+1:]; each index picks a slice of data.
class GatherKernel : public Kernel {
 public:
  explicit GatherKernel(const KernelCreateInfo& info) : axis_(info.node.attr_int("axis", 0)) {}

  void run(KernelContext& context) override {
    const Tensor& data = context.input(0);
    const Tensor& indices_tensor = context.input(1);
    const int64_t axis = normalize_axis(axis_, data.rank(), "axis");
    const int64_t dim = data.dim(axis);
    std::vector<int64_t> indices = read_indices(indices_tensor);
    for (int64_t& index : indices) index = normalize_index(index, dim, "indices");

    const Shape& data_shape = data.shape();
    Shape shape(data_shape.begin(), data_shape.begin() + axis);
    shape.insert(shape.end(), indices_tensor.shape().begin(), indices_tensor.shape().end());
    shape.insert(shape.end(), data_shape.begin() + axis + 1, data_shape.end());
    check(dtype_size(data.dtype()) > 0, "type ", dtype_name(data.dtype()), " is not supported");
    Tensor& dst = context.allocate_output(0, data.dtype(), shape);

    const int64_t outer = dims_product(data_shape, 0, static_cast<size_t>(axis));
    const int64_t slice_bytes =
        dims_product(data_shape, static_cast<size_t>(axis) + 1, data_shape.size()) * static_cast<int64_t>(dtype_size(data.dtype()));
    const int64_t index_count = static_cast<int64_t>(indices.size());
    if (slice_bytes == 0) return;
    context.threads().parallel_for(
        outer * index_count,
        [&](int64_t begin, int64_t end) {
          for (int64_t row = begin; row < end; ++row) {
            const int64_t o = row / index_count;
            const int64_t k = row % index_count;
            std::memcpy(bytes_of(dst) + row * slice_bytes,
                        bytes_of(data) + (o * dim + indices[static_cast<size_t>(k)]) * slice_bytes,
                        static_cast<size_t>(slice_bytes));
          }
        },
        std::max<int64_t>(1, kMinBytesPerTask / slice_bytes));
  }

 private:
  int64_t axis_;
};

// GatherElements: output[i] = data[i with its axis coordinate replaced by indices[i]].
class GatherElementsKernel : public Kernel {
 public:
  explicit GatherElementsKernel(const KernelCreateInfo& info) : axis_(info.node.attr_int("axis", 0)) {}

  void run(KernelContext& context) override {
    const Tensor& data = context.input(0);
    const Tensor& indices_tensor = context.input(1);
    check(indices_tensor.rank() == data.rank(), "indices rank ", indices_tensor.rank(), " differs from data rank ",
          data.rank());
    const int64_t axis = normalize_axis(axis_, data.rank(), "axis");
    for (int64_t d = 0; d < data.rank(); ++d)
      check(d == axis || indices_tensor.dim(d) <= data.dim(d), "indices shape ", shape_to_string(indices_tensor.shape()),
            " exceeds data shape ", shape_to_string(data.shape()), " outside axis ", axis);
    const std::vector<int64_t> indices = read_indices(indices_tensor);
    const std::vector<int64_t> strides = strides_of(data.shape());
    const int64_t dim = data.dim(axis);
    const int64_t axis_stride = strides[static_cast<size_t>(axis)];
    Tensor& dst = context.allocate_output(0, data.dtype(), indices_tensor.shape());
    dispatch_any(data.dtype(), "GatherElements", [&]<typename T>() {
      const T* src = static_cast<const T*>(data.raw_data());
      T* out = static_cast<T*>(dst.raw_data());
      for_each_position(indices_tensor.shape(), strides, static_cast<size_t>(axis), [&](int64_t position, int64_t base) {
        out[position] = src[base + normalize_index(indices[static_cast<size_t>(position)], dim, "indices") * axis_stride];
      });
    });
  }

 private:
  int64_t axis_;
};

// GatherND: the last axis of indices (length k) addresses data[batch..., i_0 .. i_{k-1}]; the first
// batch_dims axes of data and indices are shared.
class GatherNDKernel : public Kernel {
 public:
  explicit GatherNDKernel(const KernelCreateInfo& info) : batch_dims_(info.node.attr_int("batch_dims", 0)) {}

  void run(KernelContext& context) override {
    const Tensor& data = context.input(0);
    const Tensor& indices_tensor = context.input(1);
    const Shape& data_shape = data.shape();
    const Shape& indices_shape = indices_tensor.shape();
    const size_t batch_dims = static_cast<size_t>(batch_dims_);
    check(batch_dims_ >= 0 && indices_tensor.rank() >= 1 && batch_dims < indices_shape.size() &&
              batch_dims <= data_shape.size(),
          "batch_dims ", batch_dims_, " does not fit data ", shape_to_string(data_shape), " and indices ",
          shape_to_string(indices_shape));
    for (size_t axis = 0; axis < batch_dims; ++axis)
      check(data_shape[axis] == indices_shape[axis], "batch dimension ", axis, " differs: data ",
            shape_to_string(data_shape), ", indices ", shape_to_string(indices_shape));
    const size_t tuple_length = static_cast<size_t>(indices_shape.back());
    check(batch_dims + tuple_length <= data_shape.size(), "index tuples of length ", tuple_length, " exceed data rank ",
          data_shape.size(), " after ", batch_dims, " batch dims");
    check(dtype_size(data.dtype()) > 0, "type ", dtype_name(data.dtype()), " is not supported");

    Shape shape(indices_shape.begin(), indices_shape.end() - 1);
    shape.insert(shape.end(), data_shape.begin() + static_cast<int64_t>(batch_dims + tuple_length), data_shape.end());
    Tensor& dst = context.allocate_output(0, data.dtype(), shape);

    const std::vector<int64_t> indices = read_indices(indices_tensor);
    const std::vector<int64_t> strides = strides_of(data_shape);
    const int64_t element_size = static_cast<int64_t>(dtype_size(data.dtype()));
    const int64_t batch_count = dims_product(indices_shape, 0, batch_dims);
    const int64_t tuples_per_batch = dims_product(indices_shape, batch_dims, indices_shape.size() - 1);
    const int64_t batch_stride = dims_product(data_shape, batch_dims, data_shape.size());
    const int64_t slice = dims_product(data_shape, batch_dims + tuple_length, data_shape.size());
    for (int64_t batch = 0; batch < batch_count; ++batch) {
      for (int64_t tuple = 0; tuple < tuples_per_batch; ++tuple) {
        const int64_t row = batch * tuples_per_batch + tuple;
        int64_t offset = batch * batch_stride;
        for (size_t j = 0; j < tuple_length; ++j) {
          const size_t axis = batch_dims + j;
          offset += normalize_index(indices[static_cast<size_t>(row) * tuple_length + j], data_shape[axis], "indices") *
                    strides[axis];
        }
        std::memcpy(bytes_of(dst) + row * slice * element_size, bytes_of(data) + offset * element_size,
                    static_cast<size_t>(slice * element_size));
      }
    }
  }

 private:
  int64_t batch_dims_;
};

// How scattered updates combine with what is already there (opset 16+; max/min from 18).
enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Reduction parse_reduction(const Node& node) {
  const std::string name = node.attr_string("reduction", "none");
  if (name == "none") return Reduction::kNone;
  if (name == "add") return Reduction::kAdd;
  if (name == "mul") return Reduction::kMul;
  if (name == "max") return Reduction::kMax;
  if (name == "min") return Reduction::kMin;
  throw Error(concat("reduction '", name, "' is not one of none, add, mul, max, min"));
}

// Calls function.template operator()<T>(), with T the element type for arithmetic when reducing,
// or any type of the right size when only storing.
template <typename Function>
void dispatch_for_reduction(DataType dtype, Reduction reduction, const std::string& what, Function&& function) {
  if (reduction == Reduction::kNone) {
    dispatch_any(dtype, what, function);
  } else {
    dispatch_numeric(dtype, what, function);
  }
}

template <typename T>
void combine(Reduction reduction, T& target, T update) {
  switch (reduction) {
    case Reduction::kNone: target = update; return;
    case Reduction::kAdd: target = static_cast<T>(target + update); return;
    case Reduction::kMul: target = static_cast<T>(target * update); return;
    case Reduction::kMax: target = std::max(target, update); return;
    case Reduction::kMin: target = std::min(target, update); return;
  }
}

// ScatterElements (and Scatter, its name before opset 11): a copy of data where
// output[i with axis coordinate indices[i]] = updates[i] (or combined by the reduction).
class ScatterElementsKernel : public Kernel {
 public:
  explicit ScatterElementsKernel(const KernelCreateInfo& info)
      : axis_(info.node.attr_int("axis", 0)), reduction_(parse_reduction(info.node)) {}

  void run(KernelContext& context) override {
    const Tensor& data = context.input(0);
    const Tensor& indices_tensor = context.input(1);
    const Tensor& updates = context.input(2);
    check(updates.shape() == indices_tensor.shape(), "updates shape ", shape_to_string(updates.shape()),
          " differs from indices shape ", shape_to_string(indices_tensor.shape()));
    check(updates.dtype() == data.dtype(), "updates type ", dtype_name(updates.dtype()), " differs from data type ",
          dtype_name(data.dtype()));
    check(indices_tensor.rank() == data.rank(), "indices rank ", indices_tensor.rank(), " differs from data rank ",
          data.rank());
    const int64_t axis = normalize_axis(axis_, data.rank(), "axis");
    for (int64_t d = 0; d < data.rank(); ++d)
      check(d == axis || indices_tensor.dim(d) <= data.dim(d), "indices shape ", shape_to_string(indices_tensor.shape()),
            " exceeds data shape ", shape_to_string(data.shape()), " outside axis ", axis);
    const std::vector<int64_t> indices = read_indices(indices_tensor);
    const std::vector<int64_t> strides = strides_of(data.shape());
    const int64_t dim = data.dim(axis);
    const int64_t axis_stride = strides[static_cast<size_t>(axis)];
    Tensor& dst = context.output(0);
    dst = data.clone();
    dispatch_for_reduction(data.dtype(), reduction_, "ScatterElements", [&]<typename T>() {
      const T* update = static_cast<const T*>(updates.raw_data());
      T* out = static_cast<T*>(dst.raw_data());
      for_each_position(indices_tensor.shape(), strides, static_cast<size_t>(axis), [&](int64_t position, int64_t base) {
        const int64_t index = normalize_index(indices[static_cast<size_t>(position)], dim, "indices");
        combine(reduction_, out[base + index * axis_stride], update[position]);
      });
    });
  }

 private:
  int64_t axis_;
  Reduction reduction_;
};

// ScatterND: a copy of data where each index tuple (last axis of indices, length k) addresses a
// slice data[i_0 .. i_{k-1}, ...] that the matching slice of updates overwrites or combines with.
class ScatterNDKernel : public Kernel {
 public:
  explicit ScatterNDKernel(const KernelCreateInfo& info) : reduction_(parse_reduction(info.node)) {}

  void run(KernelContext& context) override {
    const Tensor& data = context.input(0);
    const Tensor& indices_tensor = context.input(1);
    const Tensor& updates = context.input(2);
    const Shape& data_shape = data.shape();
    const Shape& indices_shape = indices_tensor.shape();
    check(indices_tensor.rank() >= 1, "indices must have rank >= 1");
    const size_t tuple_length = static_cast<size_t>(indices_shape.back());
    check(tuple_length <= data_shape.size(), "index tuples of length ", tuple_length, " exceed data rank ",
          data_shape.size());
    Shape expected_updates(indices_shape.begin(), indices_shape.end() - 1);
    expected_updates.insert(expected_updates.end(), data_shape.begin() + static_cast<int64_t>(tuple_length), data_shape.end());
    check(updates.shape() == expected_updates, "updates shape ", shape_to_string(updates.shape()), ", expected ",
          shape_to_string(expected_updates));
    check(updates.dtype() == data.dtype(), "updates type ", dtype_name(updates.dtype()), " differs from data type ",
          dtype_name(data.dtype()));

    const std::vector<int64_t> indices = read_indices(indices_tensor);
    const std::vector<int64_t> strides = strides_of(data_shape);
    const int64_t tuple_count = dims_product(indices_shape, 0, indices_shape.size() - 1);
    const int64_t slice = dims_product(data_shape, tuple_length, data_shape.size());
    Tensor& dst = context.output(0);
    dst = data.clone();
    dispatch_for_reduction(data.dtype(), reduction_, "ScatterND", [&]<typename T>() {
      const T* update = static_cast<const T*>(updates.raw_data());
      T* out = static_cast<T*>(dst.raw_data());
      for (int64_t tuple = 0; tuple < tuple_count; ++tuple) {
        int64_t offset = 0;
        for (size_t j = 0; j < tuple_length; ++j)
          offset += normalize_index(indices[static_cast<size_t>(tuple) * tuple_length + j], data_shape[j], "indices") *
                    strides[j];
        for (int64_t i = 0; i < slice; ++i) combine(reduction_, out[offset + i], update[tuple * slice + i]);
      }
    });
  }

 private:
  Reduction reduction_;
};

// Whether each element is non-zero, by value (so -0.0 counts as zero and NaN as non-zero).
std::vector<bool> nonzero_mask(const Tensor& tensor) {
  std::vector<bool> mask(static_cast<size_t>(tensor.element_count()));
  const auto fill = [&](auto is_nonzero) {
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = is_nonzero(i);
  };
  switch (tensor.dtype()) {
    case DataType::kFloat16:
    case DataType::kBfloat16: {
      constexpr uint16_t kMagnitudeBits = 0x7fff;  // everything but the sign: both zeros have none
      const uint16_t* bits = static_cast<const uint16_t*>(tensor.raw_data());
      fill([&](size_t i) { return (bits[i] & kMagnitudeBits) != 0; });
      return mask;
    }
    case DataType::kBool: {
      const bool* values = tensor.data<bool>();
      fill([&](size_t i) { return values[i]; });
      return mask;
    }
    default:
      dispatch_numeric(tensor.dtype(), "NonZero", [&]<typename T>() {
        const T* values = tensor.data<T>();
        fill([&](size_t i) { return values[i] != T(0); });
      });
      return mask;
  }
}

// NonZero: int64 [rank, count] with the coordinates of the non-zero elements in row-major order.
// A scalar is treated as a 1-element vector (as ONNX Runtime does).
class NonZeroKernel : public Kernel {
 public:
  explicit NonZeroKernel(const KernelCreateInfo&) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Shape shape = src.rank() == 0 ? Shape{1} : src.shape();
    const std::vector<bool> mask = nonzero_mask(src);
    const int64_t count = std::count(mask.begin(), mask.end(), true);
    const int64_t rank = static_cast<int64_t>(shape.size());
    Tensor& dst = context.allocate_output(0, DataType::kInt64, {rank, count});
    int64_t* coordinates = dst.data<int64_t>();
    int64_t column = 0;
    for (size_t position = 0; position < mask.size(); ++position) {
      if (!mask[position]) continue;
      int64_t rest = static_cast<int64_t>(position);
      for (int64_t axis = rank - 1; axis >= 0; --axis) {
        coordinates[axis * count + column] = rest % shape[static_cast<size_t>(axis)];
        rest /= shape[static_cast<size_t>(axis)];
      }
      ++column;
    }
  }
};

// Compress: keeps the slices along `axis` whose condition is true (all elements of the flattened
// input when there is no axis). A condition shorter than the axis drops the slices past its end.
class CompressKernel : public Kernel {
 public:
  explicit CompressKernel(const KernelCreateInfo& info) {
    if (info.node.has_attribute("axis")) axis_ = info.node.attr_int("axis");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Tensor& condition = context.input(1);
    check(condition.rank() == 1, "condition must be 1-D, got ", shape_to_string(condition.shape()));
    check(dtype_size(src.dtype()) > 0, "type ", dtype_name(src.dtype()), " is not supported");
    const Shape flat_shape{src.element_count()};
    const Shape& shape = axis_ ? src.shape() : flat_shape;
    const int64_t axis = axis_ ? normalize_axis(*axis_, src.rank(), "axis") : 0;
    const int64_t dim = shape[static_cast<size_t>(axis)];
    check(condition.element_count() <= dim, "condition has ", condition.element_count(), " values for an axis of size ",
          dim);
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < condition.element_count(); ++i)
      if (condition.value_as_int64(i) != 0) kept.push_back(i);

    Shape dst_shape = shape;
    dst_shape[static_cast<size_t>(axis)] = static_cast<int64_t>(kept.size());
    Tensor& dst = context.allocate_output(0, src.dtype(), dst_shape);
    const int64_t outer = dims_product(shape, 0, static_cast<size_t>(axis));
    const int64_t slice_bytes =
        dims_product(shape, static_cast<size_t>(axis) + 1, shape.size()) * static_cast<int64_t>(dtype_size(src.dtype()));
    std::byte* out = bytes_of(dst);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t index : kept) {
        std::memcpy(out, bytes_of(src) + (o * dim + index) * slice_bytes, static_cast<size_t>(slice_bytes));
        out += slice_bytes;
      }
    }
  }

 private:
  std::optional<int64_t> axis_;
};

// Trilu: keeps the upper (column - row >= k) or lower (column - row <= k) triangle of each matrix
// in the last two axes and zeroes the rest.
class TriluKernel : public Kernel {
 public:
  explicit TriluKernel(const KernelCreateInfo& info) : upper_(info.node.attr_int("upper", 1) != 0) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    check(src.rank() >= 2, "input must have rank >= 2, got ", shape_to_string(src.shape()));
    check(dtype_size(src.dtype()) > 0, "type ", dtype_name(src.dtype()), " is not supported");
    const Tensor* k_input = context.optional_input(1);
    const int64_t k = k_input ? k_input->value_as_int64(0) : 0;
    Tensor& dst = context.output(0);
    dst = src.clone();
    const int64_t rows = src.dim(src.rank() - 2), columns = src.dim(src.rank() - 1);
    const int64_t matrices = rows * columns == 0 ? 0 : src.element_count() / (rows * columns);
    const size_t element_size = dtype_size(src.dtype());
    for (int64_t row = 0; row < matrices * rows; ++row) {
      const int64_t r = row % rows;
      // Zeroed columns of this row: [0, r + k) for upper, [r + k + 1, columns) for lower.
      const int64_t zero_begin = upper_ ? 0 : std::clamp<int64_t>(r + k + 1, 0, columns);
      const int64_t zero_end = upper_ ? std::clamp<int64_t>(r + k, 0, columns) : columns;
      if (zero_end > zero_begin)
        std::memset(bytes_of(dst) + (row * columns + zero_begin) * static_cast<int64_t>(element_size), 0,
                    static_cast<size_t>(zero_end - zero_begin) * element_size);  // zero bits are 0 in every type
    }
  }

 private:
  bool upper_;
};

// CumSum along an axis (an input tensor); exclusive leaves out the current element, reverse sums
// from the end.
class CumSumKernel : public Kernel {
 public:
  explicit CumSumKernel(const KernelCreateInfo& info)
      : exclusive_(info.node.attr_int("exclusive", 0) != 0), reverse_(info.node.attr_int("reverse", 0) != 0) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Tensor& axis_tensor = context.input(1);
    check(axis_tensor.element_count() == 1, "axis must hold one value, got shape ", shape_to_string(axis_tensor.shape()));
    const int64_t axis = normalize_axis(axis_tensor.value_as_int64(0), src.rank(), "axis");
    const Shape& shape = src.shape();
    const int64_t outer = dims_product(shape, 0, static_cast<size_t>(axis));
    const int64_t dim = shape[static_cast<size_t>(axis)];
    const int64_t inner = dims_product(shape, static_cast<size_t>(axis) + 1, shape.size());
    Tensor& dst = context.allocate_output(0, src.dtype(), shape);
    dispatch_numeric(src.dtype(), "CumSum", [&]<typename T>() {
      const T* in = src.data<T>();
      T* out = dst.data<T>();
      std::vector<T> sums(static_cast<size_t>(inner));
      for (int64_t o = 0; o < outer; ++o) {
        std::fill(sums.begin(), sums.end(), T(0));
        for (int64_t step = 0; step < dim; ++step) {
          const int64_t position = reverse_ ? dim - 1 - step : step;
          const int64_t row = (o * dim + position) * inner;
          for (int64_t i = 0; i < inner; ++i) {
            T& sum = sums[static_cast<size_t>(i)];
            if (exclusive_) {
              out[row + i] = sum;
              sum = static_cast<T>(sum + in[row + i]);
            } else {
              sum = static_cast<T>(sum + in[row + i]);
              out[row + i] = sum;
            }
          }
        }
      }
    });
  }

 private:
  bool exclusive_;
  bool reverse_;
};

}  // namespace

void register_tensor_indexing_kernels(KernelRegistry& registry) {
  register_reference<GatherKernel>(registry, "Gather");
  register_reference<GatherElementsKernel>(registry, "GatherElements");
  register_reference<GatherNDKernel>(registry, "GatherND");
  register_reference<ScatterElementsKernel>(registry, "ScatterElements");
  register_reference<ScatterElementsKernel>(registry, "Scatter");
  register_reference<ScatterNDKernel>(registry, "ScatterND");
  register_reference<NonZeroKernel>(registry, "NonZero");
  register_reference<CompressKernel>(registry, "Compress");
  register_reference<TriluKernel>(registry, "Trilu");
  register_reference<CumSumKernel>(registry, "CumSum");
}

}  // namespace octet
