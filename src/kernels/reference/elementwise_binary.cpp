// Elementwise ops over several inputs with numpy broadcasting: arithmetic, comparisons, logic,
// BitShift, Pow, the variadic Max/Min/Sum/Mean, Where and PRelu.
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <type_traits>
#include <vector>

#include "kernels/reference/elementwise_common.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// ---- Broadcast iteration -----------------------------------------------------------------------

// The iteration space of a broadcast op over N inputs, with adjacent output dimensions merged
// wherever every input steps through memory uniformly across them, so that the innermost dimension
// is as long as possible. Examples: equal shapes become one dimension; [N,C,H,W] + [C,1,1] becomes
// [N, C, H*W] with the bias constant along H*W; [M,K] + [K] becomes [M, K].
// Along the innermost dimension every input's stride is 0 (broadcast) or 1 (contiguous): its later
// dimensions all have size 1, since the output's do (size-1 output dimensions are dropped).
template <size_t N>
struct BroadcastLayout {
  std::vector<int64_t> dims;                    // innermost last; never empty
  std::array<std::vector<int64_t>, N> strides;  // per input, element strides along `dims`
  int64_t element_count = 1;
};

template <size_t N>
BroadcastLayout<N> make_broadcast_layout(const Shape& output_shape, const std::array<Shape, N>& input_shapes) {
  std::array<std::vector<int64_t>, N> full_strides;
  for (size_t k = 0; k < N; ++k) full_strides[k] = broadcast_strides(input_shapes[k], output_shape);

  BroadcastLayout<N> layout;  // built innermost first, reversed at the end
  for (size_t d = output_shape.size(); d-- > 0;) {
    const int64_t size = output_shape[d];
    if (size == 1) continue;
    // Dimension d merges into the block inside it when each input's stride along d equals the
    // block's extent in that input's memory (or both are 0).
    bool merges = !layout.dims.empty();
    for (size_t k = 0; k < N && merges; ++k) merges = full_strides[k][d] == layout.strides[k].back() * layout.dims.back();
    if (merges) {
      layout.dims.back() *= size;
      continue;
    }
    layout.dims.push_back(size);
    for (size_t k = 0; k < N; ++k) layout.strides[k].push_back(full_strides[k][d]);
  }
  if (layout.dims.empty()) {  // every dimension is 1: a single element
    layout.dims.push_back(1);
    for (size_t k = 0; k < N; ++k) layout.strides[k].push_back(0);
  }
  std::reverse(layout.dims.begin(), layout.dims.end());
  for (size_t k = 0; k < N; ++k) std::reverse(layout.strides[k].begin(), layout.strides[k].end());
  for (int64_t size : layout.dims) layout.element_count *= size;
  return layout;
}

// Calls run(output_offset, input_offsets, count) for consecutive runs of output elements along the
// innermost dimension: output elements [output_offset, output_offset + count) read input k at
// input_offsets[k] + i * layout.strides[k].back(). Large outputs are split across threads at any
// element, so a single long row is parallel too.
template <size_t N, typename RunFunction>
void for_each_run(const BroadcastLayout<N>& layout, ThreadPool& threads, const RunFunction& run) {
  const size_t outer_rank = layout.dims.size() - 1;
  const int64_t inner_size = layout.dims.back();
  threads.parallel_for(
      layout.element_count,
      [&](int64_t begin, int64_t end) {
        // Locate `begin`: its index along each outer dimension and each input's offset at that row.
        std::vector<int64_t> index(outer_rank, 0);
        std::array<int64_t, N> row_offsets{};
        int64_t row = begin / inner_size;
        for (size_t d = outer_rank; d-- > 0;) {
          index[d] = row % layout.dims[d];
          row /= layout.dims[d];
          for (size_t k = 0; k < N; ++k) row_offsets[k] += index[d] * layout.strides[k][d];
        }
        int64_t inner_begin = begin % inner_size;
        int64_t position = begin;
        for (;;) {
          const int64_t count = std::min(inner_size - inner_begin, end - position);
          std::array<int64_t, N> offsets;
          for (size_t k = 0; k < N; ++k) offsets[k] = row_offsets[k] + inner_begin * layout.strides[k][outer_rank];
          run(position, offsets, count);
          position += count;
          if (position >= end) break;
          inner_begin = 0;
          // Next row: advance the outer index like an odometer.
          for (size_t d = outer_rank; d-- > 0;) {
            for (size_t k = 0; k < N; ++k) row_offsets[k] += layout.strides[k][d];
            if (++index[d] < layout.dims[d]) break;
            for (size_t k = 0; k < N; ++k) row_offsets[k] -= layout.strides[k][d] * layout.dims[d];
            index[d] = 0;
          }
        }
      },
      kElementsPerTask);
}

