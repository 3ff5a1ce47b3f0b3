// octet.QFusedConv and octet.QFusedMatMul (src/kernels/quantized_ops.h).
//
// The reference kernel is checked against a naive double-precision "dequantize -> float conv ->
// quantize" written here; the oneDNN kernels are checked against the reference on shape sweeps.
// Integer outputs must be equal; the contract allows one step only where the reference's value
// before rounding, real * (1 / y_scale), lies within kTieWindow of a .5 tie (oneDNN fuses the final
// scale and zero point into one multiply-add, which can land on the other side of a tie). Every
// other difference is a failure and is printed with the case's shapes, scales and zero points.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/layout.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernel_test_util.h"
#include "quantized_test_util.h"
#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"
#include "kernels/reference/quantize_math.h"

namespace octet::testing {
namespace {

constexpr size_t kQInputCount = 11;
// Distance from a .5 tie within which the contract lets an optimized kernel round the other way.
constexpr double kTieWindow = 1e-3;
// Float outputs (no y_scale): oneDNN computes the same float steps but may fuse multiply-adds and
// evaluate post-ops (hard-swish, clip) in another order, a few ulps of values of magnitude ~10.
constexpr double kFloatTolerance = 1e-4;

// A QFusedConv / QFusedMatMul node with its inputs (empty tensors for omitted ones) and a
// description naming everything needed to reproduce it.
struct QCase {
  Node node;
  std::vector<Tensor> inputs;
  std::vector<size_t> constant_inputs;
  std::string description;

  std::vector<const Tensor*> pointers() const {
    std::vector<const Tensor*> result;
    for (const auto& input : inputs) result.push_back(input.empty() ? nullptr : &input);
    return result;
  }
  bool quantized_output() const { return !inputs[kQInputYScale].empty(); }
  // The same node with float output: its result is the reference's value before quantization.
  QCase float_output_copy() const {
    QCase copy;
    copy.node = node;
    copy.node.inputs[kQInputYScale].clear();
    copy.node.inputs[kQInputYZeroPoint].clear();
    for (size_t i = 0; i < inputs.size(); ++i)
      copy.inputs.push_back(i == kQInputYScale || i == kQInputYZeroPoint || inputs[i].empty() ? Tensor()
                                                                                              : inputs[i].clone());
    copy.constant_inputs = constant_inputs;
    copy.description = description;
    return copy;
  }
};

// What the tests vary: types, zero points, bias, post-ops, residual, output.
struct QuantizationSpec {
  DataType x_type = DataType::kUint8;
  int32_t x_zero_point = 0;
  bool bias = true;
  std::vector<PostOp> post_ops;
  DataType sum_type = DataType::kUndefined;  // the residual's type when post_ops has a sum
  DataType y_type = DataType::kUint8;        // kFloat: float output
  int32_t y_zero_point = 0;
  uint32_t seed = 1;

  std::string describe() const {
    return concat("x ", dtype_name(x_type), " zp ", x_zero_point, ", bias ", bias ? "yes" : "no", ", post-ops ",
                  post_ops_string(post_ops), sum_type == DataType::kUndefined ? "" : concat("(sum ", dtype_name(sum_type), ") "),
                  ", y ", dtype_name(y_type), y_type == DataType::kFloat ? "" : concat(" zp ", y_zero_point),
                  ", seed ", seed);
  }
};

// Fills the inputs around X and W: scales chosen so that real values span about [-4, 4] (where
// clip and hard-swish bend) whatever the reduction depth, then y_scale from the reference's float
// result so that quantized outputs use their whole range, with some saturation.
void fill_quantization(QCase& test, const QuantizationSpec& spec, const Shape& output_shape, int64_t channels,
                       int64_t depth) {
  std::mt19937 generator(spec.seed * 7919u + 13u);
  std::uniform_real_distribution<float> spread(0.5f, 1.5f);
  const float x_scale = 0.05f * spread(generator);
  test.inputs[kQInputXScale] = Tensor::scalar<float>(x_scale);
  test.inputs[kQInputXZeroPoint] = zero_point_scalar(spec.x_type, spec.x_zero_point);
  // (X - zp) * W has a standard deviation of about 74 * 73 * sqrt(depth).
  const float typical = 0.05f * 74.0f * 73.0f * std::sqrt(static_cast<float>(depth));
  Tensor w_scale(DataType::kFloat, {channels});
  for (int64_t c = 0; c < channels; ++c) w_scale.data<float>()[c] = 2.0f / typical * spread(generator);
  test.inputs[kQInputWScale] = std::move(w_scale);
  if (spec.bias) {
    Tensor bias(DataType::kInt32, {channels});
    std::uniform_int_distribution<int32_t> bias_values(-40000, 40000);
    for (int64_t c = 0; c < channels; ++c) bias.data<int32_t>()[c] = bias_values(generator);
    test.inputs[kQInputBias] = std::move(bias);
  }
  bool has_sum = false;
  for (const auto& post_op : spec.post_ops) has_sum |= post_op.kind == PostOpKind::kSum;
  if (has_sum) {
    if (spec.sum_type == DataType::kFloat) {
      test.inputs[kQInputSum] = random_tensor(output_shape, spec.seed + 101, -2.0f, 2.0f);
    } else {
      test.inputs[kQInputSum] = random_8bit(spec.sum_type, output_shape, spec.seed + 101);
      test.inputs[kQInputSumScale] = Tensor::scalar<float>(0.015f * spread(generator));
      test.inputs[kQInputSumZeroPoint] = zero_point_scalar(spec.sum_type, spec.sum_type == DataType::kUint8 ? 131 : -3);
    }
  }
  test.node.domain = kOctetDomain;
  write_post_ops(test.node, spec.post_ops);
  test.node.inputs.clear();
  for (size_t i = 0; i < kQInputCount; ++i) test.node.inputs.push_back(concat("in", i));
  test.constant_inputs = {kQInputXScale, kQInputXZeroPoint, kQInputW, kQInputWScale};
  for (size_t i : {kQInputBias, kQInputSumScale, kQInputSumZeroPoint})
    if (!test.inputs[i].empty()) test.constant_inputs.push_back(i);
  // y_scale from the float result: its largest magnitude over 150 steps.
  for (size_t i = 0; i < kQInputCount; ++i)
    if (test.inputs[i].empty()) test.node.inputs[i].clear();
  if (spec.y_type != DataType::kFloat) {
    const std::vector<Tensor> real = run_node(test.node, test.pointers(), 17, test.constant_inputs);
    double largest = 1e-3;
    for (int64_t i = 0; i < real[0].element_count(); ++i)
      largest = std::max(largest, std::fabs(real[0].value_as_double(i)));
    test.inputs[kQInputYScale] = Tensor::scalar<float>(static_cast<float>(largest / 150.0));
    test.inputs[kQInputYZeroPoint] = zero_point_scalar(spec.y_type, spec.y_zero_point);
    test.node.inputs[kQInputYScale] = concat("in", kQInputYScale);
    test.node.inputs[kQInputYZeroPoint] = concat("in", kQInputYZeroPoint);
    test.constant_inputs.push_back(kQInputYScale);
    test.constant_inputs.push_back(kQInputYZeroPoint);
  }
  test.description += concat(", ", spec.describe(), ", x_scale ", x_scale,
                             spec.y_type == DataType::kFloat
                                 ? std::string()
                                 : concat(", y_scale ", test.inputs[kQInputYScale].data<float>()[0]));
}

// Convolution geometry of a test case (2-D unless spatial_rank says otherwise).
struct ConvSpec {
  int spatial_rank = 2;
  int64_t batch = 1, in_channels = 8, out_channels = 8, group = 1, kernel = 3, stride = 1, pad = 1, dilation = 1;
  int64_t size = 9;
  int64_t last_size = 0;    // the last spatial axis's size; 0: size + spatial_rank - 1 (non-square)
  int64_t last_stride = 0;  // the last spatial axis's stride; 0: stride

