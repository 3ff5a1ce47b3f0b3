// QBinary and QPool (kernels/quantized_ops.h): the oneDNN-backend kernels against the reference on
// random data, sweeping broadcast patterns (same shape, SE-style [N, C, 1, 1], a scalar, a row,
// both sides broadcast), operand types (uint8, int8, float and mixes), zero points, float and 8-bit
// outputs, a Relu post-op, plain and channels-last operands. The oneDNN-backend QBinary computes
// the reference's float operations element by element, so the results must be bit-identical: the
// contract would allow a one-step difference where the value before rounding lies within float
// rounding of a .5 tie, and the tests count and print such mismatches but allow none. The
// reference itself is checked against a hand-written QDQ formula on a small case.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/layout.h"
#include "kernel_test_util.h"
#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/quantize_math.h"
#include "octet/tensor.h"

namespace octet {
namespace {

using testing::make_node;
using testing::random_tensor;
using testing::run_node;
using testing::string_attribute;

// One operand: its type, zero point and scale (scale and zero point unused for float).
struct OperandType {
  DataType dtype = DataType::kFloat;
  int32_t zero_point = 0;
  float scale = 1;
};

std::string describe(const OperandType& type) {
  if (type.dtype == DataType::kFloat) return "float";
  return concat(dtype_name(type.dtype), "(scale ", type.scale, ", zero point ", type.zero_point, ")");
}

Tensor random_operand(const Shape& shape, const OperandType& type, uint32_t seed) {
  if (type.dtype == DataType::kFloat) return random_tensor(shape, seed, -2.0f, 2.0f);
  Tensor tensor(type.dtype, shape);
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> distribution(type.dtype == DataType::kUint8 ? 0 : -128,
                                                  type.dtype == DataType::kUint8 ? 255 : 127);
  for (int64_t i = 0; i < tensor.element_count(); ++i) {
    const int value = distribution(generator);
    if (type.dtype == DataType::kUint8) tensor.data<uint8_t>()[i] = static_cast<uint8_t>(value);
    else tensor.data<int8_t>()[i] = static_cast<int8_t>(value);
  }
  return tensor;
}

Tensor zero_point_tensor(const OperandType& type) {
  Tensor tensor(type.dtype, {});
  if (type.dtype == DataType::kUint8) tensor.data<uint8_t>()[0] = static_cast<uint8_t>(type.zero_point);
  else tensor.data<int8_t>()[0] = static_cast<int8_t>(type.zero_point);
  return tensor;
}

// The tensors of one QBinary call; inputs() points into them.
struct BinaryCall {
  Tensor a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point;
  bool a_quantized = false, b_quantized = false, y_quantized = false;

  std::vector<const Tensor*> inputs() const {
    std::vector<const Tensor*> list{&a,
                                    a_quantized ? &a_scale : nullptr,
                                    a_quantized ? &a_zero_point : nullptr,
                                    &b,
                                    b_quantized ? &b_scale : nullptr,
                                    b_quantized ? &b_zero_point : nullptr};
    if (y_quantized) {
      list.push_back(&y_scale);
      list.push_back(&y_zero_point);
    }
    return list;
  }
};

BinaryCall make_call(const Shape& a_shape, const OperandType& a_type, const Shape& b_shape, const OperandType& b_type,
                     const OperandType& y_type, uint32_t seed) {
  BinaryCall call;
  call.a = random_operand(a_shape, a_type, seed);
  call.b = random_operand(b_shape, b_type, seed + 1000);
  call.a_quantized = a_type.dtype != DataType::kFloat;
  call.b_quantized = b_type.dtype != DataType::kFloat;
  call.y_quantized = y_type.dtype != DataType::kFloat;
  if (call.a_quantized) {
    call.a_scale = Tensor::scalar(a_type.scale);
    call.a_zero_point = zero_point_tensor(a_type);
  }
  if (call.b_quantized) {
    call.b_scale = Tensor::scalar(b_type.scale);
    call.b_zero_point = zero_point_tensor(b_type);
  }
  if (call.y_quantized) {
    call.y_scale = Tensor::scalar(y_type.scale);
    call.y_zero_point = zero_point_tensor(y_type);
  }
  return call;
}

Node binary_node(const std::string& operation, bool relu, size_t input_count) {
  std::vector<Attribute> attributes{string_attribute("operation", operation)};
  Node node = make_node(kQuantizedBinary, input_count, 1, attributes);
  node.domain = kOctetDomain;
  if (relu) write_post_ops(node, {PostOp{PostOpKind::kRelu, 0, 0}});
  return node;
}

// Compares two outputs exactly; counts and prints the mismatches before failing.
void expect_identical(const Tensor& actual, const Tensor& expected, const std::string& context) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << context;
  ASSERT_EQ(actual.shape(), expected.shape()) << context;
  int64_t mismatches = 0;
  std::string first;
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    const double a = actual.value_as_double(i);
    const double e = expected.value_as_double(i);
    if (a == e || (std::isnan(a) && std::isnan(e))) continue;
    if (mismatches++ == 0) first = concat("element ", i, ": ", a, " vs reference ", e);
  }
  EXPECT_EQ(mismatches, 0) << context << ": " << mismatches << " of " << expected.element_count()
                           << " elements differ; first " << first;
}

