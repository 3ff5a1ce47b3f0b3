// Reductions and the ops that work along one axis: Reduce*, Softmax, LogSoftmax, Hardmax, ArgMax,
// ArgMin, TopK.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/reference/kernel_util.h"
#include "kernels/reference/quantize_math.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// Parallel loops hand each thread at least this many elements of work: below it, waking a worker
// costs more than the work.
constexpr int64_t kMinElementsPerTask = 16384;

// Items per task so that each task touches about kMinElementsPerTask elements.
int64_t min_items_per_task(int64_t elements_per_item) {
  return std::max<int64_t>(1, kMinElementsPerTask / std::max<int64_t>(1, elements_per_item));
}

int64_t product(const Shape& shape, size_t begin, size_t end) {
  int64_t result = 1;
  for (size_t i = begin; i < end; ++i) result *= shape[i];
  return result;
}

// A tensor seen as [outer, length, inner] around one axis: element (o, l, i) sits at
// (o * length + l) * inner + i.
struct AxisLayout {
  int64_t outer = 1;
  int64_t length = 1;
  int64_t inner = 1;
};

AxisLayout layout_around_axis(const Shape& shape, int64_t axis) {
  const size_t index = static_cast<size_t>(axis);
  return {product(shape, 0, index), shape[index], product(shape, index + 1, shape.size())};
}

// ---------------------------------------------------------------------------------------------
// Reduce*

enum class ReduceOp { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// Where the elements reduced into each output sit. Size-1 dimensions are dropped and neighbouring
// dimensions that are both kept or both reduced are merged, so that reducing the last axes (or
// all of them) becomes one contiguous run per output.
//
// The elements of output o are, for every offset in `run_offsets`:
//   src[base_offset(o) + offset + j * run_stride] for j in [0, run_length).
struct ReductionPlan {
  Shape output_shape;
  int64_t output_count = 1;
  int64_t reduce_count = 1;  // elements per output
  std::vector<int64_t> kept_sizes;
  std::vector<int64_t> kept_strides;
  std::vector<int64_t> run_offsets;
  int64_t run_length = 1;
  int64_t run_stride = 1;

  int64_t base_offset(int64_t output_index) const {
    int64_t offset = 0;
    for (size_t k = kept_sizes.size(); k-- > 0;) {
      offset += (output_index % kept_sizes[k]) * kept_strides[k];
      output_index /= kept_sizes[k];
    }
    return offset;
  }
};

ReductionPlan make_reduction_plan(const Shape& shape, const std::vector<bool>& reduced, bool keepdims) {
  ReductionPlan plan;
  struct MergedDimension {
    int64_t size;
    int64_t stride;
    bool reduced;
  };
  std::vector<MergedDimension> merged;
  const std::vector<int64_t> strides = strides_of(shape);
  for (size_t axis = 0; axis < shape.size(); ++axis) {
    if (reduced[axis]) {
      plan.reduce_count *= shape[axis];
      if (keepdims) plan.output_shape.push_back(1);
    } else {
      plan.output_count *= shape[axis];
      plan.output_shape.push_back(shape[axis]);
    }
    if (shape[axis] == 1) continue;
    // In a row-major layout, merging a dimension into the previous one multiplies its size and
    // keeps the inner stride.
    if (!merged.empty() && merged.back().reduced == reduced[axis]) {
      merged.back().size *= shape[axis];
      merged.back().stride = strides[axis];
    } else {
      merged.push_back({shape[axis], strides[axis], reduced[axis]});
    }
  }

  std::vector<MergedDimension> outer_reduced;
  for (const MergedDimension& dimension : merged) {
    if (!dimension.reduced) {
      plan.kept_sizes.push_back(dimension.size);
      plan.kept_strides.push_back(dimension.stride);
    } else {
      outer_reduced.push_back(dimension);
    }
  }
  if (!outer_reduced.empty()) {
    plan.run_length = outer_reduced.back().size;
    plan.run_stride = outer_reduced.back().stride;
    outer_reduced.pop_back();
  }
  // Offsets of every combination of the other reduced dimensions (an odometer, last one fastest).
  plan.run_offsets = {0};
  for (const MergedDimension& dimension : outer_reduced) {
    std::vector<int64_t> expanded;
    expanded.reserve(plan.run_offsets.size() * static_cast<size_t>(dimension.size));
    for (int64_t offset : plan.run_offsets)
      for (int64_t i = 0; i < dimension.size; ++i) expanded.push_back(offset + i * dimension.stride);
    plan.run_offsets = std::move(expanded);
  }
  return plan;
}

// Calls visit(value) for every element reduced into one output; `base` points at its first.
template <typename T, typename Visit>
void visit_reduced(const ReductionPlan& plan, const T* base, Visit&& visit) {
  for (int64_t offset : plan.run_offsets) {
    const T* run = base + offset;
    if (plan.run_stride == 1) {
      for (int64_t j = 0; j < plan.run_length; ++j) visit(run[j]);
    } else {
      for (int64_t j = 0; j < plan.run_length; ++j) visit(run[j * plan.run_stride]);
    }
  }
}

// Sums and products accumulate in a wider type: double for floating point (a float sum of many
// terms loses digits), 64-bit for integers (which then wrap to T like a T accumulator would).
template <typename T>
using WideOf = std::conditional_t<std::is_floating_point_v<T>, double,
                                  std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

// The reduction of the empty set for Max and Min: the identity element of max / min.
template <typename T>
constexpr T lowest_value() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::lowest();
}
template <typename T>
constexpr T highest_value() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::max();
}

