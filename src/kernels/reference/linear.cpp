// Matrix products: MatMul, Gemm, MatMulInteger, QLinearMatMul. Float products run on the shared
// blocked GEMM (gemm.h), integer ones on its exact int32 counterpart.
#include <algorithm>
#include <memory>
#include <optional>

#include "kernels/reference/gemm.h"
#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// Shapes of a numpy-style matmul: 1-D operands become a row (A) or a column (B) vector and their
// dimension is dropped from the output; batch dimensions broadcast.
struct MatMulShape {
  int64_t m = 0, n = 0, k = 0;
  Shape output;
  // Element offsets of the A and B matrices multiplied for each output matrix.
  std::vector<int64_t> a_offsets, b_offsets;
  bool b_shared = false;  // B has no batch dimensions: every batch uses the same matrix

  MatMulShape(const Shape& a_shape, const Shape& b_shape) {
    check(!a_shape.empty() && !b_shape.empty(), "MatMul inputs must have rank >= 1, got ", shape_to_string(a_shape),
          " and ", shape_to_string(b_shape));
    const bool a_vector = a_shape.size() == 1;
    const bool b_vector = b_shape.size() == 1;
    const Shape a = a_vector ? Shape{1, a_shape[0]} : a_shape;
    const Shape b = b_vector ? Shape{b_shape[0], 1} : b_shape;
    m = a[a.size() - 2];
    k = a[a.size() - 1];
    n = b[b.size() - 1];
    check(b[b.size() - 2] == k, "MatMul: A ", shape_to_string(a_shape), " and B ", shape_to_string(b_shape),
          " have mismatched inner dimensions");
    const Shape a_batch(a.begin(), a.end() - 2);
    const Shape b_batch(b.begin(), b.end() - 2);
    const Shape batch = broadcast_shapes(a_batch, b_batch);
    b_shared = b_batch.empty() || element_count(b_batch) == 1;
    output = batch;
    if (!a_vector) output.push_back(m);
    if (!b_vector) output.push_back(n);
    const int64_t batch_count = element_count(batch);
    const std::vector<int64_t> a_strides = broadcast_strides(a_batch, batch);
    const std::vector<int64_t> b_strides = broadcast_strides(b_batch, batch);
    const std::vector<int64_t> batch_strides = strides_of(batch);
    for (int64_t index = 0; index < batch_count; ++index) {
      int64_t a_matrix = 0;
      int64_t b_matrix = 0;
      for (size_t axis = 0; axis < batch.size(); ++axis) {
        const int64_t coordinate = index / batch_strides[axis] % batch[axis];
        a_matrix += coordinate * a_strides[axis];
        b_matrix += coordinate * b_strides[axis];
      }
      a_offsets.push_back(a_matrix * m * k);
      b_offsets.push_back(b_matrix * k * n);
    }
  }
  int64_t batch_count() const { return static_cast<int64_t>(a_offsets.size()); }
};

void check_float(const Tensor& tensor, const std::string& op, const std::string& name) {
  if (tensor.dtype() != DataType::kFloat)
    throw UnsupportedError(concat(op, ": input ", name, " of type ", dtype_name(tensor.dtype()), " is not supported"));
}

class MatMulKernel : public Kernel {
 public:
  explicit MatMulKernel(const KernelCreateInfo& info) {
    // Constant 1-D or 2-D weights are packed once (the common fully connected layer).
    const Tensor* b = info.find_constant(info.node.input(1));
    if (b && b->dtype() == DataType::kFloat && (b->rank() == 1 || b->rank() == 2)) {
      const int64_t depth = b->dim(0);
      const int64_t cols = b->rank() == 2 ? b->dim(1) : 1;
      packed_b_ = std::make_unique<PackedRhs>(MatrixView{b->data<float>(), cols}, depth, cols);
      packed_shape_ = b->shape();
    }
  }