// dst = op(a, b) with a read as `a_shape` and b as `b_shape` (numpy broadcasting to dst's shape).
// The inner loop has a variant per operand kind (contiguous or repeated scalar) so that each is a
// plain array loop the compiler vectorizes.
template <typename A, typename B, typename Out, typename Op>
void broadcast_binary(const Tensor& a, const Shape& a_shape, const Tensor& b, const Shape& b_shape, Tensor& dst,
                      ThreadPool& threads, const Op& op) {
  const A* a_data = static_cast<const A*>(a.raw_data());
  const B* b_data = static_cast<const B*>(b.raw_data());
  Out* dst_data = static_cast<Out*>(dst.raw_data());
  const BroadcastLayout<2> layout = make_broadcast_layout<2>(dst.shape(), {a_shape, b_shape});
  const bool a_contiguous = layout.strides[0].back() != 0;
  const bool b_contiguous = layout.strides[1].back() != 0;
  for_each_run(layout, threads, [&](int64_t output_offset, const std::array<int64_t, 2>& offsets, int64_t count) {
    const A* a_run = a_data + offsets[0];
    const B* b_run = b_data + offsets[1];
    Out* dst_run = dst_data + output_offset;
    if (a_contiguous && b_contiguous) {
      for (int64_t i = 0; i < count; ++i) dst_run[i] = op(a_run[i], b_run[i]);
    } else if (a_contiguous) {
      const B b_value = *b_run;
      for (int64_t i = 0; i < count; ++i) dst_run[i] = op(a_run[i], b_value);
    } else if (b_contiguous) {
      const A a_value = *a_run;
      for (int64_t i = 0; i < count; ++i) dst_run[i] = op(a_value, b_run[i]);
    } else {
      std::fill_n(dst_run, count, static_cast<Out>(op(*a_run, *b_run)));
    }
  });
}

// Opsets before 7 broadcast B only with attribute broadcast=1, aligning it with A at attribute
// `axis` when given (B's shape is then padded with trailing 1s), and at the end otherwise, as numpy.
class LegacyBroadcast {
 public:
  explicit LegacyBroadcast(const KernelCreateInfo& info) {
    if (info.opset < 7 && info.node.attr_int("broadcast", 0) != 0 && info.node.has_attribute("axis"))
      axis_ = info.node.attr_int("axis");
  }

  // The shape that B broadcasts with.
  Shape b_shape(const Shape& a_shape, const Shape& b_shape) const {
    if (!axis_) return b_shape;
    const int64_t a_rank = static_cast<int64_t>(a_shape.size());
    const int64_t axis = normalize_axis(*axis_, a_rank, "attribute 'axis'");
    check(axis + static_cast<int64_t>(b_shape.size()) <= a_rank, "attribute 'axis' = ", *axis_, ": input B of shape ",
          shape_to_string(b_shape), " does not fit in A of shape ", shape_to_string(a_shape));
    Shape aligned = b_shape;
    aligned.resize(static_cast<size_t>(a_rank - axis), 1);
    return aligned;
  }

 private:
  std::optional<int64_t> axis_;
};