// Reduces the elements of one output.
template <typename T>
T reduce_one(ReduceOp op, const ReductionPlan& plan, const T* base) {
  using Wide = WideOf<T>;
  auto sum_of = [&](auto&& term) {
    Wide sum = 0;
    visit_reduced(plan, base, [&](T value) { sum += term(static_cast<Wide>(value)); });
    return sum;
  };
  auto identity = [](Wide value) { return value; };
  auto square = [](Wide value) { return value * value; };
  switch (op) {
    case ReduceOp::kSum:
      return static_cast<T>(sum_of(identity));
    case ReduceOp::kMean: {
      const Wide sum = sum_of(identity);
      if constexpr (std::is_integral_v<T>) {
        if (plan.reduce_count == 0) return 0;  // integer 0 / 0 would trap; floats give NaN
      }
      return static_cast<T>(sum / static_cast<Wide>(plan.reduce_count));
    }
    case ReduceOp::kSumSquare:
      return static_cast<T>(sum_of(square));
    case ReduceOp::kL1:
      return static_cast<T>(sum_of([](Wide value) {
        if constexpr (std::is_unsigned_v<Wide>) return value;
        else return value < 0 ? -value : value;
      }));
    case ReduceOp::kL2:
      return static_cast<T>(std::sqrt(static_cast<double>(sum_of(square))));
    case ReduceOp::kLogSum:
      return static_cast<T>(std::log(static_cast<double>(sum_of(identity))));
    case ReduceOp::kProd: {
      Wide result = 1;
      visit_reduced(plan, base, [&](T value) { result *= static_cast<Wide>(value); });
      return static_cast<T>(result);
    }
    case ReduceOp::kMax: {
      T result = lowest_value<T>();
      visit_reduced(plan, base, [&](T value) { result = value > result ? value : result; });
      return result;
    }
    case ReduceOp::kMin: {
      T result = highest_value<T>();
      visit_reduced(plan, base, [&](T value) { result = value < result ? value : result; });
      return result;
    }
    case ReduceOp::kLogSumExp: {
      // log(sum(exp(x))) = max + log(sum(exp(x - max))): the shifted exponentials cannot overflow.
      double maximum = -std::numeric_limits<double>::infinity();
      visit_reduced(plan, base, [&](T value) { maximum = std::max(maximum, static_cast<double>(value)); });
      if (std::isinf(maximum)) return static_cast<T>(maximum);  // empty, or an infinite element
      double sum = 0;
      visit_reduced(plan, base, [&](T value) { sum += std::exp(static_cast<double>(value) - maximum); });
      return static_cast<T>(maximum + std::log(sum));
    }
  }
  return T{};
}

// First opset whose Reduce<op> takes axes as an input rather than an attribute.
constexpr int64_t kFirstOpsetWithAxesInputForSum = 13;
constexpr int64_t kFirstOpsetWithAxesInput = 18;

