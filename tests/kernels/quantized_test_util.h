// Helpers shared by the int8 fused-op kernel tests (qfused_test.cpp, qdeconv_test.cpp): random 8-bit
// tensors, scalar zero points, readable post-op chains, and a check that a result is not degenerate.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/post_ops.h"
#include "octet/status.h"
#include "octet/tensor.h"

namespace octet::testing {

inline bool is_8bit(DataType dtype) { return dtype == DataType::kUint8 || dtype == DataType::kInt8; }
inline int32_t type_min(DataType dtype) { return dtype == DataType::kUint8 ? 0 : -128; }
inline int32_t type_max(DataType dtype) { return dtype == DataType::kUint8 ? 255 : 127; }

// Uniform over the whole range of the 8-bit type.
inline Tensor random_8bit(DataType dtype, const Shape& shape, uint32_t seed) {
  Tensor tensor(dtype, shape);
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> distribution(type_min(dtype), type_max(dtype));
  for (int64_t i = 0; i < tensor.element_count(); ++i) {
    const int value = distribution(generator);
    if (dtype == DataType::kUint8) {
      tensor.data<uint8_t>()[i] = static_cast<uint8_t>(value);
    } else {
      tensor.data<int8_t>()[i] = static_cast<int8_t>(value);
    }
  }
  return tensor;
}

inline Tensor zero_point_scalar(DataType dtype, int32_t value) {
  Tensor tensor(dtype, {});
  if (dtype == DataType::kUint8) {
    tensor.data<uint8_t>()[0] = static_cast<uint8_t>(value);
  } else {
    tensor.data<int8_t>()[0] = static_cast<int8_t>(value);
  }
  return tensor;
}

// "relu clip(0,6) " for failure messages; "none" for an empty chain.
inline std::string post_ops_string(const std::vector<PostOp>& post_ops) {
  std::string result;
  for (const auto& post_op : post_ops) {
    result += post_op_name(post_op.kind);
    if (post_op.kind == PostOpKind::kClip || post_op.kind == PostOpKind::kLinear)
      result += concat("(", post_op.alpha, ",", post_op.beta, ")");
    result += " ";
  }
  return result.empty() ? "none" : result;
}

// Fails when a result holds few distinct values: a test comparing two all-saturated or all-zero
// outputs would pass without testing anything.
inline void expect_spread(const Tensor& y, const std::string& context) {
  std::vector<double> values;
  for (int64_t i = 0; i < y.element_count(); ++i) values.push_back(y.value_as_double(i));
  std::sort(values.begin(), values.end());
  const int64_t distinct = std::unique(values.begin(), values.end()) - values.begin();
  EXPECT_GE(distinct, std::min<int64_t>(20, y.element_count() / 4)) << context << ": degenerate result";
}

}  // namespace octet::testing