void check_same_type(const Tensor& a, const Tensor& b, const char* a_name, const char* b_name) {
  check(a.dtype() == b.dtype(), "inputs ", a_name, " (", dtype_name(a.dtype()), ") and ", b_name, " (",
        dtype_name(b.dtype()), ") must have the same type");
}

bool is_integer_type(DataType dtype) {
  switch (dtype) {
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
    case DataType::kUint64: return true;
    default: return false;
  }
}

// ---- Arithmetic --------------------------------------------------------------------------------

struct AddOp {
  template <typename T>
  T operator()(T a, T b) const { return wrapping_add(a, b); }
};
struct SubOp {
  template <typename T>
  T operator()(T a, T b) const { return wrapping_subtract(a, b); }
};
struct MulOp {
  template <typename T>
  T operator()(T a, T b) const { return wrapping_multiply(a, b); }
};

template <typename T>
void check_integer_divisor(T divisor) {
  if (divisor == 0) throw Error("integer division by zero");
}

// Integer division truncates toward zero, as in C++.
struct DivOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return a / b;
    } else {
      check_integer_divisor(b);
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return wrapping_negate(a);  // lowest / -1 overflows
      }
      return static_cast<T>(a / b);
    }
  }
};

// fmod = 0: the remainder takes the divisor's sign (Python's %); fmod = 1: the dividend's (C's fmod).
struct ModOp {
  bool fmod;
  explicit ModOp(const Node& node) : fmod(node.attr_int("fmod", 0) != 0) {}

  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_unsigned_v<T>) {
      check_integer_divisor(b);
      return static_cast<T>(a % b);
    } else {
      T remainder;
      if constexpr (std::is_floating_point_v<T>) {
        remainder = std::fmod(a, b);
      } else {
        check_integer_divisor(b);
        if (b == -1) return 0;  // lowest % -1 overflows
        remainder = static_cast<T>(a % b);
      }
      if (!fmod && remainder != 0 && ((remainder < 0) != (b < 0))) remainder += b;
      return remainder;
    }
  }
};

// Add, Sub, Mul, Div, Mod: C = op(A, B) for two inputs of one numeric type.
template <typename Op>
class ArithmeticKernel : public Kernel {
 public:
  explicit ArithmeticKernel(const KernelCreateInfo& info) : op_(make_op<Op>(info.node)), legacy_broadcast_(info) {}

  void run(KernelContext& context) override {
    const Tensor& a = context.input(0);
    const Tensor& b = context.input(1);
    check_same_type(a, b, "A", "B");
    if (is_16bit_float(a.dtype())) {
      run_in_float(context, a.dtype(), [this](KernelContext& float_context) { run(float_context); });
      return;
    }
    const Shape b_shape = legacy_broadcast_.b_shape(a.shape(), b.shape());
    Tensor& dst = context.allocate_output(0, a.dtype(), broadcast_shapes(a.shape(), b_shape));
    dispatch_numeric(a.dtype(), "input", [&]<typename T>() {
      broadcast_binary<T, T, T>(a, a.shape(), b, b_shape, dst, context.threads(), op_);
    });
  }

 private:
  Op op_;
  LegacyBroadcast legacy_broadcast_;
};

// ---- Max, Min, Sum, Mean -----------------------------------------------------------------------

// NaN wins, as in numpy.maximum / minimum.
// (A NaN `a` fails the comparison and is returned; a NaN `b` needs the explicit test.)
struct MaxOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(b)) return b;
    }
    return a < b ? b : a;
  }
};
struct MinOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(b)) return b;
    }
    return b < a ? b : a;
  }
};

// Max, Min, Sum (kAverage = false) and Mean (kAverage = true): folds op over all inputs left to
// right, broadcasting them together.
template <typename Op, bool kAverage>
class VariadicKernel : public Kernel {
 public:
  explicit VariadicKernel(const KernelCreateInfo& info) {}