// Runs the call through the reference and the dnnl kernel (plain inputs, and with every 4-D input
// converted to channels-last) and expects identical outputs.
// `expected_channels_last_detail`, when given, is the dnnl kernel's detail() for the channels-last run.
void check_binary(const std::string& operation, bool relu, const BinaryCall& call, const std::string& context,
                  const char* expected_channels_last_detail = nullptr) {
  const std::vector<const Tensor*> inputs = call.inputs();
  Node node = binary_node(operation, relu, inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i]) node.inputs[i] = "";
  const std::vector<Tensor> expected = run_node(node, inputs, 1);
  std::string detail;
  const std::vector<Tensor> actual = run_node(node, inputs, 1, {}, 2, "dnnl", &detail);
  EXPECT_EQ(detail.rfind("row loop", 0), 0u) << context << " ran " << detail;
  expect_identical(actual[0], expected[0], context + ", plain");

  ThreadPool pool(1);
  Tensor a_channels_last, b_channels_last;
  std::vector<const Tensor*> converted = inputs;
  if (call.a.rank() == 4) {
    a_channels_last = to_channels_last(call.a, pool);
    converted[kQBinaryA] = &a_channels_last;
  }
  if (call.b.rank() == 4) {
    b_channels_last = to_channels_last(call.b, pool);
    converted[kQBinaryB] = &b_channels_last;
  }
  const std::vector<Tensor> channels_last = run_node(node, converted, 1, {}, 2, "dnnl", &detail);
  const Tensor plain = channels_last[0].layout() == Layout::kChannelsLast ? to_plain(channels_last[0], pool)
                                                                          : channels_last[0].clone();
  expect_identical(plain, expected[0], context + ", channels-last (" + detail + ")");
  if (expected_channels_last_detail) EXPECT_EQ(detail, expected_channels_last_detail) << context;
}

struct ShapePair {
  Shape a;
  Shape b;
};

TEST(QBinaryKernelTest, DnnlMatchesReferenceOnBroadcastAndTypeSweep) {
  const std::vector<ShapePair> shapes = {
      {{2, 5, 7, 9}, {2, 5, 7, 9}},      // same shape
      {{2, 13, 11, 17}, {2, 13, 1, 1}},  // SE block: per (n, c) factor
      {{1, 16, 1, 1}, {1, 16, 9, 10}},   // broadcast on the left
      {{2, 3, 5, 33}, {}},               // scalar
      {{2, 3, 5, 33}, {33}},             // a row, broadcast over the leading axes
      {{2, 1, 6, 1}, {1, 4, 1, 7}},      // both sides broadcast
      {{3, 1029}, {3, 1029}},            // rank 2, a block tail
      {{1, 24, 40, 40}, {1, 24, 40, 40}},
      {{1, 32, 64, 80}, {1, 32, 64, 80}},  // large enough for two threads
      {{1, 40, 3, 96}, {1, 40, 1, 1}},     // SE block of the PP-OCR classifier: short channels-last rows
      {{2, 7, 9, 151}, {2, 7, 1, 1}},      // short rows in runs across a batch, with a run tail
      {{1, 9, 1, 1}, {1, 9, 20, 31}},      // the repeated row on the left
      {{1, 600, 3, 4}, {1, 600, 1, 1}},    // rows too long for runs
  };
  const std::vector<OperandType> types = {
      {DataType::kFloat},
      {DataType::kUint8, 0, 0.02f},
      {DataType::kUint8, 131, 0.013f},
      {DataType::kInt8, 0, 0.017f},
      {DataType::kInt8, -9, 0.011f},
  };
  const std::vector<OperandType> outputs = {
      {DataType::kFloat},
      {DataType::kUint8, 3, 0.021f},
      {DataType::kInt8, -4, 0.019f},
  };
  uint32_t seed = 1;
  for (const ShapePair& pair : shapes) {
    for (const std::string operation : {"Add", "Mul"}) {
      for (size_t t = 0; t < types.size() * types.size(); ++t) {
        const OperandType& a_type = types[t % types.size()];
        const OperandType& b_type = types[(t / types.size() + t) % types.size()];
        const OperandType& y_type = outputs[t % outputs.size()];
        const bool relu = t % 4 == 1;
        const BinaryCall call = make_call(pair.a, a_type, pair.b, b_type, y_type, seed++);
        check_binary(operation, relu, call,
                     concat(operation, relu ? "+relu" : "", " A ", shape_to_string(pair.a), " ", describe(a_type), ", B ",
                            shape_to_string(pair.b), " ", describe(b_type), ", Y ", describe(y_type)));
      }
    }
  }
}

