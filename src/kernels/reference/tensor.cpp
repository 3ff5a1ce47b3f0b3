// Shape and data-movement ops. This file holds the ops that only rename a shape (Identity,
// Reshape, Squeeze...) or report one (Shape, Size); the others live in tensor_*.cpp, registered
// from register_tensor_kernels() below.
#include <algorithm>
#include <cstring>
#include <optional>

#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"
#include "kernels/reference/tensor_kernels.h"

namespace octet {
namespace {

// The input's data under a new shape (same element count).
Tensor reshaped_copy(const Tensor& src, Shape shape) {
  check(element_count(shape) == src.element_count(), "cannot reshape ", shape_to_string(src.shape()), " (",
        src.element_count(), " elements) to ", shape_to_string(shape));
  Tensor result = src.clone();
  result.reshape(std::move(shape));
  return result;
}

// Identity, Dropout (inference only: a copy; the optional mask output is all ones).
class IdentityKernel : public Kernel {
 public:
  explicit IdentityKernel(const KernelCreateInfo& info) : opset_(info.opset), is_dropout_(info.node.op_type == "Dropout") {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    if (is_dropout_) check_inference_mode(context);
    context.output(0) = src.clone();
    if (context.output_requested(1)) {
      // Before opset 10 the mask has the input's type; since then it is bool.
      const DataType mask_type = opset_ < 10 ? src.dtype() : DataType::kBool;
      Tensor& mask = context.allocate_output(1, mask_type, src.shape());
      std::vector<std::byte> one(dtype_size(mask_type));
      store_number(mask_type, 1.0, one.data());
      fill_with_element(mask, one.data());
    }
  }

 private:
  // From opset 12, training_mode is an input. Training drops random elements, which an inference
  // runtime has no use for; a ratio of 0 drops nothing, so it still is a copy.
  static void check_inference_mode(KernelContext& context) {
    const Tensor* training_mode = context.optional_input(2);
    if (training_mode == nullptr || training_mode->value_as_int64(0) == 0) return;
    const Tensor* ratio = context.optional_input(1);
    const double drop_ratio = ratio ? ratio->value_as_double(0) : 0.5;
    if (drop_ratio != 0) throw UnsupportedError("Dropout in training mode is not supported");
  }

  int64_t opset_;
  bool is_dropout_;
};

// Reshape: `shape` is an input from opset 5 (an attribute before). 0 copies the input's dimension
// (unless allowzero, opset 14), -1 takes whatever is left.
class ReshapeKernel : public Kernel {
 public:
  explicit ReshapeKernel(const KernelCreateInfo& info) : allow_zero_(info.node.attr_int("allowzero", 0) != 0) {
    if (info.opset < 5) attribute_shape_ = info.node.attr_ints("shape");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const std::vector<int64_t> requested = attribute_shape_ ? *attribute_shape_ : context.input(1).to_int64_vector();
    context.output(0) = reshaped_copy(src, resolve(requested, src));
  }

 private:
  Shape resolve(const std::vector<int64_t>& requested, const Tensor& src) const {
    Shape shape(requested.size());
    int64_t inferred_axis = -1;
    int64_t known_count = 1;
    for (size_t axis = 0; axis < requested.size(); ++axis) {
      int64_t dim = requested[axis];
      if (dim == 0 && !allow_zero_) {
        check(static_cast<int64_t>(axis) < src.rank(), "shape: 0 at position ", axis, " but the input ",
              shape_to_string(src.shape()), " has no such dimension");
        dim = src.dim(static_cast<int64_t>(axis));
      } else if (dim == -1) {
        check(inferred_axis < 0, "shape: more than one -1");
        inferred_axis = static_cast<int64_t>(axis);
        continue;
      }
      check(dim >= 0, "shape: invalid dimension ", dim);
      shape[axis] = dim;
      known_count *= dim;
    }
    if (inferred_axis >= 0) {
      check(known_count != 0 && src.element_count() % known_count == 0, "shape: cannot infer the -1 of ",
            shape_to_string(requested), " for input ", shape_to_string(src.shape()));
      shape[static_cast<size_t>(inferred_axis)] = src.element_count() / known_count;
    }
    return shape;
  }

  bool allow_zero_;
  std::optional<std::vector<int64_t>> attribute_shape_;
};

// Flatten: [d0 ... d(axis-1)] x [d(axis) ... d(n-1)], axis in [-rank, rank].
class FlattenKernel : public Kernel {
 public:
  explicit FlattenKernel(const KernelCreateInfo& info) : axis_(info.node.attr_int("axis", 1)) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const int64_t rank = src.rank();
    check(axis_ >= -rank && axis_ <= rank, "axis ", axis_, " is out of range for rank ", rank);
    const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    const Shape& shape = src.shape();
    const int64_t outer = element_count(Shape(shape.begin(), shape.begin() + axis));
    const int64_t inner = element_count(Shape(shape.begin() + axis, shape.end()));
    context.output(0) = reshaped_copy(src, {outer, inner});
  }