// All Reduce* ops. Attributes: keepdims (default 1), noop_with_empty_axes (default 0), axes (before
// axes became input 1). Empty axes reduce everything unless noop_with_empty_axes is set, in which
// case each element is reduced on its own (ReduceSum returns the input, ReduceSumSquare its square).
class ReduceKernel : public Kernel {
 public:
  ReduceKernel(const KernelCreateInfo& info, ReduceOp op) : op_(op) {
    keepdims_ = info.node.attr_int("keepdims", 1) != 0;
    noop_with_empty_axes_ = info.node.attr_int("noop_with_empty_axes", 0) != 0;
    const int64_t first_opset_with_input =
        op == ReduceOp::kSum ? kFirstOpsetWithAxesInputForSum : kFirstOpsetWithAxesInput;
    axes_from_input_ = info.opset >= first_opset_with_input;
    if (!axes_from_input_) attribute_axes_ = info.node.attr_ints("axes", {});
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    std::vector<int64_t> axes = attribute_axes_;
    if (axes_from_input_) {
      const Tensor* axes_input = context.optional_input(1);
      axes = axes_input ? axes_input->to_int64_vector() : std::vector<int64_t>{};
    }
    const size_t rank = src.shape().size();
    std::vector<bool> reduced(rank, axes.empty() && !noop_with_empty_axes_);
    for (int64_t axis : axes) {
      const size_t index = static_cast<size_t>(normalize_axis(axis, static_cast<int64_t>(rank), "axes"));
      check(!reduced[index], "axes: axis ", axis, " appears twice");
      reduced[index] = true;
    }
    const ReductionPlan plan = make_reduction_plan(src.shape(), reduced, keepdims_);
    Tensor& dst = context.allocate_output(0, src.dtype(), plan.output_shape);
    dispatch_numeric(src.dtype(), "input", [&]<typename T>() {
      const T* src_values = src.data<T>();
      T* dst_values = dst.data<T>();
      context.threads().parallel_for(
          plan.output_count,
          [&](int64_t begin, int64_t end) {
            for (int64_t o = begin; o < end; ++o)
              dst_values[o] = reduce_one<T>(op_, plan, src_values + plan.base_offset(o));
          },
          min_items_per_task(plan.reduce_count));
    });
  }

 private:
  ReduceOp op_;
  bool keepdims_;
  bool noop_with_empty_axes_;
  bool axes_from_input_;
  std::vector<int64_t> attribute_axes_;
};

template <ReduceOp op>
class ReduceOpKernel : public ReduceKernel {
 public:
  explicit ReduceOpKernel(const KernelCreateInfo& info) : ReduceKernel(info, op) {}
};

// ---------------------------------------------------------------------------------------------
// Softmax, LogSoftmax, Hardmax

// Picks if_true or if_false with bit masks rather than a branch: GCC will not turn a float ?: into
// a SIMD blend under the default -ftrapping-math, and that would stop exp_nonpositive vectorizing.
inline float select_float(bool condition, float if_true, float if_false) {
  const int32_t mask = -static_cast<int32_t>(condition);
  return std::bit_cast<float>((std::bit_cast<int32_t>(if_true) & mask) |
                              (std::bit_cast<int32_t>(if_false) & ~mask));
}

