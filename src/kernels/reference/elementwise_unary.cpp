// One-input elementwise ops: math functions, activations, Clip, IsNaN/IsInf, Not.
//
// Each op is a small function object (optionally built from the node's attributes) applied by one
// of a few kernel templates that differ in the types they accept. float16 and bfloat16 are
// computed in float and rounded back.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/reference/elementwise_common.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// Output 0 with the shape and layout of `src` (elementwise ops do not care about the layout).
Tensor& allocate_like(KernelContext& context, const Tensor& src, DataType dtype) {
  Tensor& dst = context.allocate_output(0, dtype, src.shape());
  dst.set_layout(src.layout());
  return dst;
}

// y = op(x) for float and double x.
template <typename Op>
class FloatUnaryKernel : public Kernel {
 public:
  explicit FloatUnaryKernel(const KernelCreateInfo& info) : op_(make_op<Op>(info.node)) {}

  bool accepts_channels_last() const override { return true; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    if (is_16bit_float(src.dtype())) {
      run_in_float(context, src.dtype(), [this](KernelContext& float_context) { run(float_context); });
      return;
    }
    Tensor& dst = allocate_like(context, src, src.dtype());
    dispatch_floating(src.dtype(), "input", [&]<typename T>() { map_elements<T, T>(src, dst, context.threads(), op_); });
  }

 private:
  Op op_;
};

// y = op(x) for floating-point and integer x.
template <typename Op>
class NumericUnaryKernel : public Kernel {
 public:
  explicit NumericUnaryKernel(const KernelCreateInfo& info) : op_(make_op<Op>(info.node)) {}

  bool accepts_channels_last() const override { return true; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    if (is_16bit_float(src.dtype())) {
      run_in_float(context, src.dtype(), [this](KernelContext& float_context) { run(float_context); });
      return;
    }
    Tensor& dst = allocate_like(context, src, src.dtype());
    dispatch_numeric(src.dtype(), "input", [&]<typename T>() { map_elements<T, T>(src, dst, context.threads(), op_); });
  }

 private:
  Op op_;
};

// y = op(x) as bool, for floating-point x.
template <typename Op>
class FloatPredicateKernel : public Kernel {
 public:
  explicit FloatPredicateKernel(const KernelCreateInfo& info) : op_(make_op<Op>(info.node)) {}

  bool accepts_channels_last() const override { return true; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    if (is_16bit_float(src.dtype())) {
      run_in_float(context, src.dtype(), [this](KernelContext& float_context) { run(float_context); });
      return;
    }
    Tensor& dst = allocate_like(context, src, DataType::kBool);
    dispatch_floating(src.dtype(), "input", [&]<typename T>() { map_elements<T, bool>(src, dst, context.threads(), op_); });
  }

 private:
  Op op_;
};

// min(max(x, low), high), keeping NaN (std::clamp would be undefined for it).
template <typename T>
T clamp_keeping_nan(T value, T low, T high) {
  if (value < low) return low;
  if (value > high) return high;
  return value;
}

// ---- Math functions ----------------------------------------------------------------------------

struct AbsOp {
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      return std::fabs(x);
    } else if constexpr (std::is_unsigned_v<T>) {
      return x;
    } else {
      return x < 0 ? wrapping_negate(x) : x;
    }
  }
};
struct NegOp {
  template <typename T>
  T operator()(T x) const { return wrapping_negate(x); }
};
struct SignOp {
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      return x > 0 ? T(1) : x < 0 ? T(-1) : x;  // zero and NaN map to themselves
    } else {
      return static_cast<T>((x > 0) - (x < 0));
    }
  }
};