  int64_t axis_size(int axis) const { return axis == spatial_rank - 1 && last_size ? last_size : size + axis; }
  int64_t axis_stride(int axis) const { return axis == spatial_rank - 1 && last_stride ? last_stride : stride; }
  std::string describe() const {
    return concat("conv ", spatial_rank, "-D batch ", batch, " ", in_channels, "->", out_channels, " group ", group,
                  " kernel ", kernel, " stride ", stride, last_stride ? concat("x", last_stride) : "", " pad ", pad,
                  " dilation ", dilation, " size ", size, last_size ? concat("x", last_size) : "");
  }
};

QCase make_conv_case(const ConvSpec& conv, const QuantizationSpec& spec) {
  QCase test;
  test.inputs.resize(kQInputCount);
  Shape x_shape{conv.batch, conv.in_channels};
  Shape w_shape{conv.out_channels, conv.in_channels / conv.group};
  Shape y_shape{conv.batch, conv.out_channels};
  std::vector<int64_t> strides;
  for (int i = 0; i < conv.spatial_rank; ++i) {
    const int64_t size = conv.axis_size(i);
    x_shape.push_back(size);
    w_shape.push_back(conv.kernel);
    strides.push_back(conv.axis_stride(i));
    const int64_t extent = (conv.kernel - 1) * conv.dilation + 1;
    y_shape.push_back((size + 2 * conv.pad - extent) / strides.back() + 1);
  }
  test.inputs[kQInputX] = random_8bit(spec.x_type, x_shape, spec.seed);
  test.inputs[kQInputW] = random_8bit(DataType::kInt8, w_shape, spec.seed + 1);
  test.node = make_node(kQuantizedFusedConv, kQInputCount, 1,
                        {int_attribute("group", conv.group), ints_attribute("strides", strides),
                         ints_attribute("dilations", std::vector<int64_t>(conv.spatial_rank, conv.dilation)),
                         ints_attribute("pads", std::vector<int64_t>(2 * conv.spatial_rank, conv.pad))});
  test.description = conv.describe();
  fill_quantization(test, spec, y_shape, conv.out_channels, conv.in_channels / conv.group * conv.kernel * conv.kernel);
  return test;
}

// A [batch..., M, K] x [K, N] (constant) or [batch..., K, N] (run-time) product.
struct MatMulSpec {
  Shape a_shape{5, 16};
  Shape b_shape{16, 7};
  bool constant_b = true;

  std::string describe() const {
    return concat("matmul A ", shape_to_string(a_shape), " B ", shape_to_string(b_shape),
                  constant_b ? " (constant)" : " (run-time)");
  }
};

QCase make_matmul_case(const MatMulSpec& matmul, const QuantizationSpec& spec) {
  QCase test;
  test.inputs.resize(kQInputCount);
  const int64_t n = matmul.b_shape.back();
  const int64_t k = matmul.a_shape.back();
  Shape a_batch(matmul.a_shape.begin(), matmul.a_shape.end() - 2);
  Shape b_batch(matmul.b_shape.begin(), matmul.b_shape.end() - 2);
  Shape y_shape = a_batch.size() >= b_batch.size() ? a_batch : b_batch;
  for (size_t i = 0; i < std::min(a_batch.size(), b_batch.size()); ++i) {
    const size_t slot = y_shape.size() - 1 - i;
    y_shape[slot] = std::max(a_batch[a_batch.size() - 1 - i], b_batch[b_batch.size() - 1 - i]);
  }
  y_shape.push_back(matmul.a_shape[matmul.a_shape.size() - 2]);
  y_shape.push_back(n);
  test.inputs[kQInputX] = random_8bit(spec.x_type, matmul.a_shape, spec.seed);
  test.inputs[kQInputW] = random_8bit(DataType::kInt8, matmul.b_shape, spec.seed + 1);
  test.node = make_node(kQuantizedFusedMatMul, kQInputCount, 1);
  test.description = matmul.describe();
  fill_quantization(test, spec, y_shape, n, k);
  if (!matmul.constant_b) {
    // A run-time B has one scale for the whole tensor.
    test.inputs[kQInputWScale] = Tensor::scalar<float>(test.inputs[kQInputWScale].data<float>()[0]);
    std::erase(test.constant_inputs, kQInputW);
  }
  return test;
}

// Compares integer (or float) results; returns the number of mismatches the contract does not
// allow, printing each, and counts the allowed one-step differences at ties in `tie_steps`.
int64_t compare_results(const Tensor& actual, const Tensor& expected, const Tensor& real, float y_scale,
                        const std::string& context, int64_t& tie_steps) {
  EXPECT_EQ(actual.dtype(), expected.dtype()) << context;
  EXPECT_EQ(actual.shape(), expected.shape()) << context;
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape()) return 1;
  int64_t mismatches = 0;
  const float inverse_scale = 1.0f / y_scale;
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    const double a = actual.value_as_double(i);
    const double e = expected.value_as_double(i);
    if (expected.dtype() == DataType::kFloat) {
      if (std::fabs(a - e) <= kFloatTolerance * std::max(1.0, std::fabs(e))) continue;
    } else {
      if (a == e) continue;
      const double scaled = static_cast<double>(real.data<float>()[i] * inverse_scale);
      const double tie_distance = std::fabs(scaled - std::floor(scaled) - 0.5);
      if (std::fabs(a - e) == 1 && tie_distance < kTieWindow) {
        ++tie_steps;
        continue;
      }
    }
    if (++mismatches <= 20) {
      ADD_FAILURE() << context << ": element " << i << " of " << shape_to_string(expected.shape()) << " is " << a
                    << ", expected " << e << " (real " << real.data<float>()[i] << ")";
    }
  }
  if (mismatches > 20) ADD_FAILURE() << context << ": " << mismatches << " mismatches in all";
  return mismatches;
}