// exp(x) for x <= 0, as Softmax needs after subtracting the maximum. Within 2 ulp of the exact value
// (Cephes expf: exp(x) = 2^n * exp(r) with n = round(x / ln 2), |r| <= ln(2) / 2, and a degree-7
// polynomial for exp(r)). Unlike std::exp, a loop over it vectorizes, which makes Softmax on long
// rows about twice as fast. Below ln(FLT_MIN) it returns 0 rather than a denormal; NaN stays NaN.
inline float exp_nonpositive(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 split in two so that n * kLn2High is exact for the n that occur.
  constexpr float kLn2High = 0.693359375f;
  constexpr float kLn2Low = -2.12194440e-4f;
  constexpr float kMinArgument = -87.3365448f;  // ln(FLT_MIN): 2^n stays a normal float above it
  constexpr int32_t kExponentBias = 127;
  constexpr int kMantissaBits = 23;
  const bool in_range = x >= kMinArgument;
  const float clamped = select_float(in_range, x, kMinArgument);
  const float n = round_half_to_even_bounded(clamped * kLog2e);  // |n| <= 126: well inside its bound
  const float r = (clamped - n * kLn2High) - n * kLn2Low;
  float polynomial = 1.9875691500e-4f;
  polynomial = polynomial * r + 1.3981999507e-3f;
  polynomial = polynomial * r + 8.3334519073e-3f;
  polynomial = polynomial * r + 4.1665795894e-2f;
  polynomial = polynomial * r + 1.6666665459e-1f;
  polynomial = polynomial * r + 5.0000001201e-1f;
  polynomial = polynomial * r * r + r + 1.0f;
  const float power_of_two = std::bit_cast<float>((static_cast<int32_t>(n) + kExponentBias) << kMantissaBits);
  const float result = polynomial * power_of_two;
  return select_float(in_range, result, select_float(x != x, x, 0.0f));
}

inline float exp_nonpositive_of(float x) { return exp_nonpositive(x); }
inline double exp_nonpositive_of(double x) { return std::exp(x); }

// Sum and maximum of a row with independent partial results per lane, so that the compiler can
// keep them in SIMD registers (a single accumulator is a serial dependency chain).
constexpr int64_t kPartialLanes = 8;

template <typename T>
T row_sum(const T* values, int64_t count) {
  T partial[kPartialLanes] = {};
  int64_t i = 0;
  for (; i + kPartialLanes <= count; i += kPartialLanes)
    for (int64_t lane = 0; lane < kPartialLanes; ++lane) partial[lane] += values[i + lane];
  T sum = 0;
  for (; i < count; ++i) sum += values[i];
  for (int64_t lane = 0; lane < kPartialLanes; ++lane) sum += partial[lane];
  return sum;
}

// NaN is ignored unless it is the first element; the caller's result then turns NaN anyway
// through x - max.
template <typename T>
T row_max(const T* values, int64_t count) {
  T partial[kPartialLanes];
  std::fill(partial, partial + kPartialLanes, values[0]);
  int64_t i = 0;
  for (; i + kPartialLanes <= count; i += kPartialLanes)
    for (int64_t lane = 0; lane < kPartialLanes; ++lane)
      partial[lane] = values[i + lane] > partial[lane] ? values[i + lane] : partial[lane];
  T maximum = values[0];
  for (; i < count; ++i) maximum = values[i] > maximum ? values[i] : maximum;
  for (int64_t lane = 0; lane < kPartialLanes; ++lane) maximum = partial[lane] > maximum ? partial[lane] : maximum;
  return maximum;
}

enum class SoftmaxOp { kSoftmax, kLogSoftmax, kHardmax };

// Softmax over a contiguous row: exp(x - max) / sum.
template <typename T>
void softmax_row(SoftmaxOp op, const T* src, T* dst, int64_t length) {
  if (op == SoftmaxOp::kHardmax) {
    std::fill(dst, dst + length, T{0});
    dst[std::max_element(src, src + length) - src] = 1;  // the first maximum wins
    return;
  }
  const T maximum = row_max(src, length);
  for (int64_t i = 0; i < length; ++i) dst[i] = exp_nonpositive_of(src[i] - maximum);
  const T sum = row_sum(dst, length);
  if (op == SoftmaxOp::kSoftmax) {
    const T inverse_sum = 1 / sum;
    for (int64_t i = 0; i < length; ++i) dst[i] *= inverse_sum;
  } else {
    const T log_sum = std::log(sum);
    for (int64_t i = 0; i < length; ++i) dst[i] = (src[i] - maximum) - log_sum;
  }
}

