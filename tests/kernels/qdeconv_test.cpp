// octet.QFusedConvTranspose (src/kernels/quantized_ops.h).
//
// The reference kernel is checked against a naive double-precision "dequantize -> float
// ConvTranspose -> quantize" written here (a gather over output positions, unlike the reference's
// scatter); the oneDNN kernel is checked against the reference on sweeps of geometries, types,
// zero points, post-op chains and layouts. Integer outputs must be equal; the contract allows one
// step only where the reference's value before rounding, real * (1 / y_scale), lies within
// kTieWindow of a .5 tie. Every other difference is a failure printed with the case's description.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/layout.h"
#include "kernels/dnnl/dnnl_common.h"
#include "kernel_test_util.h"
#include "quantized_test_util.h"
#include "kernels/post_ops.h"
#include "kernels/quantized_ops.h"

namespace octet::testing {
namespace {

constexpr size_t kQInputCount = 11;
// Distance from a .5 tie within which the contract lets an optimized kernel round the other way.
constexpr double kTieWindow = 1e-3;
// Float outputs: the same float steps, but oneDNN may fuse multiply-adds and evaluate sigmoid with
// its own polynomial; a few ulps of values of magnitude ~10.
constexpr double kFloatTolerance = 1e-4;

// Transposed-convolution geometry (2-D unless spatial_rank says otherwise).
struct DeconvSpec {
  int spatial_rank = 2;
  int64_t batch = 1, in_channels = 8, out_channels = 8, group = 1, kernel = 2, stride = 2, pad = 0,
          output_padding = 0, dilation = 1, size = 6;

  std::string describe() const {
    return concat("deconv ", spatial_rank, "-D batch ", batch, " ", in_channels, "->", out_channels, " group ", group,
                  " kernel ", kernel, " stride ", stride, " pad ", pad, " output_padding ", output_padding,
                  " dilation ", dilation, " size ", size);
  }
};

// What the tests vary besides the geometry.
struct QuantizationSpec {
  DataType x_type = DataType::kUint8;
  int32_t x_zero_point = 0;
  bool bias = true;
  std::vector<PostOp> post_ops;
  DataType sum_type = DataType::kUndefined;  // the residual's type when post_ops has a sum
  int32_t sum_zero_point = 0;                // for an 8-bit residual
  DataType y_type = DataType::kUint8;        // kFloat: float output
  int32_t y_zero_point = 0;
  uint32_t seed = 1;

  std::string describe() const {
    return concat("x ", dtype_name(x_type), " zp ", x_zero_point, ", bias ", bias ? "yes" : "no", ", post-ops ",
                  post_ops_string(post_ops),
                  sum_type == DataType::kUndefined ? "" : concat("(sum ", dtype_name(sum_type), " zp ", sum_zero_point, ") "), ", y ",
                  dtype_name(y_type), y_type == DataType::kFloat ? "" : concat(" zp ", y_zero_point), ", seed ", seed);
  }
};

// A QFusedConvTranspose node with its inputs (empty tensors for omitted ones) and a description
// naming everything needed to reproduce it.
struct QCase {
  Node node;
  std::vector<Tensor> inputs;
  std::vector<size_t> constant_inputs;
  std::string description;
  DeconvSpec geometry;