struct SqrtOp { template <typename T> T operator()(T x) const { return std::sqrt(x); } };
struct ExpOp { template <typename T> T operator()(T x) const { return std::exp(x); } };
struct LogOp { template <typename T> T operator()(T x) const { return std::log(x); } };
struct ErfOp { template <typename T> T operator()(T x) const { return std::erf(x); } };
struct TanhOp { template <typename T> T operator()(T x) const { return std::tanh(x); } };
struct ReciprocalOp { template <typename T> T operator()(T x) const { return T(1) / x; } };
struct FloorOp { template <typename T> T operator()(T x) const { return std::floor(x); } };
struct CeilOp { template <typename T> T operator()(T x) const { return std::ceil(x); } };
// The default floating-point environment rounds to nearest, ties to even, as Round requires.
struct RoundOp { template <typename T> T operator()(T x) const { return std::nearbyint(x); } };
struct SinOp { template <typename T> T operator()(T x) const { return std::sin(x); } };
struct CosOp { template <typename T> T operator()(T x) const { return std::cos(x); } };
struct TanOp { template <typename T> T operator()(T x) const { return std::tan(x); } };
struct AsinOp { template <typename T> T operator()(T x) const { return std::asin(x); } };
struct AcosOp { template <typename T> T operator()(T x) const { return std::acos(x); } };
struct AtanOp { template <typename T> T operator()(T x) const { return std::atan(x); } };
struct SinhOp { template <typename T> T operator()(T x) const { return std::sinh(x); } };
struct CoshOp { template <typename T> T operator()(T x) const { return std::cosh(x); } };
struct AsinhOp { template <typename T> T operator()(T x) const { return std::asinh(x); } };
struct AcoshOp { template <typename T> T operator()(T x) const { return std::acosh(x); } };
struct AtanhOp { template <typename T> T operator()(T x) const { return std::atanh(x); } };
struct SoftsignOp { template <typename T> T operator()(T x) const { return x / (T(1) + std::fabs(x)); } };

// 1 / (1 + e^-x), written with e^-|x| so that it neither overflows nor loses precision for x << 0.
struct SigmoidOp {
  template <typename T>
  T operator()(T x) const {
    const T exp_negative_magnitude = std::exp(-std::fabs(x));
    return (x >= 0 ? T(1) : exp_negative_magnitude) / (T(1) + exp_negative_magnitude);
  }
};
// log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), which does not overflow for large x.
struct SoftplusOp {
  template <typename T>
  T operator()(T x) const {
    return std::max(x, T(0)) + std::log1p(std::exp(-std::fabs(x)));
  }
};
// x * tanh(softplus(x)).
struct MishOp {
  template <typename T>
  T operator()(T x) const {
    return x * std::tanh(SoftplusOp{}(x));
  }
};

struct IsNaNOp {
  template <typename T>
  bool operator()(T x) const { return std::isnan(x); }
};
struct IsInfOp {
  bool detect_positive;
  bool detect_negative;
  explicit IsInfOp(const Node& node)
      : detect_positive(node.attr_int("detect_positive", 1) != 0),
        detect_negative(node.attr_int("detect_negative", 1) != 0) {}
  template <typename T>
  bool operator()(T x) const {
    return (detect_positive && x == std::numeric_limits<T>::infinity()) ||
           (detect_negative && x == -std::numeric_limits<T>::infinity());
  }
};

// ---- Activations -------------------------------------------------------------------------------