  void run(KernelContext& context) override {
    const Tensor& a = context.input(0);
    const Tensor& b = context.input(1);
    check_float(a, "MatMul", "A");
    check_float(b, "MatMul", "B");
    const MatMulShape shape(a.shape(), b.shape());
    Tensor& y = context.allocate_output(0, DataType::kFloat, shape.output);
    if (y.element_count() == 0) return;
    const float* a_data = a.data<float>();
    const float* b_data = b.data<float>();
    float* y_data = y.data<float>();
    const bool use_packed = packed_b_ && packed_shape_ == b.shape();
    const int64_t m = shape.m, n = shape.n, k = shape.k;
    if (shape.b_shared && shape.a_offsets.size() > 1) {
      // One B for every batch: the batched A matrices are contiguous, so this is one tall product.
      const int64_t rows = shape.batch_count() * m;
      const GemmRhs rhs = use_packed ? GemmRhs(*packed_b_) : GemmRhs(MatrixView{b_data, n});
      gemm(rows, n, k, 1.0f, MatrixView{a_data, k}, rhs, 0.0f, y_data, n, &context.threads());
      return;
    }
    auto multiply = [&](int64_t index, ThreadPool* threads) {
      const size_t i = static_cast<size_t>(index);
      const GemmRhs rhs = use_packed ? GemmRhs(*packed_b_) : GemmRhs(MatrixView{b_data + shape.b_offsets[i], n});
      gemm(m, n, k, 1.0f, MatrixView{a_data + shape.a_offsets[i], k}, rhs, 0.0f, y_data + index * m * n, n, threads);
    };
    ThreadPool& threads = context.threads();
    if (shape.batch_count() >= threads.thread_count()) {
      threads.parallel_for(shape.batch_count(), [&](int64_t begin, int64_t end) {
        for (int64_t index = begin; index < end; ++index) multiply(index, nullptr);
      });
    } else {
      for (int64_t index = 0; index < shape.batch_count(); ++index) multiply(index, &threads);
    }
  }

 private:
  std::unique_ptr<PackedRhs> packed_b_;
  Shape packed_shape_;
};

// Y = alpha * op(A) * op(B) + beta * C, with C broadcast to (M, N).
class GemmKernel : public Kernel {
 public:
  explicit GemmKernel(const KernelCreateInfo& info)
      : opset_(info.opset),
        alpha_(info.node.attr_float("alpha", 1.0f)),
        beta_(info.node.attr_float("beta", 1.0f)),
        transpose_a_(info.node.attr_int("transA", 0) != 0),
        transpose_b_(info.node.attr_int("transB", 0) != 0) {
    const Tensor* b = info.find_constant(info.node.input(1));
    if (b && b->dtype() == DataType::kFloat && b->rank() == 2) {
      const int64_t depth = transpose_b_ ? b->dim(1) : b->dim(0);
      const int64_t cols = transpose_b_ ? b->dim(0) : b->dim(1);
      packed_b_ = std::make_unique<PackedRhs>(MatrixView{b->data<float>(), b->dim(1), transpose_b_}, depth, cols);
      packed_shape_ = b->shape();
    }
  }

  void run(KernelContext& context) override {
    const Tensor& a = context.input(0);
    const Tensor& b = context.input(1);
    const Tensor* c = context.optional_input(2);
    check_float(a, "Gemm", "A");
    check_float(b, "Gemm", "B");
    check(a.rank() == 2 && b.rank() == 2, "Gemm inputs must be matrices, got A ", shape_to_string(a.shape()), " and B ",
          shape_to_string(b.shape()));
    // C became optional in opset 11.
    check(c || opset_ >= 11, "input C is required before opset 11");
    const int64_t m = transpose_a_ ? a.dim(1) : a.dim(0);
    const int64_t k = transpose_a_ ? a.dim(0) : a.dim(1);
    const int64_t b_depth = transpose_b_ ? b.dim(1) : b.dim(0);
    const int64_t n = transpose_b_ ? b.dim(0) : b.dim(1);
    check(b_depth == k, "Gemm: op(A) is ", m, "x", k, " but op(B) is ", b_depth, "x", n);
    Tensor& y = context.allocate_output(0, DataType::kFloat, {m, n});
    float* y_data = y.data<float>();
    float beta = 0.0f;
    if (c && beta_ != 0.0f) {
      check_float(*c, "Gemm", "C");
      check(c->rank() <= 2 && broadcast_shapes(c->shape(), {m, n}) == Shape{m, n}, "Gemm: C ",
            shape_to_string(c->shape()), " cannot be broadcast to ", m, "x", n);
      const std::vector<int64_t> strides = broadcast_strides(c->shape(), {m, n});
      const float* c_data = c->data<float>();
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) y_data[i * n + j] = c_data[i * strides[0] + j * strides[1]];
      beta = beta_;
    }
    if (y.element_count() == 0) return;
    const bool use_packed = packed_b_ && packed_shape_ == b.shape();
    const GemmRhs rhs = use_packed ? GemmRhs(*packed_b_) : GemmRhs(MatrixView{b.data<float>(), b.dim(1), transpose_b_});
    gemm(m, n, k, alpha_, MatrixView{a.data<float>(), a.dim(1), transpose_a_}, rhs, beta, y_data, n,
         &context.threads());
  }

 private:
  int64_t opset_;
  float alpha_;
  float beta_;
  bool transpose_a_;
  bool transpose_b_;
  std::unique_ptr<PackedRhs> packed_b_;
  Shape packed_shape_;
};