  void run(KernelContext& context) override {
    check(context.input_count() >= 1, "needs at least one input");
    const Tensor& first = context.input(0);
    for (size_t i = 1; i < context.input_count(); ++i) {
      check(context.input(i).dtype() == first.dtype(), "input ", i, " has type ", dtype_name(context.input(i).dtype()),
            ", input 0 has ", dtype_name(first.dtype()));
    }
    if (is_16bit_float(first.dtype())) {
      run_in_float(context, first.dtype(), [this](KernelContext& float_context) { run(float_context); });
      return;
    }
    if constexpr (kAverage) {
      dispatch_floating(first.dtype(), "input", [&]<typename T>() { fold<T>(context); });
    } else {
      dispatch_numeric(first.dtype(), "input", [&]<typename T>() { fold<T>(context); });
    }
  }

 private:
  template <typename T>
  void fold(KernelContext& context) const {
    const Op op;
    Tensor accumulated;
    const Tensor* left = &context.input(0);
    if (context.input_count() == 1) accumulated = left->clone();
    for (size_t i = 1; i < context.input_count(); ++i) {
      const Tensor& right = context.input(i);
      Tensor combined(left->dtype(), broadcast_shapes(left->shape(), right.shape()));
      broadcast_binary<T, T, T>(*left, left->shape(), right, right.shape(), combined, context.threads(), op);
      accumulated = std::move(combined);
      left = &accumulated;
    }
    if constexpr (kAverage) {
      const T input_count = static_cast<T>(context.input_count());
      map_elements<T, T>(accumulated, accumulated, context.threads(), [input_count](T sum) { return sum / input_count; });
    }
    context.output(0) = std::move(accumulated);
  }
};

// ---- Comparisons and logic ---------------------------------------------------------------------

struct EqualOp {
  template <typename T>
  bool operator()(T a, T b) const { return a == b; }
};
struct LessOp {
  template <typename T>
  bool operator()(T a, T b) const { return a < b; }
};
struct LessOrEqualOp {
  template <typename T>
  bool operator()(T a, T b) const { return a <= b; }
};
struct GreaterOp {
  template <typename T>
  bool operator()(T a, T b) const { return a > b; }
};
struct GreaterOrEqualOp {
  template <typename T>
  bool operator()(T a, T b) const { return a >= b; }
};

// Equal, Less, Greater, LessOrEqual, GreaterOrEqual: bool C = op(A, B) for numeric or bool inputs.
template <typename Op>
class ComparisonKernel : public Kernel {
 public:
  explicit ComparisonKernel(const KernelCreateInfo& info) : legacy_broadcast_(info) {}

  void run(KernelContext& context) override {
    const Tensor& a = context.input(0);
    const Tensor& b = context.input(1);
    check_same_type(a, b, "A", "B");
    if (is_16bit_float(a.dtype())) {  // exact: widening to float keeps every value
      run_in_float(context, a.dtype(), [this](KernelContext& float_context) { run(float_context); });
      return;
    }
    const Shape b_shape = legacy_broadcast_.b_shape(a.shape(), b.shape());
    Tensor& dst = context.allocate_output(0, DataType::kBool, broadcast_shapes(a.shape(), b_shape));
    dispatch_numeric_or_bool(a.dtype(), "input", [&]<typename T>() {
      broadcast_binary<T, T, bool>(a, a.shape(), b, b_shape, dst, context.threads(), Op{});
    });
  }

 private:
  LegacyBroadcast legacy_broadcast_;
};

struct AndOp {
  bool operator()(bool a, bool b) const { return a && b; }
};
struct OrOp {
  bool operator()(bool a, bool b) const { return a || b; }
};
struct XorOp {
  bool operator()(bool a, bool b) const { return a != b; }
};

// And, Or, Xor on bool inputs.
template <typename Op>
class LogicalKernel : public Kernel {
 public:
  explicit LogicalKernel(const KernelCreateInfo& info) : legacy_broadcast_(info) {}