struct ReluOp {
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) {
      return x;
    } else {
      return x < T(0) ? T(0) : x;  // NaN stays NaN
    }
  }
};
struct LeakyReluOp {
  float alpha;
  explicit LeakyReluOp(const Node& node) : alpha(node.attr_float("alpha", 0.01f)) {}
  template <typename T>
  T operator()(T x) const { return x < 0 ? T(alpha) * x : x; }
};
struct EluOp {
  float alpha;
  explicit EluOp(const Node& node) : alpha(node.attr_float("alpha", 1.0f)) {}
  template <typename T>
  T operator()(T x) const { return x < 0 ? T(alpha) * std::expm1(x) : x; }
};
struct SeluOp {
  // The defaults are the constants of the SELU paper, as float32 (the ONNX spec's values).
  float alpha;
  float gamma;
  explicit SeluOp(const Node& node)
      : alpha(node.attr_float("alpha", 1.67326319217681884765625f)),
        gamma(node.attr_float("gamma", 1.05070102214813232421875f)) {}
  template <typename T>
  T operator()(T x) const { return x > 0 ? T(gamma) * x : T(gamma) * T(alpha) * std::expm1(x); }
};
struct CeluOp {
  float alpha;
  explicit CeluOp(const Node& node) : alpha(node.attr_float("alpha", 1.0f)) {
    check(alpha != 0.0f, "attribute 'alpha' must not be 0");
  }
  template <typename T>
  T operator()(T x) const {
    return std::max(T(0), x) + std::min(T(0), T(alpha) * std::expm1(x / T(alpha)));
  }
};
struct ThresholdedReluOp {
  float alpha;
  explicit ThresholdedReluOp(const Node& node) : alpha(node.attr_float("alpha", 1.0f)) {}
  template <typename T>
  T operator()(T x) const { return x > T(alpha) ? x : T(0); }
};
struct HardSigmoidOp {
  float alpha;
  float beta;
  explicit HardSigmoidOp(const Node& node) : alpha(node.attr_float("alpha", 0.2f)), beta(node.attr_float("beta", 0.5f)) {}
  template <typename T>
  T operator()(T x) const { return clamp_keeping_nan(T(alpha) * x + T(beta), T(0), T(1)); }
};
// x * HardSigmoid(x) with alpha = 1/6 and beta = 1/2 (fixed by the spec).
struct HardSwishOp {
  template <typename T>
  T operator()(T x) const { return x * clamp_keeping_nan(x / T(6) + T(0.5), T(0), T(1)); }
};
// x < -lambd: x + bias; x > lambd: x - bias; otherwise 0. Integer inputs are computed in double.
struct ShrinkOp {
  float bias;
  float lambd;
  explicit ShrinkOp(const Node& node) : bias(node.attr_float("bias", 0.0f)), lambd(node.attr_float("lambd", 0.5f)) {}
  template <typename T>
  T operator()(T x) const {
    using Compute = std::conditional_t<std::is_floating_point_v<T>, T, double>;
    const Compute value = static_cast<Compute>(x);
    if (value < -Compute(lambd)) return static_cast<T>(value + Compute(bias));
    if (value > Compute(lambd)) return static_cast<T>(value - Compute(bias));
    return T(0);
  }
};

// Clip: min(max(x, min), max). Opset < 11 takes the bounds from float attributes (float types only);
// later opsets from optional scalar inputs 1 and 2 of x's type. A missing bound is no bound.
// When min > max every element becomes max, as the spec says.
class ClipKernel : public Kernel {
 public:
  explicit ClipKernel(const KernelCreateInfo& info) : bounds_from_attributes_(info.opset < 11) {
    if (bounds_from_attributes_) {
      min_attribute_ = info.node.attr_float("min", std::numeric_limits<float>::lowest());
      max_attribute_ = info.node.attr_float("max", std::numeric_limits<float>::max());
    }
  }

  bool accepts_channels_last() const override { return true; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    if (is_16bit_float(src.dtype())) {
      run_in_float(context, src.dtype(), [this](KernelContext& float_context) { run(float_context); });
      return;
    }
    Tensor& dst = allocate_like(context, src, src.dtype());
    if (bounds_from_attributes_) {
      dispatch_floating(src.dtype(), "input", [&]<typename T>() {
        clip<T>(src, dst, context.threads(), T(min_attribute_), T(max_attribute_));
      });
      return;
    }
    dispatch_numeric(src.dtype(), "input", [&]<typename T>() {
      const T low = read_bound<T>(context.optional_input(1), src.dtype(), "min", std::numeric_limits<T>::lowest());
      const T high = read_bound<T>(context.optional_input(2), src.dtype(), "max", std::numeric_limits<T>::max());
      clip<T>(src, dst, context.threads(), low, high);
    });
  }

 private:
  template <typename T>
  static T read_bound(const Tensor* bound, DataType dtype, const char* name, T fallback) {
    if (bound == nullptr) return fallback;
    check(bound->dtype() == dtype, "input '", name, "' has type ", dtype_name(bound->dtype()), ", input has ",
          dtype_name(dtype));
    check(bound->element_count() == 1, "input '", name, "' must be a scalar, has shape ",
          shape_to_string(bound->shape()));
    return static_cast<const T*>(bound->raw_data())[0];
  }

  template <typename T>
  static void clip(const Tensor& src, Tensor& dst, ThreadPool& threads, T low, T high) {
    if (low > high) low = high;
    map_elements<T, T>(src, dst, threads, [low, high](T x) { return clamp_keeping_nan(x, low, high); });
  }