// An SE block's channel vector in channels-last layout takes the run path (several short rows per
// block), chunked over two threads, and stays bit-identical to the reference.
TEST(QBinaryKernelTest, ShortChannelsLastRowsRunTogether) {
  const OperandType activation{DataType::kInt8, 0, 0.017f};
  const OperandType gate{DataType::kUint8, 0, 0.0039f};
  const OperandType output{DataType::kInt8, 0, 0.021f};
  uint32_t seed = 500;
  for (const ShapePair& pair : std::vector<ShapePair>{
           {{1, 8, 12, 96}, {1, 8, 1, 1}}, {{1, 200, 2, 96}, {1, 200, 1, 1}}, {{2, 24, 64, 64}, {2, 24, 1, 1}}}) {
    const BinaryCall call = make_call(pair.a, activation, pair.b, gate, output, seed++);
    check_binary("Mul", false, call, concat("SE Mul A ", shape_to_string(pair.a), " B ", shape_to_string(pair.b)),
                 "row loop, short rows in runs");
  }
}

TEST(QBinaryKernelTest, ReferenceIsTheQdqFormula) {
  // A uint8 (scale 0.1, zero point 10) plus int8 B (scale 0.05, zero point -3), quantized to uint8
  // (scale 0.2, zero point 7), broadcasting B [2] along A [2, 2].
  const OperandType a_type{DataType::kUint8, 10, 0.1f};
  const OperandType b_type{DataType::kInt8, -3, 0.05f};
  const OperandType y_type{DataType::kUint8, 7, 0.2f};
  BinaryCall call = make_call({2, 2}, a_type, {2}, b_type, y_type, 5);
  Node node = binary_node("Add", false, 8);
  const std::vector<Tensor> result = run_node(node, call.inputs(), 1);
  for (int64_t i = 0; i < 4; ++i) {
    const float a = static_cast<float>(static_cast<int32_t>(call.a.data<uint8_t>()[i]) - 10) * 0.1f;
    const float b = static_cast<float>(static_cast<int32_t>(call.b.data<int8_t>()[i % 2]) + 3) * 0.05f;
    const double expected = std::clamp(std::nearbyint(static_cast<double>((a + b) / 0.2f)) + 7, 0.0, 255.0);
    EXPECT_EQ(result[0].value_as_double(i), expected) << "element " << i;
  }
}

TEST(QBinaryKernelTest, MixedFullSizeLayoutsFallBackToReference) {
  const OperandType type{DataType::kUint8, 5, 0.02f};
  const BinaryCall call = make_call({1, 8, 5, 6}, type, {1, 8, 5, 6}, type, {DataType::kFloat}, 9);
  Node node = binary_node("Mul", false, 6);
  ThreadPool pool(1);
  const Tensor a_channels_last = to_channels_last(call.a, pool);
  std::vector<const Tensor*> inputs = call.inputs();
  const std::vector<Tensor> expected = run_node(node, inputs, 1);
  inputs[kQBinaryA] = &a_channels_last;
  std::string detail;
  const std::vector<Tensor> actual = run_node(node, inputs, 1, {}, 1, "dnnl", &detail);
  EXPECT_NE(detail.find("reference fallback"), std::string::npos) << detail;
  expect_identical(actual[0], expected[0], "mixed layouts");
}

TEST(QBinaryKernelTest, RejectsMalformedOperands) {
  const OperandType type{DataType::kUint8, 5, 0.02f};
  BinaryCall call = make_call({4}, type, {4}, type, {DataType::kFloat}, 11);
  Node node = binary_node("Add", false, 6);
  std::vector<const Tensor*> inputs = call.inputs();
  inputs[kQBinaryAScale] = nullptr;  // 8-bit A without its scale
  node.inputs[kQBinaryAScale] = "";
  for (const std::string implementation : {"reference", "dnnl"})
    EXPECT_THROW(run_node(node, inputs, 1, {}, 1, implementation), Error) << implementation;
  Node bad_operation = binary_node("Sub", false, 6);
  EXPECT_THROW(run_node(bad_operation, call.inputs(), 1), Error);
}