  std::vector<const Tensor*> pointers() const {
    std::vector<const Tensor*> result;
    for (const auto& input : inputs) result.push_back(input.empty() ? nullptr : &input);
    return result;
  }
  bool quantized_output() const { return !inputs[kQInputYScale].empty(); }
  // The reference's real values before quantization: the same node with float output.
  Tensor real_values() const {
    Node float_node = node;
    std::vector<const Tensor*> float_inputs = pointers();
    float_node.inputs.resize(kQInputYScale);
    float_inputs.resize(kQInputYScale);
    std::vector<size_t> constants;
    for (size_t i : constant_inputs)
      if (i < kQInputYScale) constants.push_back(i);
    return std::move(run_node(float_node, float_inputs, 17, constants)[0]);
  }
};

Shape output_shape(const DeconvSpec& deconv) {
  Shape shape{deconv.batch, deconv.out_channels};
  for (int i = 0; i < deconv.spatial_rank; ++i) {
    const int64_t size = deconv.size + i;  // non-square
    const int64_t extent = (deconv.kernel - 1) * deconv.dilation + 1;
    shape.push_back(deconv.stride * (size - 1) + deconv.output_padding + extent - 2 * deconv.pad);
  }
  return shape;
}

QCase make_case(const DeconvSpec& deconv, const QuantizationSpec& spec) {
  QCase test;
  test.geometry = deconv;
  test.inputs.resize(kQInputCount);
  Shape x_shape{deconv.batch, deconv.in_channels};
  Shape w_shape{deconv.in_channels, deconv.out_channels / deconv.group};
  for (int i = 0; i < deconv.spatial_rank; ++i) {
    x_shape.push_back(deconv.size + i);
    w_shape.push_back(deconv.kernel);
  }
  const Shape y_shape = output_shape(deconv);
  test.inputs[kQInputX] = random_8bit(spec.x_type, x_shape, spec.seed);
  test.inputs[kQInputW] = random_8bit(DataType::kInt8, w_shape, spec.seed + 1);
  const auto spatial = [&](int64_t value) { return std::vector<int64_t>(deconv.spatial_rank, value); };
  test.node = make_node(kQuantizedFusedConvTranspose, kQInputCount, 1,
                        {int_attribute("group", deconv.group), ints_attribute("strides", spatial(deconv.stride)),
                         ints_attribute("dilations", spatial(deconv.dilation)),
                         ints_attribute("pads", std::vector<int64_t>(2 * deconv.spatial_rank, deconv.pad)),
                         ints_attribute("output_padding", spatial(deconv.output_padding))});
  test.node.domain = kOctetDomain;
  write_post_ops(test.node, spec.post_ops);

  // Scales chosen so that real values span about [-4, 4]: each output sums about
  // in_channels / group * (kernel / stride)^rank products of standard deviation 74 * 73.
  std::mt19937 generator(spec.seed * 7919u + 13u);
  std::uniform_real_distribution<float> spread(0.5f, 1.5f);
  const float x_scale = 0.05f * spread(generator);
  double depth = static_cast<double>(deconv.in_channels / deconv.group);
  for (int i = 0; i < deconv.spatial_rank; ++i)
    depth *= std::max(1.0, static_cast<double>(deconv.kernel) / static_cast<double>(deconv.stride));
  const float typical = x_scale * 74.0f * 73.0f * static_cast<float>(std::sqrt(depth));
  test.inputs[kQInputXScale] = Tensor::scalar<float>(x_scale);
  test.inputs[kQInputXZeroPoint] = zero_point_scalar(spec.x_type, spec.x_zero_point);
  Tensor w_scale(DataType::kFloat, {deconv.out_channels});
  for (int64_t c = 0; c < deconv.out_channels; ++c) w_scale.data<float>()[c] = 2.0f / typical * spread(generator);
  test.inputs[kQInputWScale] = std::move(w_scale);
  if (spec.bias) {
    Tensor bias(DataType::kInt32, {deconv.out_channels});
    std::uniform_int_distribution<int32_t> bias_values(-40000, 40000);
    for (int64_t c = 0; c < deconv.out_channels; ++c) bias.data<int32_t>()[c] = bias_values(generator);
    test.inputs[kQInputBias] = std::move(bias);
  }
  const bool has_sum = std::any_of(spec.post_ops.begin(), spec.post_ops.end(),
                                   [](const PostOp& post_op) { return post_op.kind == PostOpKind::kSum; });
  if (has_sum) {
    if (spec.sum_type == DataType::kFloat) {
      test.inputs[kQInputSum] = random_tensor(y_shape, spec.seed + 101, -2.0f, 2.0f);
    } else {
      test.inputs[kQInputSum] = random_8bit(spec.sum_type, y_shape, spec.seed + 101);
      test.inputs[kQInputSumScale] = Tensor::scalar<float>(0.015f * spread(generator));
      test.inputs[kQInputSumZeroPoint] = zero_point_scalar(spec.sum_type, spec.sum_zero_point);
    }
  }
  test.constant_inputs = {kQInputXScale, kQInputXZeroPoint, kQInputW, kQInputWScale};
  for (size_t i : {kQInputBias, kQInputSumScale, kQInputSumZeroPoint})
    if (!test.inputs[i].empty()) test.constant_inputs.push_back(i);
  for (size_t i = 0; i < kQInputCount; ++i)
    if (test.inputs[i].empty()) test.node.inputs[i].clear();
  if (spec.y_type != DataType::kFloat) {
    // y_scale from the float result: its largest magnitude over 150 steps (some saturation).
    const Tensor real = test.real_values();
    double largest = 1e-3;
    for (int64_t i = 0; i < real.element_count(); ++i) largest = std::max(largest, std::fabs(real.value_as_double(i)));
    test.inputs[kQInputYScale] = Tensor::scalar<float>(static_cast<float>(largest / 150.0));
    test.inputs[kQInputYZeroPoint] = zero_point_scalar(spec.y_type, spec.y_zero_point);
    test.node.inputs[kQInputYScale] = concat("in", kQInputYScale);
    test.node.inputs[kQInputYZeroPoint] = concat("in", kQInputYZeroPoint);
    test.constant_inputs.push_back(kQInputYScale);
    test.constant_inputs.push_back(kQInputYZeroPoint);
  }
  while (!test.node.inputs.empty() && test.node.inputs.back().empty()) test.node.inputs.pop_back();
  test.description = concat(deconv.describe(), ", ", spec.describe(), ", x_scale ", x_scale,
                            spec.y_type == DataType::kFloat
                                ? std::string()
                                : concat(", y_scale ", test.inputs[kQInputYScale].data<float>()[0]));
  return test;
}

// ---------------------------------------------------------------------------------------------
// The reference kernel against dequantize -> float ConvTranspose -> quantize, in double.

double naive_post_op(const PostOp& post_op, double x) {
  switch (post_op.kind) {
    case PostOpKind::kRelu: return std::max(x, 0.0);
    case PostOpKind::kSigmoid: return 1.0 / (1.0 + std::exp(-x));
    case PostOpKind::kClip: return std::clamp(x, static_cast<double>(post_op.alpha), static_cast<double>(post_op.beta));
    case PostOpKind::kLinear: return post_op.alpha * x + post_op.beta;
    default: ADD_FAILURE() << "naive_post_op: " << post_op_name(post_op.kind); return x;
  }
}

// The real value of output element `index` of a 2-D case, gathered: output position o receives
// input position i through kernel element k when i * stride - pad + k * dilation = o.
double naive_real(const QCase& test, int64_t index) {
  const DeconvSpec& deconv = test.geometry;
  const Tensor& x = test.inputs[kQInputX];
  const Tensor& w = test.inputs[kQInputW];
  const Shape y_shape = output_shape(deconv);
  const int64_t out_height = y_shape[2], out_width = y_shape[3], height = x.dim(2), width = x.dim(3);
  const int64_t ow = index % out_width, oh = index / out_width % out_height;
  const int64_t m = index / (out_width * out_height) % deconv.out_channels;
  const int64_t n = index / (out_width * out_height * deconv.out_channels);
  const int64_t in_per_group = deconv.in_channels / deconv.group, out_per_group = deconv.out_channels / deconv.group;
  const int64_t g = m / out_per_group;
  const double x_scale = test.inputs[kQInputXScale].value_as_double(0);
  const double x_zero = test.inputs[kQInputXZeroPoint].value_as_double(0);
  const double w_scale = test.inputs[kQInputWScale].value_as_double(m);
  double real = test.inputs[kQInputBias].empty() ? 0.0 : test.inputs[kQInputBias].value_as_double(m) * x_scale * w_scale;
  for (int64_t c = g * in_per_group; c < (g + 1) * in_per_group; ++c) {
    for (int64_t kh = 0; kh < deconv.kernel; ++kh) {
      for (int64_t kw = 0; kw < deconv.kernel; ++kw) {
        const int64_t h_numerator = oh + deconv.pad - kh * deconv.dilation;
        const int64_t w_numerator = ow + deconv.pad - kw * deconv.dilation;
        if (h_numerator < 0 || w_numerator < 0 || h_numerator % deconv.stride || w_numerator % deconv.stride) continue;
        const int64_t ih = h_numerator / deconv.stride, iw = w_numerator / deconv.stride;
        if (ih >= height || iw >= width) continue;
        const double dequantized_x = (x.value_as_double(((n * deconv.in_channels + c) * height + ih) * width + iw) - x_zero) * x_scale;
        const double dequantized_w =
            w.value_as_double(((c * out_per_group + m % out_per_group) * deconv.kernel + kh) * deconv.kernel + kw) * w_scale;
        real += dequantized_x * dequantized_w;
      }
    }
  }
  for (const PostOp& post_op : read_post_ops(test.node)) {
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

void check_against_naive(const DeconvSpec& deconv, const QuantizationSpec& spec) {
  const QCase test = make_case(deconv, spec);
  const Tensor y = std::move(run_node(test.node, test.pointers(), 17, test.constant_inputs)[0]);
  ASSERT_EQ(y.shape(), output_shape(deconv)) << test.description;
  int64_t ties = 0, mismatches = 0;
  for (int64_t index = 0; index < y.element_count(); ++index) {
    const double real = naive_real(test, index);
    const double actual = y.value_as_double(index);
    if (!test.quantized_output()) {
      if (std::fabs(actual - real) > kFloatTolerance * std::max(1.0, std::fabs(real)) && ++mismatches <= 10)
        ADD_FAILURE() << test.description << ": element " << index << " is " << actual << ", naive " << real;
      continue;
    }
    const double scaled = real / test.inputs[kQInputYScale].value_as_double(0);
    const double naive = std::clamp(std::nearbyint(scaled) + test.inputs[kQInputYZeroPoint].value_as_double(0),
                                    static_cast<double>(type_min(y.dtype())), static_cast<double>(type_max(y.dtype())));
    if (actual == naive) continue;
    if (std::fabs(actual - naive) == 1 && std::fabs(scaled - std::floor(scaled) - 0.5) < kTieWindow) {
      ++ties;
      continue;
    }
    if (++mismatches <= 10)
      ADD_FAILURE() << test.description << ": element " << index << " is " << actual << ", naive " << naive
                    << " (scaled " << scaled << ")";
  }
  EXPECT_EQ(mismatches, 0) << test.description;
  expect_spread(y, test.description);
  EXPECT_LE(ties, y.element_count() / 100 + 1) << test.description << ": too many tie differences";
}

TEST(QDeconvReferenceTest, MatchesNaiveDequantizedTransposedConvolution) {
  // spatial rank, batch, in, out, group, kernel, stride, pad, output_padding, dilation, size
  const std::vector<DeconvSpec> geometries = {
      {2, 1, 4, 6, 1, 2, 2, 0, 0, 1, 5}, {2, 2, 5, 3, 1, 3, 2, 1, 1, 1, 4}, {2, 1, 7, 5, 1, 4, 2, 1, 0, 1, 4},
      {2, 1, 6, 4, 2, 3, 1, 1, 0, 1, 5}, {2, 1, 3, 5, 1, 3, 3, 2, 2, 2, 4},
  };
  const std::vector<std::vector<PostOp>> chains = {
      {}, {{PostOpKind::kRelu}}, {{PostOpKind::kSigmoid}}, {{PostOpKind::kSum}, {PostOpKind::kRelu}},
      {{PostOpKind::kClip, 0.0f, 3.0f}}};
  uint32_t seed = 1;
  for (const DeconvSpec& deconv : geometries) {
    for (size_t chain = 0; chain < chains.size(); ++chain) {
      QuantizationSpec spec;
      spec.x_type = chain % 2 ? DataType::kInt8 : DataType::kUint8;
      spec.x_zero_point = chain % 2 ? -7 : 120;
      spec.bias = chain != 1;
      spec.post_ops = chains[chain];
      spec.sum_type = chain == 3 ? DataType::kInt8 : DataType::kUndefined;
      spec.sum_zero_point = -3;
      spec.y_type = chain == 2 || chain == 4 ? DataType::kFloat : (chain % 2 ? DataType::kInt8 : DataType::kUint8);
      spec.y_zero_point = spec.y_type == DataType::kUint8 ? 100 : 5;
      spec.seed = seed++;
      check_against_naive(deconv, spec);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The oneDNN kernel against the reference.

// Counts mismatches the contract does not allow (printing the first ones) and the allowed
// one-step differences at ties.
void compare_results(const Tensor& actual, const Tensor& expected, const Tensor& real, float y_scale,
                     const std::string& context, int64_t& tie_steps) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << context;
  ASSERT_EQ(actual.shape(), expected.shape()) << context;
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
      if (std::fabs(a - e) == 1 && std::fabs(scaled - std::floor(scaled) - 0.5) < kTieWindow) {
        ++tie_steps;
        continue;
      }
    }
    if (++mismatches <= 20)
      ADD_FAILURE() << context << ": element " << i << " of " << shape_to_string(expected.shape()) << " is " << a
                    << ", expected " << e << " (real " << real.data<float>()[i] << ")";
  }
  EXPECT_EQ(mismatches, 0) << context;
}

// Runs `test` on the reference and on oneDNN (X, and the residual, channels-last when asked).
// Returns the oneDNN implementation name.
std::string check_dnnl_against_reference(const QCase& test, bool channels_last, int64_t& tie_steps) {
  const std::vector<Tensor> expected = run_node(test.node, test.pointers(), 17, test.constant_inputs);
  const Tensor real = test.quantized_output() ? test.real_values() : expected[0].clone();
  std::vector<const Tensor*> inputs = test.pointers();
  ThreadPool pool(1);
  Tensor x_channels_last, sum_channels_last;
  if (channels_last) {
    x_channels_last = to_channels_last(test.inputs[kQInputX], pool);
    inputs[kQInputX] = &x_channels_last;
    if (!test.inputs[kQInputSum].empty()) {
      sum_channels_last = to_channels_last(test.inputs[kQInputSum], pool);
      inputs[kQInputSum] = &sum_channels_last;
    }
  }
  std::string detail;
  const std::vector<Tensor> actual = run_node(test.node, inputs, 17, test.constant_inputs, 2, "dnnl", &detail);
  const std::string context =
      concat(test.description, channels_last ? " [channels-last]" : " [plain]", " (ran: ", detail, ")");
  EXPECT_EQ(detail.find("fallback"), std::string::npos) << context;
  EXPECT_EQ(detail.rfind("ref", 0), std::string::npos) << context;
  const Tensor plain = actual[0].layout() == Layout::kPlain ? actual[0].clone() : to_plain(actual[0], pool);
  const float y_scale = test.quantized_output() ? test.inputs[kQInputYScale].data<float>()[0] : 1.0f;
  compare_results(plain, expected[0], real, y_scale, context, tie_steps);
  return detail;
}

struct TypeConfig {
  DataType x_type;
  int32_t x_zero_point;
  DataType sum_type;
  DataType y_type;
  int32_t y_zero_point;
};

TEST(QDeconvDnnlTest, Sweep) {
  // spatial rank, batch, in, out, group, kernel, stride, pad, output_padding, dilation, size
  const std::vector<DeconvSpec> geometries = {
      {2, 1, 24, 24, 1, 2, 2, 0, 0, 1, 9},  {2, 1, 24, 1, 1, 2, 2, 0, 0, 1, 8},  {2, 2, 5, 7, 1, 3, 2, 1, 1, 1, 6},
      {2, 1, 17, 9, 1, 4, 2, 1, 0, 1, 5},   {2, 1, 16, 16, 1, 3, 1, 1, 0, 1, 7}, {2, 1, 3, 13, 1, 2, 1, 0, 0, 1, 6},
      {2, 1, 32, 16, 1, 4, 2, 1, 0, 1, 6},  {2, 1, 8, 12, 2, 3, 2, 1, 1, 1, 5},  {1, 2, 12, 20, 1, 4, 2, 1, 0, 1, 9},
      {3, 1, 8, 8, 1, 2, 2, 0, 0, 1, 4},
  };
  const std::vector<std::vector<PostOp>> chains = {
      {},
      {{PostOpKind::kRelu}},
      {{PostOpKind::kSigmoid}},
      {{PostOpKind::kClip, 0.0f, 6.0f}},
      {{PostOpKind::kSum}},
      {{PostOpKind::kSum}, {PostOpKind::kRelu}},
  };
  const std::vector<TypeConfig> types = {
      {DataType::kUint8, 0, DataType::kUint8, DataType::kUint8, 0},
      {DataType::kUint8, 128, DataType::kUint8, DataType::kUint8, 100},
      {DataType::kInt8, 0, DataType::kInt8, DataType::kInt8, 0},
      {DataType::kInt8, -5, DataType::kInt8, DataType::kUint8, 128},
      {DataType::kUint8, 3, DataType::kFloat, DataType::kInt8, -3},
      {DataType::kUint8, 0, DataType::kUint8, DataType::kFloat, 0},
      {DataType::kInt8, 7, DataType::kFloat, DataType::kFloat, 0},
  };
  uint32_t seed = 3000;
  int64_t tie_steps = 0;
  std::map<std::string, int> implementations;
  for (size_t g = 0; g < geometries.size(); ++g) {
    for (size_t t = 0; t < types.size(); ++t) {
      QuantizationSpec spec;
      spec.x_type = types[t].x_type;
      spec.x_zero_point = types[t].x_zero_point;
      spec.bias = (g + t) % 3 != 0;
      spec.post_ops = chains[(g + t) % chains.size()];
      // An 8-bit residual into an 8-bit output is declined (see below): the residual is float
      // there, added by a binary post-op.
      spec.sum_type = types[t].y_type == DataType::kFloat ? types[t].sum_type : DataType::kFloat;
      spec.sum_zero_point = types[t].sum_type == DataType::kUint8 ? 131 : -3;
      spec.y_type = types[t].y_type;
      spec.y_zero_point = types[t].y_zero_point;
      spec.seed = seed++;
      const QCase test = make_case(geometries[g], spec);
      for (bool channels_last : {false, true}) {
        std::string detail;
        try {
          detail = check_dnnl_against_reference(test, channels_last, tie_steps);
        } catch (const Error& error) {
          ADD_FAILURE() << test.description << ": " << error.what();
          continue;
        }
        ++implementations[concat("k", geometries[g].kernel, " s", geometries[g].stride, " ",
                                 geometries[g].spatial_rank, "-D: ", detail)];
      }
    }
  }
  for (const auto& [name, count] : implementations) std::cout << "  " << name << " x" << count << "\n";
  std::cout << "  one-step differences at ties: " << tie_steps << "\n";
}

// Deconvolutions whose input rows each write their own output rows (kernel height = vertical
// stride, no vertical padding: the PP-OCR detector's 2x2 stride-2 upsampling), large enough for two
// threads, run while the cores are contended as bands of input rows on the thread pool, exactly as
// the reference; others run whole.
TEST(QDeconvDnnlTest, RowBandsOfIndependentRows) {
  // spatial rank, batch, in, out, group, kernel, stride, pad, output_padding, dilation, size
  const std::vector<DeconvSpec> banded = {{2, 1, 64, 32, 1, 2, 2, 0, 0, 1, 24}, {2, 2, 32, 48, 1, 3, 3, 0, 0, 1, 13}};
  const std::vector<DeconvSpec> whole = {{2, 1, 64, 32, 1, 4, 2, 1, 0, 1, 20}};
  const std::vector<TypeConfig> types = {
      {DataType::kUint8, 0, DataType::kUint8, DataType::kUint8, 0},
      {DataType::kInt8, -5, DataType::kFloat, DataType::kInt8, 3},
      {DataType::kUint8, 128, DataType::kFloat, DataType::kFloat, 0},
  };
  const std::vector<std::vector<PostOp>> chains = {{{PostOpKind::kRelu}}, {{PostOpKind::kSum}}, {{PostOpKind::kSigmoid}}};
  uint32_t seed = 3500;
  int64_t tie_steps = 0;
  for (const bool expect_bands : {true, false}) {
    for (const DeconvSpec& geometry : expect_bands ? banded : whole) {
      for (size_t t = 0; t < types.size(); ++t) {
        QuantizationSpec spec;
        spec.x_type = types[t].x_type;
        spec.x_zero_point = types[t].x_zero_point;
        spec.bias = t != 1;
        spec.post_ops = chains[t];
        spec.sum_type = types[t].sum_type;
        spec.y_type = types[t].y_type;
        spec.y_zero_point = types[t].y_zero_point;
        spec.seed = seed++;
        const QCase test = make_case(geometry, spec);
        for (const bool channels_last : {false, true}) {
          dnnl_backend::hold_cores_contended(60.0);
          const std::string detail = check_dnnl_against_reference(test, channels_last, tie_steps);
          EXPECT_EQ(detail.find("rows per image") != std::string::npos, expect_bands)
              << test.description << " ran " << detail;
        }
      }
    }
  }
  dnnl_backend::hold_cores_contended(0.0);
  std::cout << "  one-step differences at ties: " << tie_steps << "\n";
}

// oneDNN 2.6's int8 deconvolution has no sum post-op reading an 8-bit dst: the kernel declines at
// creation (the reference then runs the node, and placements say why) instead of failing later.
// Octet's passes never give a ConvTranspose a residual; the contract still allows one.
TEST(QDeconvDnnlTest, DeclinesAnEightBitResidualIntoAnEightBitOutput) {
  for (const int32_t sum_zero_point : {0, 131}) {
    QuantizationSpec spec;
    spec.post_ops = {{PostOpKind::kSum}};
    spec.sum_type = DataType::kUint8;
    spec.sum_zero_point = sum_zero_point;
    const QCase test = make_case(DeconvSpec{}, spec);
    try {
      run_node(test.node, test.pointers(), 17, test.constant_inputs, 1, "dnnl");
      ADD_FAILURE() << test.description << ": the oneDNN kernel accepted the node";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("8-bit residual"), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace octet::testing