// ---------------------------------------------------------------------------------------------
// The reference kernel against dequantize -> float convolution -> quantize, in double.

double naive_post_op(const PostOp& post_op, double x) {
  switch (post_op.kind) {
    case PostOpKind::kRelu: return std::max(x, 0.0);
    case PostOpKind::kClip: return std::min(std::max(x, static_cast<double>(post_op.alpha)), static_cast<double>(post_op.beta));
    case PostOpKind::kHardSwish: return x * std::clamp(x / 6 + 0.5, 0.0, 1.0);
    case PostOpKind::kLinear: return post_op.alpha * x + post_op.beta;
    default: ADD_FAILURE() << "naive_post_op: " << post_op_name(post_op.kind); return x;
  }
}

// The real result of element `index` and its channel, given the dequantized product `product`
// (already including the bias), then post-ops and the residual.
double naive_finish(const QCase& test, const std::vector<PostOp>& post_ops, int64_t index, double real) {
  for (const auto& post_op : post_ops) {
    if (post_op.kind != PostOpKind::kSum) {
      real = naive_post_op(post_op, real);
      continue;
    }
    const Tensor& sum = test.inputs[kQInputSum];
    if (sum.dtype() == DataType::kFloat) {
      real += sum.value_as_double(index);
    } else {
      real += (sum.value_as_double(index) - test.inputs[kQInputSumZeroPoint].value_as_double(0)) *
              test.inputs[kQInputSumScale].value_as_double(0);
    }
  }
  return real;
}

// Checks one reference result element against the naive real value: equal after quantization
// except one step at ties; `ties` counts those.
void expect_naive_match(const QCase& test, const Tensor& y, int64_t index, double real, int64_t& ties,
                        int64_t& mismatches) {
  if (!test.quantized_output()) {
    const double actual = y.value_as_double(index);
    if (std::fabs(actual - real) > 1e-4 * std::max(1.0, std::fabs(real)) && ++mismatches <= 10)
      ADD_FAILURE() << test.description << ": element " << index << " is " << actual << ", naive " << real;
    return;
  }
  const double scaled = real / test.inputs[kQInputYScale].value_as_double(0);
  const DataType y_type = y.dtype();
  const double naive = std::clamp(std::nearbyint(scaled) + test.inputs[kQInputYZeroPoint].value_as_double(0),
                                  static_cast<double>(type_min(y_type)), static_cast<double>(type_max(y_type)));
  const double actual = y.value_as_double(index);
  if (actual == naive) return;
  if (std::fabs(actual - naive) == 1 && std::fabs(scaled - std::floor(scaled) - 0.5) < kTieWindow) {
    ++ties;
    return;
  }
  if (++mismatches <= 10)
    ADD_FAILURE() << test.description << ": element " << index << " is " << actual << ", naive " << naive
                  << " (scaled " << scaled << ")";
}