 private:
  int64_t axis_;
};

// Axes of Squeeze/Unsqueeze: an attribute before opset 13, an input since.
class AxesSource {
 public:
  explicit AxesSource(const KernelCreateInfo& info) {
    if (info.opset < 13 && info.node.has_attribute("axes")) attribute_axes_ = info.node.attr_ints("axes");
  }
  // The axes, or nullopt when none are given.
  std::optional<std::vector<int64_t>> axes(const KernelContext& context) const {
    if (attribute_axes_) return attribute_axes_;
    const Tensor* axes_input = context.optional_input(1);
    if (axes_input == nullptr) return std::nullopt;
    return axes_input->to_int64_vector();
  }

 private:
  std::optional<std::vector<int64_t>> attribute_axes_;
};

// Squeeze: removes the listed axes (each must have size 1), or every size-1 axis when none are listed.
class SqueezeKernel : public Kernel {
 public:
  explicit SqueezeKernel(const KernelCreateInfo& info) : axes_source_(info) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const std::optional<std::vector<int64_t>> axes = axes_source_.axes(context);
    std::vector<bool> removed(static_cast<size_t>(src.rank()), false);
    if (axes && !axes->empty()) {  // an empty list means "none given", as in ONNX Runtime
      for (int64_t axis : *axes) {
        const int64_t normalized = normalize_axis(axis, src.rank(), "axes");
        check(src.dim(normalized) == 1, "axes: cannot squeeze axis ", axis, " of size ", src.dim(normalized));
        removed[static_cast<size_t>(normalized)] = true;
      }
    } else {
      for (int64_t axis = 0; axis < src.rank(); ++axis) removed[static_cast<size_t>(axis)] = src.dim(axis) == 1;
    }
    Shape shape;
    for (int64_t axis = 0; axis < src.rank(); ++axis)
      if (!removed[static_cast<size_t>(axis)]) shape.push_back(src.dim(axis));
    context.output(0) = reshaped_copy(src, std::move(shape));
  }

 private:
  AxesSource axes_source_;
};

// Unsqueeze: inserts size-1 axes at the listed positions of the output.
class UnsqueezeKernel : public Kernel {
 public:
  explicit UnsqueezeKernel(const KernelCreateInfo& info) : axes_source_(info) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const std::optional<std::vector<int64_t>> axes = axes_source_.axes(context);
    check(axes.has_value(), "axes are required");
    const int64_t rank = src.rank() + static_cast<int64_t>(axes->size());
    std::vector<bool> inserted(static_cast<size_t>(rank), false);
    for (int64_t axis : *axes) {
      const size_t normalized = static_cast<size_t>(normalize_axis(axis, rank, "axes"));
      check(!inserted[normalized], "axes: axis ", axis, " is repeated");
      inserted[normalized] = true;
    }
    Shape shape;
    int64_t src_axis = 0;
    for (size_t axis = 0; axis < inserted.size(); ++axis) shape.push_back(inserted[axis] ? 1 : src.dim(src_axis++));
    context.output(0) = reshaped_copy(src, std::move(shape));
  }

 private:
  AxesSource axes_source_;
};

// Shape: the input's dimensions [start, end) as int64 (start/end from opset 15, clamped to the rank).
class ShapeKernel : public Kernel {
 public:
  explicit ShapeKernel(const KernelCreateInfo& info) : start_(info.node.attr_int("start", 0)) {
    if (info.node.has_attribute("end")) end_ = info.node.attr_int("end");
  }

  void run(KernelContext& context) override {
    const Shape& shape = context.input(0).shape();
    const int64_t rank = static_cast<int64_t>(shape.size());
    const int64_t start = clamp_to_rank(start_, rank);
    const int64_t end = end_ ? clamp_to_rank(*end_, rank) : rank;
    const int64_t count = std::max<int64_t>(0, end - start);
    Tensor& dst = context.allocate_output(0, DataType::kInt64, {count});
    std::copy(shape.begin() + start, shape.begin() + start + count, dst.data<int64_t>());
  }

 private:
  static int64_t clamp_to_rank(int64_t axis, int64_t rank) { return std::clamp(axis < 0 ? axis + rank : axis, int64_t{0}, rank); }

  int64_t start_;
  std::optional<int64_t> end_;
};

class SizeKernel : public Kernel {
 public:
  explicit SizeKernel(const KernelCreateInfo&) {}
  void run(KernelContext& context) override {
    const int64_t count = context.input(0).element_count();
    context.allocate_output(0, DataType::kInt64, {}).data<int64_t>()[0] = count;
  }
};

}  // namespace

void register_tensor_kernels(KernelRegistry& registry) {
  register_reference<IdentityKernel>(registry, "Identity");
  register_reference<IdentityKernel>(registry, "Dropout");
  register_reference<ReshapeKernel>(registry, "Reshape");
  register_reference<FlattenKernel>(registry, "Flatten");
  register_reference<SqueezeKernel>(registry, "Squeeze");
  register_reference<UnsqueezeKernel>(registry, "Unsqueeze");
  register_reference<ShapeKernel>(registry, "Shape");
  register_reference<SizeKernel>(registry, "Size");
  register_tensor_movement_kernels(registry);
  register_tensor_indexing_kernels(registry);
  register_tensor_creation_kernels(registry);
}

}  // namespace octet