// Softmax along the middle axis of an [length, inner] block: each of the `inner` columns is one
// softmax. Works row by row across columns so that memory is read in order.
template <typename T>
void softmax_columns(SoftmaxOp op, const T* src, T* dst, int64_t length, int64_t inner, std::vector<T>& maxima,
                     std::vector<T>& sums) {
  maxima.assign(src, src + inner);
  std::vector<int64_t> argmax(op == SoftmaxOp::kHardmax ? inner : 0, 0);
  for (int64_t l = 1; l < length; ++l) {
    const T* row = src + l * inner;
    for (int64_t i = 0; i < inner; ++i) {
      if (op == SoftmaxOp::kHardmax && row[i] > maxima[i]) argmax[i] = l;
      maxima[i] = row[i] > maxima[i] ? row[i] : maxima[i];
    }
  }
  if (op == SoftmaxOp::kHardmax) {
    std::fill(dst, dst + length * inner, T{0});
    for (int64_t i = 0; i < inner; ++i) dst[argmax[i] * inner + i] = 1;
    return;
  }
  sums.assign(inner, T{0});
  for (int64_t l = 0; l < length; ++l) {
    for (int64_t i = 0; i < inner; ++i) {
      dst[l * inner + i] = exp_nonpositive_of(src[l * inner + i] - maxima[i]);
      sums[i] += dst[l * inner + i];
    }
  }
  if (op == SoftmaxOp::kSoftmax) {
    for (int64_t i = 0; i < inner; ++i) sums[i] = 1 / sums[i];
    for (int64_t l = 0; l < length; ++l)
      for (int64_t i = 0; i < inner; ++i) dst[l * inner + i] *= sums[i];
  } else {
    for (int64_t i = 0; i < inner; ++i) sums[i] = std::log(sums[i]);
    for (int64_t l = 0; l < length; ++l)
      for (int64_t i = 0; i < inner; ++i) dst[l * inner + i] = (src[l * inner + i] - maxima[i]) - sums[i];
  }
}

// Opset 13 changed Softmax, LogSoftmax and Hardmax from "flatten to 2-D at axis (default 1)" to
// "along one axis (default -1)".
constexpr int64_t kFirstOpsetWithSingleAxisSoftmax = 13;

class SoftmaxKernel : public Kernel {
 public:
  SoftmaxKernel(const KernelCreateInfo& info, SoftmaxOp op) : op_(op) {
    single_axis_ = info.opset >= kFirstOpsetWithSingleAxisSoftmax;
    axis_ = info.node.attr_int("axis", single_axis_ ? -1 : 1);
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Shape& shape = src.shape();
    const int64_t rank = src.rank();
    AxisLayout layout;
    if (single_axis_) {
      layout = layout_around_axis(shape, normalize_axis(axis_, rank, "attribute 'axis'"));
    } else {
      // Coerced to [prod(shape[:axis]), prod(shape[axis:])]; axis may equal the rank.
      check(axis_ >= -rank && axis_ <= rank, "attribute 'axis': ", axis_, " is out of range for rank ", rank);
      const size_t split = static_cast<size_t>(axis_ < 0 ? axis_ + rank : axis_);
      layout = {product(shape, 0, split), product(shape, split, shape.size()), 1};
    }
    Tensor& dst = context.allocate_output(0, src.dtype(), shape);
    if (src.element_count() == 0) return;
    switch (src.dtype()) {
      case DataType::kFloat: run_typed<float>(context, src, dst, layout); return;
      case DataType::kDouble: run_typed<double>(context, src, dst, layout); return;
      default: throw UnsupportedError(concat("input type ", dtype_name(src.dtype()), " is not supported"));
    }
  }

 private:
  template <typename T>
  void run_typed(KernelContext& context, const Tensor& src, Tensor& dst, const AxisLayout& layout) const {
    const T* src_values = src.data<T>();
    T* dst_values = dst.data<T>();
    const int64_t block = layout.length * layout.inner;
    context.threads().parallel_for(
        layout.outer,
        [&](int64_t begin, int64_t end) {
          std::vector<T> maxima;
          std::vector<T> sums;
          for (int64_t o = begin; o < end; ++o) {
            if (layout.inner == 1) {
              softmax_row(op_, src_values + o * block, dst_values + o * block, layout.length);
            } else {
              softmax_columns(op_, src_values + o * block, dst_values + o * block, layout.length, layout.inner,
                              maxima, sums);
            }
          }
        },
        min_items_per_task(block));
  }

  SoftmaxOp op_;
  bool single_axis_;
  int64_t axis_;
};

template <SoftmaxOp op>
class SoftmaxOpKernel : public SoftmaxKernel {
 public:
  explicit SoftmaxOpKernel(const KernelCreateInfo& info) : SoftmaxKernel(info, op) {}
};