  void run(KernelContext& context) override {
    const Tensor& a = context.input(0);
    const Tensor& b = context.input(1);
    check_same_type(a, b, "A", "B");
    if (a.dtype() != DataType::kBool) throw UnsupportedError(concat("input: type ", dtype_name(a.dtype()), " is not supported"));
    const Shape b_shape = legacy_broadcast_.b_shape(a.shape(), b.shape());
    Tensor& dst = context.allocate_output(0, DataType::kBool, broadcast_shapes(a.shape(), b_shape));
    broadcast_binary<bool, bool, bool>(a, a.shape(), b, b_shape, dst, context.threads(), Op{});
  }

 private:
  LegacyBroadcast legacy_broadcast_;
};

// BitShift: Z = X << Y or X >> Y (attribute direction) on unsigned integers. Shifting by the bit
// width or more gives 0 (C++ leaves it undefined).
class BitShiftKernel : public Kernel {
 public:
  explicit BitShiftKernel(const KernelCreateInfo& info) {
    const std::string direction = info.node.attr_string("direction");
    check(direction == "LEFT" || direction == "RIGHT", "attribute 'direction' must be LEFT or RIGHT, got '",
          direction, "'");
    shift_left_ = direction == "LEFT";
  }

  void run(KernelContext& context) override {
    const Tensor& x = context.input(0);
    const Tensor& y = context.input(1);
    check_same_type(x, y, "X", "Y");
    Tensor& dst = context.allocate_output(0, x.dtype(), broadcast_shapes(x.shape(), y.shape()));
    switch (x.dtype()) {
      case DataType::kUint8: shift<uint8_t>(x, y, dst, context.threads()); return;
      case DataType::kUint16: shift<uint16_t>(x, y, dst, context.threads()); return;
      case DataType::kUint32: shift<uint32_t>(x, y, dst, context.threads()); return;
      case DataType::kUint64: shift<uint64_t>(x, y, dst, context.threads()); return;
      default: throw UnsupportedError(concat("input: type ", dtype_name(x.dtype()), " is not supported"));
    }
  }

 private:
  template <typename T>
  void shift(const Tensor& x, const Tensor& y, Tensor& dst, ThreadPool& threads) const {
    constexpr T kBits = sizeof(T) * 8;
    if (shift_left_) {
      broadcast_binary<T, T, T>(x, x.shape(), y, y.shape(), dst, threads,
                                [](T value, T amount) { return amount >= kBits ? T(0) : static_cast<T>(value << amount); });
    } else {
      broadcast_binary<T, T, T>(x, x.shape(), y, y.shape(), dst, threads,
                                [](T value, T amount) { return amount >= kBits ? T(0) : static_cast<T>(value >> amount); });
    }
  }

  bool shift_left_ = true;
};

// ---- Pow ---------------------------------------------------------------------------------------

// base^exponent for integers, wrapping on overflow. A negative exponent gives the real result
// truncated toward zero (0 unless |base| = 1); 0 to a negative power is an error.
template <typename T>
T integer_power(T base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 0) throw Error("Pow: 0 raised to a negative power");
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<T>) {
      if (base == -1) return exponent % 2 == 0 ? 1 : -1;
    }
    return 0;
  }
  T result = 1;
  while (exponent != 0) {  // square and multiply
    if (exponent & 1) result = wrapping_multiply(result, base);
    base = wrapping_multiply(base, base);
    exponent >>= 1;
  }
  return result;
}

// One Pow element with base type T and exponent type E (E is T, int64 or double: see PowKernel).
template <typename T, typename E>
T power(T base, E exponent) {
  if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
    return integer_power(base, static_cast<int64_t>(exponent));
  } else if constexpr (std::is_same_v<T, E>) {
    return std::pow(base, exponent);
  } else {
    return convert_value<T>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
  }
}

// Pow: Z = X^Y, Z of X's type. Y may have another numeric type: then integer exponents of an
// integer base are applied exactly, anything else is computed in double and converted to X's type
// (to integers by truncation, as Cast does).
class PowKernel : public Kernel {
 public:
  explicit PowKernel(const KernelCreateInfo& info) : legacy_broadcast_(info) {}