// ---------------------------------------------------------------------------------------------
// MatMulInteger and QLinearMatMul.

void check_quantized_type(const Tensor& tensor, const std::string& name) {
  if (tensor.dtype() != DataType::kUint8 && tensor.dtype() != DataType::kInt8)
    throw UnsupportedError(concat(name, ": type ", dtype_name(tensor.dtype()), " is not supported (uint8 or int8)"));
}

// A zero point or scale of an operand with `matrices` matrices of which it may vary along one axis
// of `length` (A's rows or B's columns): one value, one per row/column, or one per row/column of
// every matrix ([..., M, 1] for A, [..., 1, N] for B). Returns matrices x length values.
std::vector<double> expand_quantization_parameter(const Tensor* tensor, int64_t matrices, int64_t length,
                                                  double fallback, const std::string& name) {
  std::vector<double> values(static_cast<size_t>(matrices * length), fallback);
  if (!tensor) return values;
  const int64_t count = tensor->element_count();
  check(count == 1 || count == length || count == matrices * length, name, " ", shape_to_string(tensor->shape()),
        " must be a scalar, or hold one value per row of A / column of B");
  for (int64_t matrix = 0; matrix < matrices; ++matrix)
    for (int64_t i = 0; i < length; ++i) {
      const int64_t source = count == 1 ? 0 : count == length ? i : matrix * length + i;
      values[static_cast<size_t>(matrix * length + i)] = tensor->value_as_double(source);
    }
  return values;
}

// Number of matrices in a MatMul operand: the product of its batch dimensions.
int64_t matrix_count(const Shape& shape) {
  return shape.size() <= 2 ? 1 : element_count(Shape(shape.begin(), shape.end() - 2));
}

// Operand minus its zero point as int32, its zero point varying along rows (A) or columns (B).
std::vector<int32_t> centered_operand(const Tensor& operand, const Tensor* zero_point, int64_t rows, int64_t cols,
                                      bool per_row, const std::string& name) {
  if (zero_point) {
    check(zero_point->dtype() == operand.dtype(), name, " must have the type of its operand (",
          dtype_name(operand.dtype()), ")");
  }
  const int64_t matrices = matrix_count(operand.shape());
  const int64_t length = per_row ? rows : cols;
  const std::vector<double> offsets = expand_quantization_parameter(zero_point, matrices, length, 0.0, name);
  std::vector<int32_t> result(static_cast<size_t>(operand.element_count()));
  auto convert = [&]<typename T>() {
    const T* source = static_cast<const T*>(operand.raw_data());
    for (int64_t matrix = 0; matrix < matrices; ++matrix) {
      for (int64_t row = 0; row < rows; ++row) {
        const int64_t begin = (matrix * rows + row) * cols;
        for (int64_t col = 0; col < cols; ++col) {
          const double offset = offsets[static_cast<size_t>(matrix * length + (per_row ? row : col))];
          result[static_cast<size_t>(begin + col)] = static_cast<int32_t>(source[begin + col]) - static_cast<int32_t>(offset);
        }
      }
    }
  };
  if (operand.dtype() == DataType::kUint8) {
    convert.template operator()<uint8_t>();
  } else {
    convert.template operator()<int8_t>();
  }
  return result;
}

class IntegerMatMulKernel : public Kernel {
 public:
  enum class Mode { kMatMulInteger, kQLinearMatMul };

  IntegerMatMulKernel(const KernelCreateInfo& info, Mode mode) : mode_(mode) {}