// ---------------------------------------------------------------------------------------------
// ArgMax, ArgMin

// Index of the maximum (or minimum) along `axis` as int64. Ties go to the first index, or the last
// with select_last_index = 1.
class ArgExtremumKernel : public Kernel {
 public:
  ArgExtremumKernel(const KernelCreateInfo& info, bool find_max) : find_max_(find_max) {
    axis_ = info.node.attr_int("axis", 0);
    keepdims_ = info.node.attr_int("keepdims", 1) != 0;
    select_last_index_ = info.node.attr_int("select_last_index", 0) != 0;
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const int64_t axis = normalize_axis(axis_, src.rank(), "attribute 'axis'");
    const AxisLayout layout = layout_around_axis(src.shape(), axis);
    check(layout.length > 0, "cannot take the ", find_max_ ? "ArgMax" : "ArgMin", " of an empty axis");
    Shape dst_shape = src.shape();
    if (keepdims_) {
      dst_shape[static_cast<size_t>(axis)] = 1;
    } else {
      dst_shape.erase(dst_shape.begin() + axis);
    }
    int64_t* dst = context.allocate_output(0, DataType::kInt64, dst_shape).data<int64_t>();
    dispatch_numeric(src.dtype(), "input", [&]<typename T>() {
      const T* src_values = src.data<T>();
      // `better(candidate, best)`: whether the candidate replaces the best so far. Accepting equal
      // values makes the last of equal extrema win.
      auto better = [&](T candidate, T best) {
        if (select_last_index_) return find_max_ ? candidate >= best : candidate <= best;
        return find_max_ ? candidate > best : candidate < best;
      };
      context.threads().parallel_for(
          layout.outer * layout.inner,
          [&](int64_t begin, int64_t end) {
            for (int64_t column = begin; column < end; ++column) {
              const T* start = src_values + (column / layout.inner) * layout.length * layout.inner +
                               column % layout.inner;
              T best = start[0];
              int64_t best_index = 0;
              for (int64_t l = 1; l < layout.length; ++l) {
                if (better(start[l * layout.inner], best)) {
                  best = start[l * layout.inner];
                  best_index = l;
                }
              }
              dst[column] = best_index;
            }
          },
          min_items_per_task(layout.length));
    });
  }

 private:
  bool find_max_;
  int64_t axis_;
  bool keepdims_;
  bool select_last_index_;
};

class ArgMaxKernel : public ArgExtremumKernel {
 public:
  explicit ArgMaxKernel(const KernelCreateInfo& info) : ArgExtremumKernel(info, true) {}
};
class ArgMinKernel : public ArgExtremumKernel {
 public:
  explicit ArgMinKernel(const KernelCreateInfo& info) : ArgExtremumKernel(info, false) {}
};

// ---------------------------------------------------------------------------------------------
// TopK

// Opset 10 moved k from an attribute to input 1.
constexpr int64_t kFirstOpsetWithKInput = 10;

// The k largest (or smallest) elements along `axis` with their int64 indices, in sorted order
// (also when sorted = 0, which leaves the order unspecified). Equal values keep index order.
class TopKKernel : public Kernel {
 public:
  explicit TopKKernel(const KernelCreateInfo& info) {
    axis_ = info.node.attr_int("axis", -1);
    largest_ = info.node.attr_int("largest", 1) != 0;
    k_from_input_ = info.opset >= kFirstOpsetWithKInput;
    if (!k_from_input_) attribute_k_ = info.node.attr_int("k");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const int64_t axis = normalize_axis(axis_, src.rank(), "attribute 'axis'");
    int64_t k = attribute_k_;
    if (k_from_input_) {
      const Tensor& k_tensor = context.input(1);
      check(k_tensor.element_count() == 1, "K must hold one value, got shape ", shape_to_string(k_tensor.shape()));
      k = k_tensor.value_as_int64(0);
    }
    const AxisLayout layout = layout_around_axis(src.shape(), axis);
    check(k >= 0 && k <= layout.length, "K = ", k, " is out of range for axis ", axis, " of size ", layout.length);
    Shape dst_shape = src.shape();
    dst_shape[static_cast<size_t>(axis)] = k;
    Tensor& values = context.allocate_output(0, src.dtype(), dst_shape);
    Tensor* indices = context.output_requested(1) ? &context.allocate_output(1, DataType::kInt64, dst_shape) : nullptr;
    dispatch_numeric(src.dtype(), "input", [&]<typename T>() {
      run_typed<T>(context, src.data<T>(), values.data<T>(), indices ? indices->data<int64_t>() : nullptr, layout,
                   k);
    });
  }