  bool bounds_from_attributes_;
  float min_attribute_ = 0;
  float max_attribute_ = 0;
};

// Not: logical negation of a bool tensor.
class NotKernel : public Kernel {
 public:
  explicit NotKernel(const KernelCreateInfo& info) {}

  bool accepts_channels_last() const override { return true; }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    if (src.dtype() != DataType::kBool) throw UnsupportedError(concat("input: type ", dtype_name(src.dtype()), " is not supported"));
    Tensor& dst = allocate_like(context, src, DataType::kBool);
    map_elements<bool, bool>(src, dst, context.threads(), [](bool x) { return !x; });
  }
};

}  // namespace

void register_elementwise_unary_kernels(KernelRegistry& registry) {
  register_reference<NumericUnaryKernel<AbsOp>>(registry, "Abs");
  register_reference<NumericUnaryKernel<NegOp>>(registry, "Neg");
  register_reference<NumericUnaryKernel<SignOp>>(registry, "Sign");
  register_reference<FloatUnaryKernel<SqrtOp>>(registry, "Sqrt");
  register_reference<FloatUnaryKernel<ExpOp>>(registry, "Exp");
  register_reference<FloatUnaryKernel<LogOp>>(registry, "Log");
  register_reference<FloatUnaryKernel<ErfOp>>(registry, "Erf");
  register_reference<FloatUnaryKernel<TanhOp>>(registry, "Tanh");
  register_reference<FloatUnaryKernel<SigmoidOp>>(registry, "Sigmoid");
  register_reference<FloatUnaryKernel<ReciprocalOp>>(registry, "Reciprocal");
  register_reference<FloatUnaryKernel<FloorOp>>(registry, "Floor");
  register_reference<FloatUnaryKernel<CeilOp>>(registry, "Ceil");
  register_reference<FloatUnaryKernel<RoundOp>>(registry, "Round");
  register_reference<FloatUnaryKernel<SinOp>>(registry, "Sin");
  register_reference<FloatUnaryKernel<CosOp>>(registry, "Cos");
  register_reference<FloatUnaryKernel<TanOp>>(registry, "Tan");
  register_reference<FloatUnaryKernel<AsinOp>>(registry, "Asin");
  register_reference<FloatUnaryKernel<AcosOp>>(registry, "Acos");
  register_reference<FloatUnaryKernel<AtanOp>>(registry, "Atan");
  register_reference<FloatUnaryKernel<SinhOp>>(registry, "Sinh");
  register_reference<FloatUnaryKernel<CoshOp>>(registry, "Cosh");
  register_reference<FloatUnaryKernel<AsinhOp>>(registry, "Asinh");
  register_reference<FloatUnaryKernel<AcoshOp>>(registry, "Acosh");
  register_reference<FloatUnaryKernel<AtanhOp>>(registry, "Atanh");
  register_reference<FloatUnaryKernel<SoftplusOp>>(registry, "Softplus");
  register_reference<FloatUnaryKernel<SoftsignOp>>(registry, "Softsign");
  register_reference<FloatUnaryKernel<MishOp>>(registry, "Mish");
  register_reference<FloatPredicateKernel<IsNaNOp>>(registry, "IsNaN");
  register_reference<FloatPredicateKernel<IsInfOp>>(registry, "IsInf");
  register_reference<NotKernel>(registry, "Not");

  register_reference<NumericUnaryKernel<ReluOp>>(registry, "Relu");
  register_reference<FloatUnaryKernel<LeakyReluOp>>(registry, "LeakyRelu");
  register_reference<FloatUnaryKernel<EluOp>>(registry, "Elu");
  register_reference<FloatUnaryKernel<SeluOp>>(registry, "Selu");
  register_reference<FloatUnaryKernel<CeluOp>>(registry, "Celu");
  register_reference<FloatUnaryKernel<ThresholdedReluOp>>(registry, "ThresholdedRelu");
  register_reference<FloatUnaryKernel<HardSigmoidOp>>(registry, "HardSigmoid");
  register_reference<FloatUnaryKernel<HardSwishOp>>(registry, "HardSwish");
  register_reference<NumericUnaryKernel<ShrinkOp>>(registry, "Shrink");
  register_reference<ClipKernel>(registry, "Clip");
}

}  // namespace octet