  void run(KernelContext& context) override {
    const Tensor& base = context.input(0);
    const Tensor& exponent = context.input(1);
    if (is_16bit_float(base.dtype()) || is_16bit_float(exponent.dtype())) {
      run_in_float(context, base.dtype(), [this](KernelContext& float_context) { run(float_context); });
      return;
    }
    const Shape exponent_shape = legacy_broadcast_.b_shape(base.shape(), exponent.shape());
    Tensor& dst = context.allocate_output(0, base.dtype(), broadcast_shapes(base.shape(), exponent_shape));
    dispatch_numeric(base.dtype(), "input 'X'", [&]<typename T>() {
      if (exponent.dtype() == base.dtype()) {
        power_of_same_type<T>(base, exponent, exponent_shape, dst, context.threads());
        return;
      }
      const bool integer_exponent = std::is_integral_v<T> && is_integer_type(exponent.dtype());
      const Tensor widened_exponent =
          cast_tensor(exponent, integer_exponent ? DataType::kInt64 : DataType::kDouble, context.threads());
      if (integer_exponent) {
        broadcast_binary<T, int64_t, T>(base, base.shape(), widened_exponent, exponent_shape, dst, context.threads(),
                                        [](T value, int64_t exponent_value) { return power(value, exponent_value); });
      } else {
        broadcast_binary<T, double, T>(base, base.shape(), widened_exponent, exponent_shape, dst, context.threads(),
                                       [](T value, double exponent_value) { return power(value, exponent_value); });
      }
    });
  }

 private:
  template <typename T>
  static void power_of_same_type(const Tensor& base, const Tensor& exponent, const Shape& exponent_shape, Tensor& dst,
                                 ThreadPool& threads) {
    if constexpr (std::is_floating_point_v<T>) {
      // x^2 (variance in decomposed normalizations) as one multiplication: the same correctly
      // rounded result, much faster than pow().
      if (exponent.element_count() == 1 && static_cast<const T*>(exponent.raw_data())[0] == T(2)) {
        broadcast_binary<T, T, T>(base, base.shape(), exponent, exponent_shape, dst, threads,
                                  [](T value, T) { return value * value; });
        return;
      }
    }
    broadcast_binary<T, T, T>(base, base.shape(), exponent, exponent_shape, dst, threads,
                              [](T value, T exponent_value) { return power(value, exponent_value); });
  }

  LegacyBroadcast legacy_broadcast_;
};

// ---- Where, PRelu ------------------------------------------------------------------------------

// Where: output = condition ? X : Y, all three broadcast together; X and Y of any one type.
class WhereKernel : public Kernel {
 public:
  explicit WhereKernel(const KernelCreateInfo& info) {}

  void run(KernelContext& context) override {
    const Tensor& condition = context.input(0);
    const Tensor& x = context.input(1);
    const Tensor& y = context.input(2);
    check(condition.dtype() == DataType::kBool, "input 'condition' must be bool, is ", dtype_name(condition.dtype()));
    check_same_type(x, y, "X", "Y");
    const Shape shape = broadcast_shapes(condition.shape(), broadcast_shapes(x.shape(), y.shape()));
    Tensor& dst = context.allocate_output(0, x.dtype(), shape);
    const BroadcastLayout<3> layout = make_broadcast_layout<3>(shape, {condition.shape(), x.shape(), y.shape()});
    // Only the bytes move, so one unsigned type per element size serves every type.
    dispatch_any(x.dtype(), "input 'X'", [&]<typename T>() {
      const bool* condition_data = condition.data<bool>();
      const T* x_data = static_cast<const T*>(x.raw_data());
      const T* y_data = static_cast<const T*>(y.raw_data());
      T* dst_data = static_cast<T*>(dst.raw_data());
      const int64_t condition_step = layout.strides[0].back();
      const int64_t x_step = layout.strides[1].back();
      const int64_t y_step = layout.strides[2].back();
      const bool all_contiguous = condition_step == 1 && x_step == 1 && y_step == 1;
      for_each_run(layout, context.threads(),
                   [&](int64_t output_offset, const std::array<int64_t, 3>& offsets, int64_t count) {
                     const bool* condition_run = condition_data + offsets[0];
                     const T* x_run = x_data + offsets[1];
                     const T* y_run = y_data + offsets[2];
                     T* dst_run = dst_data + output_offset;
                     if (all_contiguous) {
                       for (int64_t i = 0; i < count; ++i) dst_run[i] = condition_run[i] ? x_run[i] : y_run[i];
                     } else {
                       for (int64_t i = 0; i < count; ++i)
                         dst_run[i] = condition_run[i * condition_step] ? x_run[i * x_step] : y_run[i * y_step];
                     }
                   });
    });
  }
};