 private:
  template <typename T>
  void run_typed(KernelContext& context, const T* src, T* values, int64_t* indices, const AxisLayout& layout,
                 int64_t k) const {
    // A strict weak order even with NaN, which counts as larger than any number (as in NumPy's sort).
    auto greater = [](T a, T b) {
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a)) return !std::isnan(b);
        if (std::isnan(b)) return false;
      }
      return a > b;
    };
    const bool largest = largest_;
    auto comes_first = [&](int64_t a_index, int64_t b_index, const T* column) {
      const T a = column[a_index * layout.inner];
      const T b = column[b_index * layout.inner];
      if (largest ? greater(a, b) : greater(b, a)) return true;
      if (largest ? greater(b, a) : greater(a, b)) return false;
      return a_index < b_index;
    };
    context.threads().parallel_for(
        layout.outer * layout.inner,
        [&](int64_t begin, int64_t end) {
          std::vector<int64_t> order(static_cast<size_t>(layout.length));
          for (int64_t column = begin; column < end; ++column) {
            const int64_t outer = column / layout.inner;
            const int64_t inner = column % layout.inner;
            const T* src_column = src + outer * layout.length * layout.inner + inner;
            for (int64_t l = 0; l < layout.length; ++l) order[static_cast<size_t>(l)] = l;
            std::partial_sort(order.begin(), order.begin() + k, order.end(),
                              [&](int64_t a, int64_t b) { return comes_first(a, b, src_column); });
            const int64_t dst_start = outer * k * layout.inner + inner;
            for (int64_t j = 0; j < k; ++j) {
              const int64_t dst_index = dst_start + j * layout.inner;
              values[dst_index] = src_column[order[static_cast<size_t>(j)] * layout.inner];
              if (indices) indices[dst_index] = order[static_cast<size_t>(j)];
            }
          }
        },
        min_items_per_task(layout.length));
  }

  int64_t axis_;
  bool largest_;
  bool k_from_input_;
  int64_t attribute_k_ = 0;
};

}  // namespace

void register_reduce_kernels(KernelRegistry& registry) {
  register_reference<ReduceOpKernel<ReduceOp::kSum>>(registry, "ReduceSum");
  register_reference<ReduceOpKernel<ReduceOp::kMean>>(registry, "ReduceMean");
  register_reference<ReduceOpKernel<ReduceOp::kMax>>(registry, "ReduceMax");
  register_reference<ReduceOpKernel<ReduceOp::kMin>>(registry, "ReduceMin");
  register_reference<ReduceOpKernel<ReduceOp::kProd>>(registry, "ReduceProd");
  register_reference<ReduceOpKernel<ReduceOp::kL1>>(registry, "ReduceL1");
  register_reference<ReduceOpKernel<ReduceOp::kL2>>(registry, "ReduceL2");
  register_reference<ReduceOpKernel<ReduceOp::kLogSum>>(registry, "ReduceLogSum");
  register_reference<ReduceOpKernel<ReduceOp::kLogSumExp>>(registry, "ReduceLogSumExp");
  register_reference<ReduceOpKernel<ReduceOp::kSumSquare>>(registry, "ReduceSumSquare");
  register_reference<SoftmaxOpKernel<SoftmaxOp::kSoftmax>>(registry, "Softmax");
  register_reference<SoftmaxOpKernel<SoftmaxOp::kLogSoftmax>>(registry, "LogSoftmax");
  register_reference<SoftmaxOpKernel<SoftmaxOp::kHardmax>>(registry, "Hardmax");
  register_reference<ArgMaxKernel>(registry, "ArgMax");
  register_reference<ArgMinKernel>(registry, "ArgMin");
  register_reference<TopKKernel>(registry, "TopK");
}

}  // namespace octet
