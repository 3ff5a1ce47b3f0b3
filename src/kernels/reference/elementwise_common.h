// Pieces shared by the elementwise reference kernels (elementwise_*.cpp): value conversion as Cast
// defines it, computing 16-bit floats through float, and the flat parallel loop.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>

#include "core/float16.h"
#include "core/thread_pool.h"
#include "kernels/kernel.h"
#include "kernels/reference/kernel_util.h"
#include "octet/tensor.h"

namespace octet {

// Elements per parallel task. An elementwise pass over fewer than two tasks' worth (64K elements)
// takes a few microseconds, less than waking the pool's workers, so it stays on the caller.
inline constexpr int64_t kElementsPerTask = 32 * 1024;

void register_elementwise_unary_kernels(KernelRegistry& registry);   // elementwise_unary.cpp
void register_elementwise_binary_kernels(KernelRegistry& registry);  // elementwise_binary.cpp
void register_elementwise_cast_kernels(KernelRegistry& registry);    // elementwise_cast.cpp

inline bool is_16bit_float(DataType dtype) { return dtype == DataType::kFloat16 || dtype == DataType::kBfloat16; }

// dispatch_numeric plus bool (for Equal, Where's condition...).
template <typename Function>
void dispatch_numeric_or_bool(DataType dtype, const std::string& what, Function&& function) {
  if (dtype == DataType::kBool) {
    function.template operator()<bool>();
    return;
  }
  dispatch_numeric(dtype, what, std::forward<Function>(function));
}

// Every type Cast converts between: the numeric types, bool, float16 and bfloat16.
template <typename Function>
void dispatch_castable(DataType dtype, const std::string& what, Function&& function) {
  switch (dtype) {
    case DataType::kFloat16: function.template operator()<Float16>(); return;
    case DataType::kBfloat16: function.template operator()<Bfloat16>(); return;
    default: dispatch_numeric_or_bool(dtype, what, std::forward<Function>(function));
  }
}

// Rounds a double to float so that a second rounding to a narrower format (float16, bfloat16)
// gives the correctly rounded result: "round to odd" keeps an inexact result's lowest bit set, so
// it can never look like an exact tie to the second rounding.
inline float double_to_float_round_to_odd(double value) {
  float rounded = static_cast<float>(value);
  if (std::isnan(value) || static_cast<double>(rounded) == value) return rounded;
  if (std::fabs(static_cast<double>(rounded)) > std::fabs(value)) rounded = std::nextafter(rounded, 0.0f);
  uint32_t bits;
  std::memcpy(&bits, &rounded, sizeof(bits));
  bits |= 1u;
  std::memcpy(&rounded, &bits, sizeof(bits));
  return rounded;
}

// Float to integer as Cast does it: truncation toward zero. C++ leaves NaN and out-of-range values
// undefined (x86 yields INT_MIN); octet defines them: NaN gives 0, out-of-range values saturate.
template <typename Integer, typename Floating>
Integer float_to_integer(Floating value) {
  if (std::isnan(value)) return 0;
  const Floating truncated = std::trunc(value);
  constexpr Integer lowest = std::numeric_limits<Integer>::lowest();
  constexpr Integer highest = std::numeric_limits<Integer>::max();
  // Both limits convert exactly or round up to a power of two, so the comparisons are safe.
  if (truncated <= static_cast<Floating>(lowest)) return lowest;
  if (truncated >= static_cast<Floating>(highest)) return highest;
  return static_cast<Integer>(truncated);
}

// One element converted as ONNX Cast defines it. Every path rounds once: 16-bit floats widen
// exactly to float; narrowing to them goes through float with round-to-odd when the source is wider.
template <typename Dst, typename Src>
Dst convert_value(Src value) {
  if constexpr (std::is_same_v<Src, Float16>) {
    return convert_value<Dst>(half_to_float(value));
  } else if constexpr (std::is_same_v<Src, Bfloat16>) {
    return convert_value<Dst>(bfloat16_to_float(value));
  } else if constexpr (std::is_same_v<Dst, Float16> || std::is_same_v<Dst, Bfloat16>) {
    float as_float;
    if constexpr (std::is_same_v<Src, float>) {
      as_float = value;
    } else {
      as_float = double_to_float_round_to_odd(static_cast<double>(value));
    }
    if constexpr (std::is_same_v<Dst, Float16>) {
      return float_to_half(as_float);
    } else {
      return float_to_bfloat16(as_float);
    }
  } else if constexpr (std::is_same_v<Dst, bool>) {
    return value != 0;  // NaN is true, as in C and numpy
  } else if constexpr (std::is_floating_point_v<Dst>) {
    return static_cast<Dst>(value);
  } else if constexpr (std::is_floating_point_v<Src>) {
    return float_to_integer<Dst>(value);
  } else {
    return static_cast<Dst>(value);  // integer to integer wraps modulo 2^bits (defined since C++20)
  }
}

// The function object of an op: built from the node when it has attributes, default-constructed
// otherwise.
template <typename Op>
Op make_op(const Node& node) {
  if constexpr (std::is_constructible_v<Op, const Node&>) {
    return Op(node);
  } else {
    return Op{};
  }
}

// Integer arithmetic that wraps modulo 2^bits instead of overflowing (which C++ leaves undefined
// for signed types); floating-point types use the plain operators. The unsigned computation type
// is at least `unsigned int` so that small types do not promote to (overflowing) int.
template <typename T>
using WrappingType = decltype(std::make_unsigned_t<T>{} + 0u);

template <typename T>
T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrappingType<T>>(a) + static_cast<WrappingType<T>>(b));
  } else {
    return a + b;
  }
}
template <typename T>
T wrapping_subtract(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrappingType<T>>(a) - static_cast<WrappingType<T>>(b));
  } else {
    return a - b;
  }
}
template <typename T>
T wrapping_multiply(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<WrappingType<T>>(a) * static_cast<WrappingType<T>>(b));
  } else {
    return a * b;
  }
}
template <typename T>
T wrapping_negate(T value) {
  return wrapping_subtract(T{0}, value);
}

// A copy of `src` converted elementwise to `dst_dtype` (with Cast's rules), same shape and layout.
// Throws UnsupportedError for types Cast does not handle.
Tensor cast_tensor(const Tensor& src, DataType dst_dtype, ThreadPool& threads);

// How the reference kernels compute float16 and bfloat16: runs `body` on a context whose 16-bit
// float inputs are converted to float, then rounds each float output back to `storage_type` when
// that is a 16-bit type (other outputs, e.g. bool, are passed through). `storage_type` is the type
// that defines the op's output type (usually input 0's).
void run_in_float(KernelContext& context, DataType storage_type, const std::function<void(KernelContext&)>& body);

// dst[i] = function(src[i]) over all elements, split across threads for large tensors.
template <typename Src, typename Dst, typename Function>
void map_elements(const Tensor& src, Tensor& dst, ThreadPool& threads, const Function& function) {
  const Src* src_data = static_cast<const Src*>(src.raw_data());
  Dst* dst_data = static_cast<Dst*>(dst.raw_data());
  threads.parallel_for(
      src.element_count(),
      [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) dst_data[i] = function(src_data[i]);
      },
      kElementsPerTask);
}

}  // namespace octet