// ---------------------------------------------------------------- QPool

TEST(QPoolKernelTest, DnnlMatchesReferenceWithinOneStepOnTies) {
  const std::vector<OperandType> types = {{DataType::kFloat}, {DataType::kUint8, 120, 0.02f}, {DataType::kInt8, -3, 0.03f}};
  const std::vector<OperandType> outputs = {{DataType::kFloat}, {DataType::kUint8, 2, 0.004f}, {DataType::kInt8, 0, 0.005f}};
  uint32_t seed = 300;
  for (const std::string operation : {"GlobalAveragePool", "AveragePool"}) {
    for (size_t t = 0; t < types.size() * outputs.size(); ++t) {
      const OperandType& x_type = types[t % types.size()];
      const OperandType& y_type = outputs[t / types.size()];
      const Tensor x = random_operand({2, 12, 9, 11}, x_type, seed++);
      const Tensor x_scale = Tensor::scalar(x_type.scale);
      const Tensor x_zero_point = x_type.dtype == DataType::kFloat ? Tensor() : zero_point_tensor(x_type);
      const Tensor y_scale = Tensor::scalar(y_type.scale);
      const Tensor y_zero_point = y_type.dtype == DataType::kFloat ? Tensor() : zero_point_tensor(y_type);
      const bool x_quantized = x_type.dtype != DataType::kFloat;
      const bool y_quantized = y_type.dtype != DataType::kFloat;
      std::vector<const Tensor*> inputs{&x, x_quantized ? &x_scale : nullptr, x_quantized ? &x_zero_point : nullptr};
      if (y_quantized) {
        inputs.push_back(&y_scale);
        inputs.push_back(&y_zero_point);
      }
      std::vector<Attribute> attributes{string_attribute("operation", operation)};
      if (operation == "AveragePool") {
        attributes.push_back(testing::ints_attribute("kernel_shape", {3, 3}));
        attributes.push_back(testing::ints_attribute("pads", {1, 1, 1, 1}));
        attributes.push_back(testing::ints_attribute("strides", {2, 2}));
      }
      Node node = make_node(kQuantizedPool, inputs.size(), 1, attributes);
      node.domain = kOctetDomain;
      for (size_t i = 0; i < inputs.size(); ++i)
        if (!inputs[i]) node.inputs[i] = "";
      const std::string context =
          concat(operation, " X ", describe(x_type), ", Y ", describe(y_type));
      const std::vector<Tensor> expected = run_node(node, inputs, 1);
      ThreadPool pool(1);
      const Tensor x_channels_last = to_channels_last(x, pool);
      for (const bool channels_last : {false, true}) {
        std::vector<const Tensor*> dnnl_inputs = inputs;
        if (channels_last) dnnl_inputs[kQPoolX] = &x_channels_last;
        std::string detail;
        const std::vector<Tensor> actual = run_node(node, dnnl_inputs, 1, {}, 2, "dnnl", &detail);
        const std::string layout_context = concat(context, channels_last ? " [channels-last]" : " [plain]");
        if (operation == "GlobalAveragePool" && x_quantized)
          EXPECT_EQ(detail, "integer sums of the 8-bit input") << layout_context;
        const Tensor plain =
            actual[0].layout() == Layout::kChannelsLast ? to_plain(actual[0], pool) : actual[0].clone();
        ASSERT_EQ(plain.dtype(), expected[0].dtype()) << layout_context;
        ASSERT_EQ(plain.shape(), expected[0].shape()) << layout_context;
        // The float pool sums in its own order (oneDNN vectorizes the window sum; the 8-bit global
        // average sums integers exactly): float outputs agree to a few ulps of values below 3,
        // quantized ones by at most one step at ties.
        int64_t one_step = 0;
        for (int64_t i = 0; i < plain.element_count(); ++i) {
          const double difference = std::fabs(plain.value_as_double(i) - expected[0].value_as_double(i));
          if (!y_quantized) {
            ASSERT_LE(difference, 1e-6) << layout_context << " (" << detail << ") element " << i;
          } else {
            ASSERT_LE(difference, 1.0) << layout_context << " (" << detail << ") element " << i;
            one_step += difference > 0;
          }
        }
        EXPECT_LE(one_step, plain.element_count() / 50)
            << layout_context << ": " << one_step << " one-step differences";
      }
    }
  }
}

}  // namespace
}  // namespace octet