// PRelu: y = x < 0 ? slope * x : x, with slope broadcast to x's shape (not the other way round).
class PReluKernel : public Kernel {
 public:
  explicit PReluKernel(const KernelCreateInfo& info) {}

  void run(KernelContext& context) override {
    const Tensor& x = context.input(0);
    const Tensor& slope = context.input(1);
    check_same_type(x, slope, "X", "slope");
    if (is_16bit_float(x.dtype())) {
      run_in_float(context, x.dtype(), [this](KernelContext& float_context) { run(float_context); });
      return;
    }
    check(slope.rank() <= x.rank() && broadcast_shapes(x.shape(), slope.shape()) == x.shape(), "slope of shape ",
          shape_to_string(slope.shape()), " cannot be broadcast to X of shape ", shape_to_string(x.shape()));
    Tensor& dst = context.allocate_output(0, x.dtype(), x.shape());
    dispatch_numeric(x.dtype(), "input", [&]<typename T>() {
      broadcast_binary<T, T, T>(x, x.shape(), slope, slope.shape(), dst, context.threads(), [](T value, T factor) {
        if constexpr (std::is_unsigned_v<T>) {
          return value;
        } else {
          return value < T(0) ? wrapping_multiply(factor, value) : value;
        }
      });
    });
  }
};

}  // namespace

void register_elementwise_binary_kernels(KernelRegistry& registry) {
  register_reference<ArithmeticKernel<AddOp>>(registry, "Add");
  register_reference<ArithmeticKernel<SubOp>>(registry, "Sub");
  register_reference<ArithmeticKernel<MulOp>>(registry, "Mul");
  register_reference<ArithmeticKernel<DivOp>>(registry, "Div");
  register_reference<ArithmeticKernel<ModOp>>(registry, "Mod");
  register_reference<PowKernel>(registry, "Pow");
  register_reference<BitShiftKernel>(registry, "BitShift");

  register_reference<VariadicKernel<MaxOp, false>>(registry, "Max");
  register_reference<VariadicKernel<MinOp, false>>(registry, "Min");
  register_reference<VariadicKernel<AddOp, false>>(registry, "Sum");
  register_reference<VariadicKernel<AddOp, true>>(registry, "Mean");

  register_reference<ComparisonKernel<EqualOp>>(registry, "Equal");
  register_reference<ComparisonKernel<LessOp>>(registry, "Less");
  register_reference<ComparisonKernel<LessOrEqualOp>>(registry, "LessOrEqual");
  register_reference<ComparisonKernel<GreaterOp>>(registry, "Greater");
  register_reference<ComparisonKernel<GreaterOrEqualOp>>(registry, "GreaterOrEqual");
  register_reference<LogicalKernel<AndOp>>(registry, "And");
  register_reference<LogicalKernel<OrOp>>(registry, "Or");
  register_reference<LogicalKernel<XorOp>>(registry, "Xor");

  register_reference<WhereKernel>(registry, "Where");
  register_reference<PReluKernel>(registry, "PRelu");
}

}  // namespace octet