  void run(KernelContext& context) override {
    const bool qlinear = mode_ == Mode::kQLinearMatMul;
    const Tensor& a = context.input(0);
    const Tensor& b = context.input(qlinear ? 3 : 1);
    const Tensor* a_zero_point = context.optional_input(2);
    const Tensor* b_zero_point = context.optional_input(qlinear ? 5 : 3);
    check_quantized_type(a, "input A");
    check_quantized_type(b, "input B");
    const MatMulShape shape(a.shape(), b.shape());
    const int64_t m = shape.m, n = shape.n, k = shape.k;
    const int64_t a_matrices = matrix_count(a.shape());
    const int64_t b_matrices = matrix_count(b.shape());
    const std::vector<int32_t> a_centered = centered_operand(a, a_zero_point, m, k, /*per_row=*/true, "a_zero_point");
    const std::vector<int32_t> b_centered = centered_operand(b, b_zero_point, k, n, /*per_row=*/false, "b_zero_point");

    DataType y_type = DataType::kInt32;
    std::vector<double> a_scales, b_scales;
    float y_scale = 1.0f;
    int32_t y_zero = 0;
    if (qlinear) {
      const Tensor* y_zero_point = context.optional_input(7);
      y_type = y_zero_point ? y_zero_point->dtype() : a.dtype();
      if (y_zero_point) {
        check_quantized_type(*y_zero_point, "y_zero_point");
        check(y_zero_point->element_count() == 1, "y_zero_point must be a scalar");
        y_zero = static_cast<int32_t>(y_zero_point->value_as_int64(0));
      }
      check(context.input(6).element_count() == 1, "y_scale must be a scalar");
      y_scale = static_cast<float>(context.input(6).value_as_double(0));
      a_scales = expand_quantization_parameter(&context.input(1), a_matrices, m, 1.0, "a_scale");
      b_scales = expand_quantization_parameter(&context.input(4), b_matrices, n, 1.0, "b_scale");
    }

    Tensor& y = context.allocate_output(0, y_type, shape.output);
    if (y.element_count() == 0) return;
    const int64_t batch_count = shape.batch_count();
    // Rows of all output matrices, split across threads.
    context.threads().parallel_for(batch_count * m, [&](int64_t begin, int64_t end) {
      std::vector<int32_t> accumulators;
      for (int64_t row = begin; row < end;) {
        const int64_t batch = row / m;
        const int64_t row_begin = row % m;
        const int64_t row_end = std::min(m, row_begin + (end - row));
        const int64_t rows = row_end - row_begin;
        const size_t index = static_cast<size_t>(batch);
        const int32_t* a_rows = a_centered.data() + shape.a_offsets[index] + row_begin * k;
        const int32_t* b_matrix = b_centered.data() + shape.b_offsets[index];
        const int64_t y_begin = (batch * m + row_begin) * n;
        if (!qlinear) {
          gemm_int32(rows, n, k, a_rows, k, b_matrix, n, static_cast<int32_t*>(y.raw_data()) + y_begin, n);
        } else {
          accumulators.resize(static_cast<size_t>(rows * n));
          gemm_int32(rows, n, k, a_rows, k, b_matrix, n, accumulators.data(), n);
          const int64_t a_matrix = shape.a_offsets[index] / (m * k);
          const int64_t b_matrix_index = shape.b_offsets[index] / (k * n);
          auto requantize_rows = [&]<typename Q>() {
            Q* destination = static_cast<Q*>(y.raw_data()) + y_begin;
            for (int64_t i = 0; i < rows; ++i) {
              const float a_scale = static_cast<float>(a_scales[static_cast<size_t>(a_matrix * m + row_begin + i)]);
              for (int64_t j = 0; j < n; ++j) {
                const float b_scale = static_cast<float>(b_scales[static_cast<size_t>(b_matrix_index * n + j)]);
                const float multiplier = a_scale * b_scale / y_scale;
                destination[i * n + j] = requantize<Q>(accumulators[static_cast<size_t>(i * n + j)], multiplier, y_zero);
              }
            }
          };
          if (y_type == DataType::kUint8) {
            requantize_rows.template operator()<uint8_t>();
          } else {
            requantize_rows.template operator()<int8_t>();
          }
        }
        row += rows;
      }
    });
  }

 private:
  Mode mode_;
};

class MatMulIntegerKernel : public IntegerMatMulKernel {
 public:
  explicit MatMulIntegerKernel(const KernelCreateInfo& info) : IntegerMatMulKernel(info, Mode::kMatMulInteger) {}
};

class QLinearMatMulKernel : public IntegerMatMulKernel {
 public:
  explicit QLinearMatMulKernel(const KernelCreateInfo& info) : IntegerMatMulKernel(info, Mode::kQLinearMatMul) {}
};

}  // namespace

void register_linear_kernels(KernelRegistry& registry) {
  register_reference<MatMulKernel>(registry, "MatMul");
  register_reference<GemmKernel>(registry, "Gemm");
  register_reference<MatMulIntegerKernel>(registry, "MatMulInteger");
  register_reference<QLinearMatMulKernel>(registry, "QLinearMatMul");
}

}  // namespace octet