// Naive 2-D QFusedConv in double.
void check_conv_against_naive(const ConvSpec& conv, const QuantizationSpec& spec) {
  const QCase test = make_conv_case(conv, spec);
  const Tensor y = std::move(run_node(test.node, test.pointers(), 17, test.constant_inputs)[0]);
  const Tensor& x = test.inputs[kQInputX];
  const Tensor& w = test.inputs[kQInputW];
  const double x_scale = test.inputs[kQInputXScale].value_as_double(0);
  const double x_zero = test.inputs[kQInputXZeroPoint].value_as_double(0);
  const int64_t height = x.dim(2), width = x.dim(3), out_height = y.dim(2), out_width = y.dim(3);
  const int64_t group_in = conv.in_channels / conv.group, group_out = conv.out_channels / conv.group;
  const std::vector<PostOp> post_ops = read_post_ops(test.node);
  int64_t ties = 0, mismatches = 0;
  for (int64_t n = 0; n < conv.batch; ++n) {
    for (int64_t m = 0; m < conv.out_channels; ++m) {
      const double w_scale = test.inputs[kQInputWScale].value_as_double(m);
      const int64_t g = m / group_out;
      for (int64_t oh = 0; oh < out_height; ++oh) {
        for (int64_t ow = 0; ow < out_width; ++ow) {
          double real = test.inputs[kQInputBias].empty() ? 0.0 : test.inputs[kQInputBias].value_as_double(m) * x_scale * w_scale;
          for (int64_t c = 0; c < group_in; ++c)
            for (int64_t kh = 0; kh < conv.kernel; ++kh)
              for (int64_t kw = 0; kw < conv.kernel; ++kw) {
                const int64_t ih = oh * conv.axis_stride(0) - conv.pad + kh * conv.dilation;
                const int64_t iw = ow * conv.axis_stride(1) - conv.pad + kw * conv.dilation;
                if (ih < 0 || ih >= height || iw < 0 || iw >= width) continue;
                const double dequantized_x =
                    (x.value_as_double(((n * conv.in_channels + g * group_in + c) * height + ih) * width + iw) - x_zero) *
                    x_scale;
                const double dequantized_w =
                    w.value_as_double(((m * group_in + c) * conv.kernel + kh) * conv.kernel + kw) * w_scale;
                real += dequantized_x * dequantized_w;
              }
          const int64_t index = ((n * conv.out_channels + m) * out_height + oh) * out_width + ow;
          expect_naive_match(test, y, index, naive_finish(test, post_ops, index, real), ties, mismatches);
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << test.description;
  expect_spread(y, test.description);
  EXPECT_LE(ties, y.element_count() / 100 + 1) << test.description << ": too many tie differences";
}

TEST(QFusedReferenceTest, ConvMatchesNaiveDequantizedConvolution) {
  uint32_t seed = 1;
  const std::vector<std::vector<PostOp>> chains = {
      {}, {{PostOpKind::kRelu}}, {{PostOpKind::kHardSwish}}, {{PostOpKind::kSum}, {PostOpKind::kRelu}},
      {{PostOpKind::kClip, 0.0f, 6.0f}}};
  for (const ConvSpec& conv : {ConvSpec{2, 1, 3, 5, 1, 3, 1, 1, 1, 7}, ConvSpec{2, 2, 8, 6, 2, 3, 2, 1, 1, 8},
                               ConvSpec{2, 1, 6, 6, 6, 3, 1, 2, 2, 9}, ConvSpec{2, 1, 17, 4, 1, 1, 1, 0, 1, 5}}) {
    for (size_t chain = 0; chain < chains.size(); ++chain) {
      QuantizationSpec spec;
      spec.x_type = chain % 2 ? DataType::kInt8 : DataType::kUint8;
      spec.x_zero_point = chain % 2 ? -7 : 120;
      spec.bias = chain != 1;
      spec.post_ops = chains[chain];
      spec.sum_type = chain == 3 ? DataType::kInt8 : DataType::kUndefined;
      spec.y_type = chain == 4 ? DataType::kFloat : (chain % 2 ? DataType::kInt8 : DataType::kUint8);
      spec.y_zero_point = spec.y_type == DataType::kUint8 ? 100 : 5;
      spec.seed = seed++;
      check_conv_against_naive(conv, spec);
    }
  }
}

TEST(QFusedReferenceTest, MatMulMatchesNaiveDequantizedProduct) {
  uint32_t seed = 40;
  for (const MatMulSpec& matmul : {MatMulSpec{{5, 16}, {16, 7}, true}, MatMulSpec{{2, 3, 1}, {1, 9}, true},
                                   MatMulSpec{{2, 4, 6}, {2, 6, 5}, false}}) {
    for (DataType y_type : {DataType::kUint8, DataType::kInt8, DataType::kFloat}) {
      QuantizationSpec spec;
      spec.x_type = y_type == DataType::kInt8 ? DataType::kInt8 : DataType::kUint8;
      spec.x_zero_point = y_type == DataType::kInt8 ? 3 : 128;
      spec.post_ops = {{PostOpKind::kRelu}};
      spec.y_type = y_type;
      spec.y_zero_point = y_type == DataType::kUint8 ? 0 : -20;
      spec.seed = seed++;
      const QCase test = make_matmul_case(matmul, spec);
      const Tensor y = std::move(run_node(test.node, test.pointers(), 17, test.constant_inputs)[0]);
      const Tensor& a = test.inputs[kQInputX];
      const Tensor& b = test.inputs[kQInputW];
      const int64_t k = a.dim(a.rank() - 1), m = a.dim(a.rank() - 2), n = b.dim(b.rank() - 1);
      const int64_t a_matrices = a.element_count() / (m * k), b_matrices = b.element_count() / (k * n);
      const double x_scale = test.inputs[kQInputXScale].value_as_double(0);
      const double x_zero = test.inputs[kQInputXZeroPoint].value_as_double(0);
      int64_t ties = 0, mismatches = 0;
      for (int64_t index = 0; index < y.element_count(); ++index) {
        const int64_t column = index % n, row = index / n % m, matrix = index / (m * n);
        const Tensor& w_scale = test.inputs[kQInputWScale];
        const double column_scale = w_scale.value_as_double(w_scale.element_count() == 1 ? 0 : column);
        double real = test.inputs[kQInputBias].value_as_double(column) * x_scale * column_scale;
        for (int64_t i = 0; i < k; ++i) {
          const double dequantized_a = (a.value_as_double(((matrix % a_matrices) * m + row) * k + i) - x_zero) * x_scale;
          real += dequantized_a * b.value_as_double(((matrix % b_matrices) * k + i) * n + column) * column_scale;
        }
        expect_naive_match(test, y, index, naive_finish(test, read_post_ops(test.node), index, real), ties, mismatches);
      }
      EXPECT_EQ(mismatches, 0) << test.description;
      expect_spread(y, test.description);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// oneDNN kernels against the reference.

Tensor channels_last_copy(const Tensor& tensor) {
  ThreadPool pool(1);
  return to_channels_last(tensor, pool);
}

// Runs `test` on the reference and on oneDNN (input X, and the residual, channels-last when asked)
// and compares as the contract allows. Returns the oneDNN implementation name.
std::string check_dnnl_against_reference(const QCase& test, bool channels_last, int64_t& tie_steps,
                                         bool expect_dnnl = true) {
  const std::vector<Tensor> expected = run_node(test.node, test.pointers(), 17, test.constant_inputs);
  Tensor real;
  if (test.quantized_output()) {
    const QCase float_case = test.float_output_copy();
    real = std::move(run_node(float_case.node, float_case.pointers(), 17, float_case.constant_inputs)[0]);
  } else {
    real = expected[0].clone();
  }
  std::vector<const Tensor*> inputs = test.pointers();
  Tensor x_channels_last, sum_channels_last;
  if (channels_last) {
    x_channels_last = channels_last_copy(test.inputs[kQInputX]);
    inputs[kQInputX] = &x_channels_last;
    if (!test.inputs[kQInputSum].empty()) {
      sum_channels_last = channels_last_copy(test.inputs[kQInputSum]);
      inputs[kQInputSum] = &sum_channels_last;
    }
  }
  std::string detail;
  const std::vector<Tensor> actual = run_node(test.node, inputs, 17, test.constant_inputs, 2, "dnnl", &detail);
  const std::string context =
      concat(test.description, channels_last ? " [channels-last]" : " [plain]", " (ran: ", detail, ")");
  if (expect_dnnl) {
    EXPECT_EQ(detail.find("fallback"), std::string::npos) << context;
    EXPECT_EQ(detail.rfind("ref", 0), std::string::npos) << context;
  }
  ThreadPool pool(1);
  const Tensor plain = actual[0].layout() == Layout::kPlain ? actual[0].clone() : to_plain(actual[0], pool);
  const float y_scale = test.quantized_output() ? test.inputs[kQInputYScale].data<float>()[0] : 1.0f;
  compare_results(plain, expected[0], real, y_scale, context, tie_steps);
  return detail;
}

const std::vector<std::vector<PostOp>>& post_op_chains() {
  static const std::vector<std::vector<PostOp>> chains = {
      {},
      {{PostOpKind::kRelu}},
      {{PostOpKind::kHardSwish}},
      {{PostOpKind::kClip, 0.0f, 6.0f}},
      {{PostOpKind::kSum}},
      {{PostOpKind::kSum}, {PostOpKind::kRelu}},
      {{PostOpKind::kRelu}, {PostOpKind::kSum}},
      // A trailing affine (PP-LCNet's learnable affine after the activation) merges with the
      // quantizing step of a quantized output.
      {{PostOpKind::kHardSwish}, {PostOpKind::kLinear, 0.5f, 0.25f}},
  };
  return chains;
}

// Type configurations: source type and zero point, residual type, output type and zero point.
struct TypeConfig {
  DataType x_type;
  int32_t x_zero_point;
  DataType sum_type;
  DataType y_type;
  int32_t y_zero_point;
};

const std::vector<TypeConfig>& type_configs() {
  static const std::vector<TypeConfig> configs = {
      {DataType::kUint8, 0, DataType::kUint8, DataType::kUint8, 0},
      {DataType::kUint8, 128, DataType::kUint8, DataType::kUint8, 100},
      {DataType::kInt8, 0, DataType::kInt8, DataType::kInt8, 0},
      {DataType::kInt8, -5, DataType::kInt8, DataType::kUint8, 128},
      {DataType::kUint8, 3, DataType::kFloat, DataType::kInt8, -3},
      {DataType::kUint8, 0, DataType::kUint8, DataType::kFloat, 0},
      {DataType::kInt8, 7, DataType::kFloat, DataType::kFloat, 0},
      {DataType::kUint8, 17, DataType::kInt8, DataType::kUint8, 7},
  };
  return configs;
}

TEST(QFusedDnnlTest, ConvSweep) {
  // spatial rank, batch, in, out, group, kernel, stride, pad, dilation, size
  const std::vector<ConvSpec> geometries = {
      {2, 1, 3, 16, 1, 3, 2, 1, 1, 11},   {2, 2, 17, 33, 1, 3, 1, 1, 1, 8},  {2, 1, 33, 17, 1, 1, 1, 0, 1, 7},
      {2, 2, 16, 24, 1, 1, 2, 0, 1, 9},   {2, 1, 32, 32, 32, 3, 1, 1, 1, 10}, {2, 2, 24, 24, 24, 3, 2, 1, 1, 9},
      {2, 1, 17, 17, 17, 5, 1, 2, 1, 9},  {2, 1, 16, 32, 2, 3, 1, 1, 1, 8},  {2, 1, 8, 12, 1, 3, 1, 2, 2, 9},
      {2, 1, 64, 64, 1, 3, 1, 1, 1, 12},  {1, 2, 12, 20, 1, 3, 1, 1, 1, 15}, {3, 1, 8, 8, 1, 3, 1, 1, 1, 5},
  };
  uint32_t seed = 1000;
  int64_t tie_steps = 0;
  std::map<std::string, int> implementations;
  for (size_t g = 0; g < geometries.size(); ++g) {
    for (size_t t = 0; t < type_configs().size(); ++t) {
      const TypeConfig& types = type_configs()[t];
      QuantizationSpec spec;
      spec.x_type = types.x_type;
      spec.x_zero_point = types.x_zero_point;
      spec.bias = (g + t) % 3 != 0;
      spec.post_ops = post_op_chains()[(g + t) % post_op_chains().size()];
      spec.sum_type = types.sum_type;
      spec.y_type = types.y_type;
      spec.y_zero_point = types.y_zero_point;
      spec.seed = seed++;
      const QCase test = make_conv_case(geometries[g], spec);
      for (bool channels_last : {false, true}) {
        const std::string detail = check_dnnl_against_reference(test, channels_last, tie_steps);
        ++implementations[concat(geometries[g].group == geometries[g].in_channels && geometries[g].group > 1
                                     ? "depthwise "
                                     : "",
                                 "k", geometries[g].kernel, " ", geometries[g].spatial_rank, "-D: ", detail)];
      }
    }
  }
  for (const auto& [name, count] : implementations) std::cout << "  " << name << " x" << count << "\n";
  std::cout << "  one-step differences at ties: " << tie_steps << "\n";
}

// Depthwise convolutions of s8 sources without zero point run on brdgmm_dw through the shifted
// route (quantized_primitive.h: u8 = s8 + 128, explicit horizontal padding holding 128, output rows
// grouped by the kernel rows inside the input, each group's bias lowered by 128 * the sum of those
// rows of W[m]), exactly as the reference; a bias too large for that to stay exact in float keeps
// the direct primitive.
TEST(QFusedDnnlTest, DepthwiseS8SourceRunsShiftedToU8) {
  // spatial rank, batch, in, out, group, kernel, stride, pad, dilation, size, last size, last stride
  const std::vector<ConvSpec> geometries = {
      {2, 1, 200, 200, 200, 5, 1, 2, 1, 2, 96},     // the PP-OCR classifier's short maps
      {2, 1, 88, 88, 88, 5, 1, 2, 1, 3, 96},        // 88 channels: not a multiple of 16
      {2, 2, 32, 32, 32, 5, 2, 2, 1, 6, 96, 1},     // vertical stride 2 (the classifier's 5x5 s(2,1))
      {2, 1, 24, 24, 24, 3, 2, 1, 1, 12, 40, 1},    // 3x3 s(2,1)
      {2, 1, 88, 88, 88, 5, 1, 2, 1, 40},           // an interior split into bands
      {2, 2, 40, 40, 40, 5, 2, 2, 1, 45},           // two images, stride 2
      {2, 1, 20, 20, 20, 3, 1, 0, 1, 16},           // no padding
      {2, 1, 16, 16, 16, 3, 1, 1, 1, 1, 64},        // one row: a single window row inside
  };
  const std::vector<std::vector<PostOp>> chains = {{{PostOpKind::kHardSwish}},
                                                   {{PostOpKind::kRelu}},
                                                   {},
                                                   {{PostOpKind::kHardSwish}, {PostOpKind::kLinear, 0.5f, 0.25f}}};
  uint32_t seed = 4000;
  int64_t tie_steps = 0;
  for (size_t g = 0; g < geometries.size(); ++g) {
    for (size_t c = 0; c < chains.size(); ++c) {
      QuantizationSpec spec;
      spec.x_type = DataType::kInt8;
      spec.x_zero_point = 0;
      spec.bias = (g + c) % 2 == 0;
      spec.post_ops = chains[c];
      spec.y_type = c == 2 ? DataType::kFloat : (c % 2 ? DataType::kUint8 : DataType::kInt8);
      spec.y_zero_point = spec.y_type == DataType::kUint8 ? 0 : 3;
      spec.seed = seed++;
      const QCase test = make_conv_case(geometries[g], spec);
      for (bool channels_last : {false, true}) {
        const std::string detail = check_dnnl_against_reference(test, channels_last, tie_steps);
        EXPECT_NE(detail.find("brdgmm_dw"), std::string::npos) << test.description << " ran " << detail;
        EXPECT_NE(detail.find("shifted"), std::string::npos) << test.description << " ran " << detail;
      }
    }
  }
  // Dilated (brdgmm_dw has no dilation), narrow inputs (3 columns under a 5x5 window: the explicit
  // horizontal padding would be 40% of the taps) and a bias whose lowered value would leave float's
  // exact integers: the direct primitive runs.
  {
    QuantizationSpec narrow_spec;
    narrow_spec.x_type = DataType::kInt8;
    narrow_spec.post_ops = {{PostOpKind::kHardSwish}};
    narrow_spec.y_type = DataType::kInt8;
    narrow_spec.seed = seed++;
    const QCase narrow = make_conv_case(ConvSpec{2, 1, 200, 200, 200, 5, 1, 2, 1, 20, 3}, narrow_spec);
    const std::string detail = check_dnnl_against_reference(narrow, true, tie_steps);
    EXPECT_EQ(detail.find("shifted"), std::string::npos) << detail;
  }
  {
    QuantizationSpec dilated_spec;
    dilated_spec.x_type = DataType::kInt8;
    dilated_spec.post_ops = {{PostOpKind::kRelu}};
    dilated_spec.seed = seed++;
    const QCase dilated = make_conv_case(ConvSpec{2, 1, 16, 16, 16, 3, 1, 2, 2, 9}, dilated_spec);
    const std::string detail = check_dnnl_against_reference(dilated, true, tie_steps);
    EXPECT_EQ(detail.find("shifted"), std::string::npos) << detail;
  }
  QuantizationSpec spec;
  spec.x_type = DataType::kInt8;
  spec.post_ops = {{PostOpKind::kHardSwish}};
  spec.y_type = DataType::kInt8;
  spec.seed = seed++;
  QCase test = make_conv_case(geometries[0], spec);
  int32_t* bias = test.inputs[kQInputBias].data<int32_t>();
  for (int64_t m = 0; m < test.inputs[kQInputBias].element_count(); ++m) bias[m] = (m % 2 ? 1 : -1) * (1 << 24);
  const std::string detail = check_dnnl_against_reference(test, true, tie_steps);
  EXPECT_EQ(detail.find("shifted"), std::string::npos) << detail;
  std::cout << "  one-step differences at ties: " << tie_steps << "\n";
}

// Convolutions large enough for two threads run on oneDNN's OpenMP split, or, while the cores are
// contended (dnnl_common.h), as row bands of single-threaded primitives on the thread pool
// (quantized_primitive.cpp): every band reads its own source rows and padding, writes its own
// output rows (and residual rows), and the result equals the reference's either way.
TEST(QFusedDnnlTest, ConvRowBandsMatchReference) {
  // spatial rank, batch, in, out, group, kernel, stride, pad, dilation, size
  const std::vector<ConvSpec> geometries = {
      {2, 1, 3, 32, 1, 7, 2, 3, 1, 64},       // a network's first convolution (plain source: reordered)
      {2, 2, 32, 32, 1, 3, 1, 1, 1, 40},      // two images
      {2, 1, 128, 64, 1, 1, 2, 0, 1, 56},     // strided 1x1 (ResNet's downsampling)
      {2, 1, 48, 48, 1, 3, 2, 1, 1, 33},      // stride 2, odd size
      {2, 1, 32, 32, 1, 3, 1, 0, 1, 41},      // no padding
      {2, 1, 32, 32, 1, 3, 1, 2, 2, 36},      // dilated
      {2, 1, 256, 256, 256, 5, 1, 2, 1, 40},  // depthwise, shifted s8 source in bands
  };
  const std::vector<TypeConfig> types = {
      {DataType::kUint8, 0, DataType::kUint8, DataType::kUint8, 0},
      {DataType::kInt8, 0, DataType::kFloat, DataType::kInt8, -3},
      {DataType::kUint8, 128, DataType::kInt8, DataType::kFloat, 0},
  };
  const std::vector<std::vector<PostOp>> chains = {
      {{PostOpKind::kSum}, {PostOpKind::kRelu}}, {{PostOpKind::kHardSwish}}, {{PostOpKind::kRelu}, {PostOpKind::kSum}}};
  uint32_t seed = 5000;
  int64_t tie_steps = 0;
  for (size_t g = 0; g < geometries.size(); ++g) {
    for (size_t t = 0; t < types.size(); ++t) {
      QuantizationSpec spec;
      spec.x_type = types[t].x_type;
      spec.x_zero_point = types[t].x_zero_point;
      spec.bias = (g + t) % 2 == 0;
      spec.post_ops = chains[(g + t) % chains.size()];
      spec.sum_type = types[t].sum_type;
      spec.y_type = types[t].y_type;
      spec.y_zero_point = types[t].y_zero_point;
      spec.seed = seed++;
      const QCase test = make_conv_case(geometries[g], spec);
      for (bool channels_last : {false, true}) {
        for (const bool contended : {true, false}) {
          dnnl_backend::hold_cores_contended(contended ? 60.0 : 0.0);
          const std::string detail = check_dnnl_against_reference(test, channels_last, tie_steps);
          const bool banded = detail.find("of rows per image") != std::string::npos;
          // The depthwise s8 source runs in bands (the shifted route) either way.
          const bool shifted = detail.find("shifted") != std::string::npos;
          EXPECT_EQ(shifted, g + 1 == geometries.size() && types[t].x_type == DataType::kInt8) << detail;
          EXPECT_EQ(banded, contended || shifted) << test.description << " ran " << detail;
        }
      }
    }
  }
  dnnl_backend::hold_cores_contended(0.0);
  std::cout << "  one-step differences at ties: " << tie_steps << "\n";
}

// Several OpenMP executions far slower than the primitive's best in a short while mark the cores
// contended; then a convolution without row bands (1-D here) runs on a primitive created for one
// thread, exactly.
TEST(QFusedDnnlTest, ContendedCoresRunWithoutTheOpenMpSplit) {
  dnnl_backend::hold_cores_contended(0.0);
  double best = 1e-4;
  for (int i = 0; i < 10; ++i) dnnl_backend::record_openmp_execution(9e-4, best);  // VM jitter: under 1 ms
  EXPECT_FALSE(dnnl_backend::cores_contended());
  dnnl_backend::record_openmp_execution(5e-3, best);  // two stalls (scheduler periods) among 8
  for (int i = 0; i < 5; ++i) dnnl_backend::record_openmp_execution(1e-4, best);
  dnnl_backend::record_openmp_execution(5e-3, best);
  EXPECT_FALSE(dnnl_backend::cores_contended());
  dnnl_backend::record_openmp_execution(5e-3, best);  // a third one: 3 of the last 8
  EXPECT_TRUE(dnnl_backend::cores_contended());
  EXPECT_EQ(best, 1e-4);

  QuantizationSpec spec;
  spec.post_ops = {{PostOpKind::kRelu}};
  spec.seed = 6000;
  const QCase test = make_conv_case(ConvSpec{1, 1, 256, 256, 1, 3, 1, 1, 1, 40}, spec);
  int64_t tie_steps = 0;
  for (const bool contended : {true, false}) {
    dnnl_backend::hold_cores_contended(contended ? 60.0 : 0.0);
    const std::string detail = check_dnnl_against_reference(test, true, tie_steps);
    EXPECT_EQ(detail.find("one thread (cores contended)") != std::string::npos, contended) << detail;
  }
  dnnl_backend::hold_cores_contended(0.0);
}

TEST(QFusedDnnlTest, MatMulSweep) {
  const std::vector<MatMulSpec> shapes = {
      {{5, 16}, {16, 7}, true},          {{2, 3, 1}, {1, 9}, true},         {{7, 33}, {33, 1}, true},
      {{2, 6, 40}, {40, 31}, true},      {{2, 4, 6}, {2, 6, 5}, false},     {{2, 3, 4, 17}, {3, 17, 9}, false},
      {{1, 8, 1}, {2, 1, 1, 3}, false}, {{64, 64}, {64, 48}, true},
  };
  uint32_t seed = 2000;
  int64_t tie_steps = 0;
  std::map<std::string, int> implementations;
  for (size_t s = 0; s < shapes.size(); ++s) {
    for (size_t t = 0; t < type_configs().size(); ++t) {
      const TypeConfig& types = type_configs()[t];
      QuantizationSpec spec;
      spec.x_type = types.x_type;
      spec.x_zero_point = types.x_zero_point;
      spec.bias = (s + t) % 3 != 0;
      spec.post_ops = post_op_chains()[(s + t) % post_op_chains().size()];
      spec.sum_type = types.sum_type;
      spec.y_type = types.y_type;
      spec.y_zero_point = types.y_zero_point;
      spec.seed = seed++;
      const QCase test = make_matmul_case(shapes[s], spec);
      ++implementations[check_dnnl_against_reference(test, false, tie_steps)];
    }
  }
  for (const auto& [name, count] : implementations) std::cout << "  " << name << " x" << count << "\n";
  std::cout << "  one-step differences at ties: " << tie_steps << "\n";
}

// Chains oneDNN 2.6 would miscompute (one element-wise algorithm twice with different parameters,
// including the final quantizing linear step) are declined at creation, saying why.
TEST(QFusedDnnlTest, ConflictingEltwiseChainsDecline) {
  QuantizationSpec spec;
  // Not trailing: the affine cannot merge with the quantizing linear step, and 2.6 would give the
  // second linear the first one's parameters.
  spec.post_ops = {{PostOpKind::kLinear, 0.5f, 0.25f}, {PostOpKind::kRelu}};
  const QCase test = make_conv_case(ConvSpec{}, spec);
  std::map<std::string, const Tensor*> constants;
  for (size_t index : test.constant_inputs) constants[test.node.inputs[index]] = &test.inputs[index];
  KernelCreateInfo info{test.node, 17, [&](const std::string& name) -> const Tensor* {
                          auto found = constants.find(name);
                          return found == constants.end() ? nullptr : found->second;
                        }};
  info.registry = &builtin_kernel_registry();
  const KernelChoice choice = builtin_kernel_registry().create(info);
  EXPECT_EQ(choice.implementation, "reference");
  ASSERT_FALSE(choice.declined_reasons.empty());
  EXPECT_NE(choice.declined_reasons[0].find("miscomputes"), std::string::npos) << choice.declined_reasons[0];
}

// ---------------------------------------------------------------------------------------------
// 8-bit data movement between quantized ops: MaxPool, GlobalMaxPool, Concat, nearest Resize on
// oneDNN, exact against the reference in both layouts.

void check_8bit_movement(const Node& node, const std::vector<Tensor>& inputs, const std::vector<size_t>& constants,
                         int64_t opset, const std::string& description) {
  std::vector<const Tensor*> plain_inputs;
  for (const auto& input : inputs) plain_inputs.push_back(input.empty() ? nullptr : &input);
  const std::vector<Tensor> expected = run_node(node, plain_inputs, opset, constants);
  for (bool channels_last : {false, true}) {
    std::vector<Tensor> converted(inputs.size());
    std::vector<const Tensor*> dnnl_inputs = plain_inputs;
    for (size_t i = 0; i < inputs.size() && channels_last; ++i) {
      if (inputs[i].empty() || inputs[i].rank() != 4) continue;
      converted[i] = channels_last_copy(inputs[i]);
      dnnl_inputs[i] = &converted[i];
    }
    std::string detail;
    const std::vector<Tensor> actual = run_node(node, dnnl_inputs, opset, constants, 2, "dnnl", &detail);
    const std::string context = concat(description, channels_last ? " [channels-last]" : " [plain]", " (ran: ", detail, ")");
    EXPECT_EQ(detail.find("fallback"), std::string::npos) << context;
    ThreadPool pool(1);
    const Tensor plain = actual[0].layout() == Layout::kPlain ? actual[0].clone() : to_plain(actual[0], pool);
    ASSERT_EQ(plain.dtype(), expected[0].dtype()) << context;
    ASSERT_EQ(plain.shape(), expected[0].shape()) << context;
    for (int64_t i = 0; i < plain.element_count(); ++i)
      ASSERT_EQ(plain.value_as_int64(i), expected[0].value_as_int64(i)) << context << " element " << i;
  }
}

TEST(QFusedDnnlTest, EightBitDataMovementIsExact) {
  uint32_t seed = 3000;
  for (DataType dtype : {DataType::kUint8, DataType::kInt8}) {
    const std::string type = dtype_name(dtype);
    for (int64_t ceil_mode : {0, 1}) {
      std::vector<Tensor> inputs;
      inputs.push_back(random_8bit(dtype, {2, 17, 9, 12}, seed++));
      const Node node = make_node("MaxPool", 1, 1,
                                  {ints_attribute("kernel_shape", {3, 3}), ints_attribute("strides", {2, 2}),
                                   ints_attribute("pads", {1, 1, 1, 1}), int_attribute("ceil_mode", ceil_mode)});
      check_8bit_movement(node, inputs, {}, 12, concat("MaxPool 3x3 stride 2 ceil_mode ", ceil_mode, " ", type));
    }
    {
      std::vector<Tensor> inputs;
      inputs.push_back(random_8bit(dtype, {2, 33, 7, 5}, seed++));
      check_8bit_movement(make_node("GlobalMaxPool", 1, 1), inputs, {}, 12, concat("GlobalMaxPool ", type));
    }
    {
      std::vector<Tensor> inputs;
      inputs.push_back(random_8bit(dtype, {2, 3, 6, 5}, seed++));
      inputs.push_back(random_8bit(dtype, {2, 17, 6, 5}, seed++));
      inputs.push_back(random_8bit(dtype, {2, 1, 6, 5}, seed++));
      check_8bit_movement(make_node("Concat", 3, 1, {int_attribute("axis", 1)}), inputs, {}, 13,
                          concat("Concat axis 1 ", type));
    }
    {
      std::vector<Tensor> inputs;
      inputs.push_back(random_8bit(dtype, {1, 19, 5, 6}, seed++));
      inputs.push_back(Tensor());
      inputs.push_back(Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
      const Node node = make_node("Resize", 3, 1,
                                  {string_attribute("mode", "nearest"),
                                   string_attribute("coordinate_transformation_mode", "asymmetric"),
                                   string_attribute("nearest_mode", "floor")});
      check_8bit_movement(node, inputs, {2}, 11, concat("Resize nearest x2 ", type));
    }
  }
}

// Rough timing of one int8 3x3 convolution (64 -> 64 channels, 80x80, channels-last, u8 in and
// out) against the float oneDNN convolution of the same shape. Not a benchmark of record: run by
// hand with --gtest_also_run_disabled_tests.
TEST(QFusedDnnlTest, DISABLED_TimingInt8VersusFloatConv) {
  QuantizationSpec spec;
  spec.post_ops = {{PostOpKind::kRelu}};
  const QCase quantized = make_conv_case(ConvSpec{2, 1, 64, 64, 1, 3, 1, 1, 1, 80}, spec);
  spec.x_zero_point = 128;
  const QCase with_zero_point = make_conv_case(ConvSpec{2, 1, 64, 64, 1, 3, 1, 1, 1, 80}, spec);
  Node float_node = make_node("Conv", 3, 1, {ints_attribute("pads", {1, 1, 1, 1})});
  const Tensor float_x = random_tensor({1, 64, 80, 80}, 1);
  const Tensor float_w = random_tensor({64, 64, 3, 3}, 2);
  const Tensor float_b = random_tensor({64}, 3);
  const auto time_node = [](const Node& node, std::vector<const Tensor*> inputs, const std::vector<size_t>& constants) {
    std::map<std::string, const Tensor*> constant_map;
    for (size_t index : constants) constant_map[node.inputs[index]] = inputs[index];
    KernelCreateInfo info{node, 17, [&](const std::string& name) -> const Tensor* {
                            auto found = constant_map.find(name);
                            return found == constant_map.end() ? nullptr : found->second;
                          }};
    KernelChoice choice = builtin_kernel_registry().create(info, "dnnl");
    ThreadPool pool(2);
    ThreadPool single(1);
    const Tensor channels_last = to_channels_last(*inputs[0], single);
    inputs[0] = &channels_last;
    std::vector<double> times;
    for (int i = 0; i < 30; ++i) {
      std::vector<Tensor> outputs(1);
      KernelContext context(inputs, outputs, pool);
      const auto start = std::chrono::steady_clock::now();
      choice.kernel->run(context);
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    std::cout << "  " << node.op_type << " " << choice.kernel->detail() << ": median " << times[times.size() / 2]
              << " ms, min " << times.front() << " ms\n";
  };
  time_node(quantized.node, quantized.pointers(), quantized.constant_inputs);
  time_node(with_zero_point.node, with_zero_point.pointers(), with_zero_point.constant_inputs);
  time_node(float_node, {&float_x, &float_w, &float_b}, {1, 2});
}

}  // namespace
}  // namespace octet::testing
