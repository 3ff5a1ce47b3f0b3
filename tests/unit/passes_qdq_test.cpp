// Tests of the QDQ execution passes (fuse_qdq_bias_and_residual, fuse_qdq): small QDQ models built
// here the way octet's and ONNX Runtime's quantizers write them (opset 13: activation Q/DQ pairs,
// int8 weights per output channel with zero point 0, int32 biases with scale x_scale * w_scale).
// Each rewrite is checked for structure (the op types after the session's optimization) and
// numerically: the optimized session (default kernels, then the reference ones) against a session
// with optimize=false, which computes the plain QDQ float semantics. Each precondition failure is
// checked to leave the pattern alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "../kernels/kernel_test_util.h"
#include "core/npy.h"
#include "kernels/quantized_ops.h"
#include "onnx/onnx_io.h"
#include "passes/fusion_passes.h"
#include "passes/optimize.h"
#include "runtime/builtin_kernels.h"
#include "runtime/session.h"

namespace octet {
namespace {

using testing::float_attribute;
using testing::int_attribute;
using testing::ints_attribute;
using testing::random_tensor;
using testing::string_attribute;

constexpr int64_t kQdqOpset = 13;  // per-axis DequantizeLinear

// Quantized outputs (compared after their DequantizeLinear) may differ by one quantization step:
// the fused op accumulates exactly in int32 and multiplies once by x_scale * w_scale, while the QDQ
// float model sums rounded float products. Their real results differ by float rounding (about 1e-6
// relative), which moves a value lying that close to a rounding tie to the neighbouring step; never
// further. Such ties are rare in random data, so at most this fraction of elements may differ.
constexpr double kMaxOneStepFraction = 0.02;
// Float outputs of a fused op: the same float rounding difference on values of magnitude O(1) with
// accumulation depths below 100 (plus a float bias requantized to int32, off by at most half an
// accumulator unit, ~1e-5 here): 1e-4 absolute is far below any wiring mistake.
constexpr double kFloatOutputTolerance = 1e-4;
// Folding a DequantizeLinear of constants computes the same float weights: the float ops then see
// identical inputs. A little slack for kernels that pack constant and run-time weights differently.
constexpr double kFoldingTolerance = 1e-5;
// Fused outputs must not be degenerate (e.g. all clamped to zero): at least this many distinct values.
constexpr size_t kMinDistinctValues = 8;

ValueInfo value_info(const std::string& name, const std::vector<int64_t>& dims, DataType dtype = DataType::kFloat) {
  ValueInfo info;
  info.name = name;
  info.dtype = dtype;
  info.has_shape = true;
  for (int64_t dim : dims) info.dims.push_back({dim, ""});
  return info;
}

// Builds QDQ graphs: every helper adds nodes and initializers named after the value it quantizes.
class QdqModelBuilder {
 public:
  explicit QdqModelBuilder(uint32_t seed = 1) : generator_(seed) { model.opset_imports[""] = kQdqOpset; }

  Model model;
  Graph& graph() { return model.graph; }

  void input(const std::string& name, const std::vector<int64_t>& dims) { graph().inputs.push_back(value_info(name, dims)); }
  void output(const std::string& name, const std::vector<int64_t>& dims) {
    graph().outputs.push_back(value_info(name, dims));
  }
  void declare(const std::string& name, const std::vector<int64_t>& dims) {
    graph().value_infos[name] = value_info(name, dims);
  }
  void initializer(const std::string& name, Tensor tensor) {
    graph().initializers[name] = std::make_shared<const Tensor>(std::move(tensor));
  }
  Node& node(const std::string& op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
             std::vector<Attribute> attributes = {}) {
    Node node;
    node.name = op_type + "_" + std::to_string(graph().nodes.size());
    node.op_type = op_type;
    node.inputs = std::move(inputs);
    node.outputs = std::move(outputs);
    node.attributes = std::move(attributes);
    graph().nodes.push_back(std::move(node));
    return graph().nodes.back();
  }

  // x -> QuantizeLinear(scale, zero_point) -> x_q -> DequantizeLinear -> x_dq (returned).
  std::string quantize(const std::string& x, float scale, int32_t zero_point, DataType dtype = DataType::kUint8) {
    initializer(x + "_scale", Tensor::scalar(scale));
    initializer(x + "_zero_point", dtype == DataType::kUint8 ? Tensor::scalar(static_cast<uint8_t>(zero_point))
                                                             : Tensor::scalar(static_cast<int8_t>(zero_point)));
    node("QuantizeLinear", {x, x + "_scale", x + "_zero_point"}, {x + "_q"});
    node("DequantizeLinear", {x + "_q", x + "_scale", x + "_zero_point"}, {x + "_dq"});
    return x + "_dq";
  }

  // Random int8 weights in [-127, 127] -> DequantizeLinear(scales, zeros, axis) -> name_dq. One
  // scale is per tensor (a scalar).
  std::string weights(const std::string& name, const Shape& shape, const std::vector<float>& scales, int64_t axis,
                      int8_t zero_point = 0) {
    Tensor quantized(DataType::kInt8, shape);
    std::uniform_int_distribution<int> distribution(-127, 127);
    for (int64_t i = 0; i < quantized.element_count(); ++i)
      quantized.data<int8_t>()[i] = static_cast<int8_t>(distribution(generator_));
    initializer(name + "_q", std::move(quantized));
    const int64_t count = static_cast<int64_t>(scales.size());
    if (count == 1) {
      initializer(name + "_scale", Tensor::scalar(scales[0]));
      initializer(name + "_zero_point", Tensor::scalar(zero_point));
    } else {
      initializer(name + "_scale", Tensor::from_vector<float>({count}, scales));
      initializer(name + "_zero_point", Tensor::from_vector<int8_t>({count}, std::vector<int8_t>(count, zero_point)));
    }
    node("DequantizeLinear", {name + "_q", name + "_scale", name + "_zero_point"}, {name + "_dq"},
         {int_attribute("axis", axis)});
    return name + "_dq";
  }

  // A bias of `count` real values in [-0.2, 0.2], quantized to int32 with `scales` (one or
  // `count`), -> DequantizeLinear -> name_dq.
  std::string int32_bias(const std::string& name, int64_t count, const std::vector<float>& scales) {
    std::uniform_real_distribution<float> distribution(-0.2f, 0.2f);
    std::vector<int32_t> values(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
      values[i] = static_cast<int32_t>(std::lround(distribution(generator_) / scales[scales.size() == 1 ? 0 : i]));
    initializer(name + "_q", Tensor::from_vector<int32_t>({count}, values));
    initializer(name + "_scale", scales.size() == 1 ? Tensor::scalar(scales[0])
                                                    : Tensor::from_vector<float>({count}, scales));
    node("DequantizeLinear", {name + "_q", name + "_scale"}, {name + "_dq"}, {int_attribute("axis", 0)});
    return name + "_dq";
  }

  // Scales x_scale * w_scale[m], as quantizers compute them (float products).
  static std::vector<float> products(float x_scale, const std::vector<float>& w_scales) {
    std::vector<float> result;
    for (float scale : w_scales) result.push_back(x_scale * scale);
    return result;
  }

 private:
  std::mt19937 generator_;
};

std::vector<float> channel_scales(int64_t count, float first, float step) {
  std::vector<float> scales;
  for (int64_t i = 0; i < count; ++i) scales.push_back(first + step * static_cast<float>(i));
  return scales;
}

std::vector<std::string> op_types(const Graph& graph) {
  std::vector<std::string> types;
  for (const auto& node : graph.nodes) types.push_back(node.op_type);
  return types;
}

std::string joined(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& value : values) text += (text.empty() ? "" : " ") + value;
  return text;
}

size_t count_ops(const Graph& graph, const std::string& op_type) {
  const std::vector<std::string> types = op_types(graph);
  return static_cast<size_t>(std::count(types.begin(), types.end(), op_type));
}

const Node* find_op(const Graph& graph, const std::string& op_type) {
  for (const auto& node : graph.nodes)
    if (node.op_type == op_type) return &node;
  return nullptr;
}

// The graph a session runs: the standard passes, then the execution fusions.
Model optimized(const Model& model) {
  Model copy = model;
  optimize_model(copy, builtin_kernel_registry(), OptimizationLevel::kExecution);
  copy.graph.verify();
  return copy;
}

bool has_quantized_kernels() {
  return builtin_kernel_registry().supports(kOctetDomain, kQuantizedFusedConv) &&
         builtin_kernel_registry().supports(kOctetDomain, kQuantizedFusedMatMul);
}

std::vector<Tensor> run_session(const Model& model, bool optimize, const std::map<std::string, const Tensor*>& feeds,
                                const std::string& implementation = "") {
  SessionOptions options;
  options.optimize = optimize;
  options.threads = 1;
  options.implementation = implementation;
  Session session(model, options);
  return session.run(feeds);
}

// How an optimized output may differ from the QDQ float model's.
struct OutputTolerance {
  double step = 0;      // quantization step of the output (0: a float output)
  double steps = 1;     // allowed difference in steps
  double one_step_fraction = kMaxOneStepFraction;  // of elements allowed to differ at all
};

void expect_close_to_qdq(const Tensor& actual, const Tensor& expected, const OutputTolerance& tolerance,
                         const std::string& context) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << context;
  ASSERT_EQ(actual.shape(), expected.shape()) << context;
  const double allowed = tolerance.step > 0 ? tolerance.step * tolerance.steps + 1e-6 : kFloatOutputTolerance;
  std::set<double> distinct;
  int64_t differing = 0;
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    const double a = actual.value_as_double(i);
    const double e = expected.value_as_double(i);
    distinct.insert(e);
    ASSERT_NEAR(a, e, allowed) << context << ": element " << i << " of " << shape_to_string(expected.shape())
                               << " (output step " << tolerance.step << ")";
    if (tolerance.step > 0 && std::fabs(a - e) > 1e-6) ++differing;
  }
  EXPECT_GE(distinct.size(), std::min<size_t>(kMinDistinctValues, static_cast<size_t>(expected.element_count())))
      << context << ": degenerate output, the test would not catch a wrong result";
  EXPECT_LE(static_cast<double>(differing), tolerance.one_step_fraction * static_cast<double>(expected.element_count()))
      << context << ": " << differing << " of " << expected.element_count() << " elements differ by one step";
}

// Runs the model unoptimized (the QDQ float semantics) and optimized with the default and the
// reference implementations, and compares every output.
void expect_fused_matches_qdq(const Model& model, const std::map<std::string, const Tensor*>& feeds,
                              const std::vector<OutputTolerance>& tolerances) {
  const Model fused = optimized(model);
  const bool needs_quantized_kernels =
      count_ops(fused.graph, kQuantizedFusedConv) + count_ops(fused.graph, kQuantizedFusedMatMul) > 0;
  if (needs_quantized_kernels && !has_quantized_kernels())
    GTEST_SKIP() << "numeric check needs the QFusedConv / QFusedMatMul kernels, not built in yet";
  const std::vector<Tensor> expected = run_session(model, false, feeds);
  ASSERT_EQ(expected.size(), tolerances.size());
  for (const std::string implementation : {"", "reference"}) {
    const std::vector<Tensor> actual = run_session(model, true, feeds, implementation);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i)
      expect_close_to_qdq(actual[i], expected[i], tolerances[i],
                          "output " + model.graph.outputs[i].name + ", implementation '" + implementation + "'");
  }
}

// ---------------------------------------------------------------- Conv

// x [1, 4, 7, 7] -> Q/DQ -> Conv(W [6, 4/group, 3, 3] DQ, B DQ int32, pads 1) -> [Relu] -> y -> [Q/DQ] -> out
struct ConvCase {
  DataType activation_dtype = DataType::kUint8;
  bool per_channel_weights = true;
  int64_t weight_axis = 0;
  int8_t weight_zero_point = 0;
  bool int32_bias = true;
  float bias_scale_factor = 1;  // 1: the bias scale is exactly x_scale * w_scale
  int64_t group = 1;
  bool relu = true;
  bool quantize_output = true;
  bool output_also_read = false;  // y is also a graph output
};

constexpr int64_t kConvChannels = 4;
constexpr int64_t kConvOutputChannels = 6;  // also the input channels for the depthwise case
constexpr int64_t kConvSize = 7;
constexpr float kConvInputScale = 1.0f / 127.0f;
constexpr float kConvOutputScale = 4.0f / 255.0f;

Model make_conv_model(const ConvCase& test_case) {
  QdqModelBuilder builder;
  const int64_t channels = test_case.group == 1 ? kConvChannels : kConvOutputChannels;
  builder.input("x", {1, channels, kConvSize, kConvSize});
  const bool uint8 = test_case.activation_dtype == DataType::kUint8;
  const std::string x = builder.quantize("x", kConvInputScale, uint8 ? 128 : 0, test_case.activation_dtype);
  const int64_t group_channels = channels / test_case.group;
  const std::vector<float> w_scales =
      test_case.per_channel_weights ? channel_scales(kConvOutputChannels, 0.003f, 0.0005f) : std::vector<float>{0.004f};
  const std::string w = builder.weights("w", {kConvOutputChannels, group_channels, 3, 3}, w_scales,
                                        test_case.weight_axis, test_case.weight_zero_point);
  std::vector<float> bias_scales = QdqModelBuilder::products(kConvInputScale, w_scales);
  for (float& scale : bias_scales) scale *= test_case.bias_scale_factor;
  std::string b = "b";
  if (test_case.int32_bias) {
    b = builder.int32_bias("b", kConvOutputChannels, bias_scales);
  } else {
    builder.initializer("b", random_tensor({kConvOutputChannels}, 7, -0.2f, 0.2f));
  }
  const std::vector<int64_t> y_dims{1, kConvOutputChannels, kConvSize, kConvSize};
  builder.node("Conv", {x, w, b}, {test_case.relu ? "conv" : "y"},
               {ints_attribute("kernel_shape", {3, 3}), ints_attribute("pads", {1, 1, 1, 1}),
                int_attribute("group", test_case.group)});
  if (test_case.relu) builder.node("Relu", {"conv"}, {"y"});
  if (test_case.quantize_output) {
    builder.initializer("y_scale", Tensor::scalar(kConvOutputScale));
    builder.initializer("y_zero_point", Tensor::scalar(static_cast<uint8_t>(test_case.relu ? 0 : 128)));
    builder.node("QuantizeLinear", {"y", "y_scale", "y_zero_point"}, {"y_q"});
    builder.node("DequantizeLinear", {"y_q", "y_scale", "y_zero_point"}, {"out"});
    builder.output("out", y_dims);
  }
  if (!test_case.quantize_output || test_case.output_also_read) builder.output("y", y_dims);
  return builder.model;
}

std::vector<OutputTolerance> conv_tolerances(const ConvCase& test_case) {
  std::vector<OutputTolerance> tolerances;
  if (test_case.quantize_output) tolerances.push_back({kConvOutputScale});
  if (!test_case.quantize_output || test_case.output_also_read) tolerances.push_back({0});
  return tolerances;
}

void expect_conv_matches_qdq(const ConvCase& test_case) {
  const int64_t channels = test_case.group == 1 ? kConvChannels : kConvOutputChannels;
  const Tensor x = random_tensor({1, channels, kConvSize, kConvSize}, 11);
  expect_fused_matches_qdq(make_conv_model(test_case), {{"x", &x}}, conv_tolerances(test_case));
}

TEST(PassesFuseQdq, ConvReluQuantizeBecomesOneQuantizedConv) {
  const ConvCase test_case;
  const Model fused = optimized(make_conv_model(test_case));
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QFusedConv DequantizeLinear");
  const Node* conv = find_op(fused.graph, kQuantizedFusedConv);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->domain, kOctetDomain);
  ASSERT_EQ(conv->inputs.size(), static_cast<size_t>(kQInputYZeroPoint + 1));
  EXPECT_EQ(conv->input(kQInputX), "x_q");
  EXPECT_EQ(conv->input(kQInputW), "w_q") << "the int8 weights are read as they are";
  EXPECT_EQ(conv->input(kQInputBias), "b_q") << "bias scales equal x_scale * w_scale: the int32 bias is kept";
  EXPECT_FALSE(conv->has_input(kQInputSum));
  EXPECT_EQ(conv->outputs[0], "y_q") << "the absorbed QuantizeLinear's output name";
  EXPECT_EQ(conv->attr_strings("post_ops"), std::vector<std::string>{"relu"});
  EXPECT_EQ(conv->attr_int("group"), 1);
  EXPECT_EQ(fused.graph.find_initializer(conv->input(kQInputXScale))->rank(), 0);
  EXPECT_TRUE(fused.graph.initializers.count("w_q") && !fused.graph.initializers.count("w_dq"))
      << "dequantized weights must not be kept";
  expect_conv_matches_qdq(test_case);
}

TEST(PassesFuseQdq, ConvWithoutOutputQuantizerWritesFloat) {
  ConvCase test_case;
  test_case.quantize_output = false;
  test_case.per_channel_weights = false;
  test_case.int32_bias = false;  // a float bias, quantized to int32 by the pass
  const Model fused = optimized(make_conv_model(test_case));
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QFusedConv");
  const Node* conv = find_op(fused.graph, kQuantizedFusedConv);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->inputs.size(), static_cast<size_t>(kQInputBias + 1)) << "no output quantization inputs";
  EXPECT_EQ(conv->outputs[0], "y");
  const Tensor* bias = fused.graph.find_initializer(conv->input(kQInputBias));
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(bias->dtype(), DataType::kInt32);
  EXPECT_EQ(fused.graph.find_initializer(conv->input(kQInputWScale))->rank(), 0) << "per-tensor weight scale";
  expect_conv_matches_qdq(test_case);
}

TEST(PassesFuseQdq, ConvRequantizesABiasWithOtherScales) {
  ConvCase test_case;
  test_case.bias_scale_factor = 1.5f;
  const Model fused = optimized(make_conv_model(test_case));
  const Node* conv = find_op(fused.graph, kQuantizedFusedConv);
  ASSERT_NE(conv, nullptr);
  EXPECT_NE(conv->input(kQInputBias), "b_q");
  expect_conv_matches_qdq(test_case);
}

TEST(PassesFuseQdq, DepthwiseConvOnInt8Activations) {
  ConvCase test_case;
  test_case.activation_dtype = DataType::kInt8;
  test_case.group = kConvOutputChannels;
  const Model fused = optimized(make_conv_model(test_case));
  const Node* conv = find_op(fused.graph, kQuantizedFusedConv);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->attr_int("group"), kConvOutputChannels);
  expect_conv_matches_qdq(test_case);
}

TEST(PassesFuseQdq, ConvOutputReadElsewhereKeepsItsQuantizer) {
  ConvCase test_case;
  test_case.output_also_read = true;  // y is a graph output: the QuantizeLinear cannot be absorbed
  const Model fused = optimized(make_conv_model(test_case));
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QFusedConv QuantizeLinear DequantizeLinear");
  EXPECT_EQ(find_op(fused.graph, kQuantizedFusedConv)->outputs[0], "y");
  expect_conv_matches_qdq(test_case);
}

TEST(PassesFuseQdq, ConvPreconditionsLeaveTheFloatConv) {
  struct Failure {
    const char* what;
    ConvCase test_case;
  };
  const std::vector<Failure> failures = {
      {"weight zero point 3", ConvCase{.weight_zero_point = 3}},
      {"weight scales along axis 1 (input channels)", ConvCase{.per_channel_weights = true, .weight_axis = 1}},
  };
  for (const Failure& failure : failures) {
    SCOPED_TRACE(failure.what);
    Model model = make_conv_model(failure.test_case);
    if (failure.test_case.weight_axis == 1) {
      // Scales along axis 1 (4 input channels), so that the model itself is valid.
      model.graph.initializers["w_scale"] =
          std::make_shared<const Tensor>(Tensor::from_vector<float>({kConvChannels}, channel_scales(kConvChannels, 0.003f, 0.001f)));
      model.graph.initializers["w_zero_point"] =
          std::make_shared<const Tensor>(Tensor::from_vector<int8_t>({kConvChannels}, std::vector<int8_t>(kConvChannels, 0)));
      model.graph.initializers["b_scale"] = std::make_shared<const Tensor>(Tensor::scalar(kConvInputScale * 0.004f));
    }
    const Model fused = optimized(model);
    EXPECT_EQ(count_ops(fused.graph, kQuantizedFusedConv), 0u) << joined(op_types(fused.graph));
    EXPECT_EQ(count_ops(fused.graph, "FusedConv"), 1u) << joined(op_types(fused.graph));
    EXPECT_EQ(count_ops(fused.graph, "DequantizeLinear"), 2u)
        << "x's and the output's; the constant weight and bias dequantizations are folded: "
        << joined(op_types(fused.graph));
    const Tensor x = random_tensor({1, kConvChannels, kConvSize, kConvSize}, 11);
    const std::vector<Tensor> expected = run_session(model, false, {{"x", &x}});
    const std::vector<Tensor> actual = run_session(model, true, {{"x", &x}});
    testing::expect_near(actual[0], expected[0], kFoldingTolerance, failure.what);
  }
}

TEST(PassesFuseQdq, ConvWithPerChannelActivationsOrRunTimeScalesStaysFloat) {
  for (const bool per_channel_input : {true, false}) {
    SCOPED_TRACE(per_channel_input ? "per-channel x" : "x scale computed at run time");
    Model model = make_conv_model(ConvCase{});
    Graph& graph = model.graph;
    if (per_channel_input) {
      graph.initializers["x_scale"] = std::make_shared<const Tensor>(
          Tensor::from_vector<float>({kConvChannels}, channel_scales(kConvChannels, 0.008f, 0.001f)));
      graph.initializers["x_zero_point"] =
          std::make_shared<const Tensor>(Tensor::from_vector<uint8_t>({kConvChannels}, {128, 128, 128, 128}));
    } else {
      graph.initializers.erase("x_scale");
      graph.inputs.push_back(value_info("x_scale", {}));
    }
    const Model fused = optimized(model);
    EXPECT_EQ(count_ops(fused.graph, kQuantizedFusedConv), 0u) << joined(op_types(fused.graph));
    EXPECT_EQ(count_ops(fused.graph, "FusedConv"), 1u) << joined(op_types(fused.graph));
  }
}

TEST(PassesFuseQdq, PassAloneChangesNothingOnAFloatModel) {
  QdqModelBuilder builder;
  builder.input("x", {1, 2, 5, 5});
  builder.initializer("w", random_tensor({3, 2, 3, 3}, 3));
  builder.node("Conv", {"x", "w"}, {"y"});
  builder.node("MaxPool", {"y"}, {"z"}, {ints_attribute("kernel_shape", {2, 2})});
  builder.output("z", {1, 3, 1, 1});
  Model model = builder.model;
  EXPECT_FALSE(fuse_qdq(model, PassContext{builtin_kernel_registry()}));
  EXPECT_FALSE(fuse_qdq_bias_and_residual(model, PassContext{builtin_kernel_registry()}));
  EXPECT_EQ(joined(op_types(model.graph)), "Conv MaxPool");
}

// ---------------------------------------------------------------- residual Add

// x [1, 4, 6, 6] -> Q/DQ -> Conv(pads 1) -> y -> Q(s1)/DQ -> Add(., residual) -> Relu -> Q(s2)/DQ -> out
// The residual is x's own DQ (8-bit) or a float graph input r.
constexpr float kResidualConvScale = 8.0f / 255.0f;  // s1: the conv output lies well inside +-4
constexpr float kResidualOutputScale = 8.0f / 255.0f;  // s2 >= s1: skipping s1's rounding moves at most one step

Model make_residual_model(bool float_residual, bool declare_shapes = true, bool pair_read_twice = false) {
  QdqModelBuilder builder(5);
  const std::vector<int64_t> dims{1, kConvChannels, 6, 6};
  builder.input("x", dims);
  const std::string x = builder.quantize("x", kConvInputScale, 128);
  const std::vector<float> w_scales = channel_scales(kConvChannels, 0.002f, 0.0005f);
  const std::string w = builder.weights("w", {kConvChannels, kConvChannels, 3, 3}, w_scales, 0);
  const std::string b = builder.int32_bias("b", kConvChannels, QdqModelBuilder::products(kConvInputScale, w_scales));
  builder.node("Conv", {x, w, b}, {"y"}, {ints_attribute("kernel_shape", {3, 3}), ints_attribute("pads", {1, 1, 1, 1})});
  const std::string y = builder.quantize("y", kResidualConvScale, 128);
  std::string residual = x;
  if (float_residual) {
    builder.input("r", dims);
    residual = "r";
  }
  builder.node("Add", {y, residual}, {"sum"});
  builder.node("Relu", {"sum"}, {"z"});
  builder.quantize("z", kResidualOutputScale, 0);
  builder.graph().nodes.back().outputs[0] = "out";
  builder.output("out", dims);
  if (pair_read_twice) builder.output(y, dims);
  if (declare_shapes)
    for (const std::string& name : {std::string("y"), y, x, std::string("sum"), std::string("z")}) builder.declare(name, dims);
  return builder.model;
}

TEST(PassesFuseQdq, ResidualAddBecomesAnEightBitSum) {
  const Model model = make_residual_model(false);
  const Model fused = optimized(model);
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QFusedConv DequantizeLinear");
  const Node* conv = find_op(fused.graph, kQuantizedFusedConv);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->input(kQInputSum), "x_q");
  EXPECT_EQ(fused.graph.find_initializer(conv->input(kQInputSumScale))->value_as_double(0), kConvInputScale);
  EXPECT_EQ(conv->attr_strings("post_ops"), (std::vector<std::string>{"sum", "relu"}));
  EXPECT_EQ(conv->outputs[0], "z_q");
  // The conv's own rounding to s1 is skipped: up to s1 / 2 before the final rounding to s2 >= s1,
  // so one step of s2 on any element (a good share of them, unlike the tie-only differences).
  const Tensor x = random_tensor({1, kConvChannels, 6, 6}, 13);
  expect_fused_matches_qdq(model, {{"x", &x}}, {{kResidualOutputScale, 1, 0.5}});
}

TEST(PassesFuseQdq, FloatResidualBecomesAFloatSum) {
  const Model model = make_residual_model(true);
  const Model fused = optimized(model);
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QFusedConv DequantizeLinear");
  const Node* conv = find_op(fused.graph, kQuantizedFusedConv);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->input(kQInputSum), "r");
  EXPECT_FALSE(conv->has_input(kQInputSumScale));
  const Tensor x = random_tensor({1, kConvChannels, 6, 6}, 13);
  const Tensor r = random_tensor({1, kConvChannels, 6, 6}, 14);
  expect_fused_matches_qdq(model, {{"x", &x}, {"r", &r}}, {{kResidualOutputScale, 1, 0.5}});
}

TEST(PassesFuseQdq, ResidualPreconditionsKeepTheRequantization) {
  // Undeclared shapes (a broadcast cannot be ruled out) or a Q/DQ pair with another reader: the
  // conv still becomes a QFusedConv writing y_q, and the Add stays a float Add.
  for (const bool pair_read_twice : {false, true}) {
    SCOPED_TRACE(pair_read_twice ? "pair read twice" : "shapes undeclared");
    const Model model = make_residual_model(false, pair_read_twice, pair_read_twice);
    const Model fused = optimized(model);
    EXPECT_EQ(count_ops(fused.graph, "Add") + count_ops(fused.graph, kQuantizedBinary), 1u) << joined(op_types(fused.graph));
    const Node* conv = find_op(fused.graph, kQuantizedFusedConv);
    ASSERT_NE(conv, nullptr);
    EXPECT_EQ(conv->outputs[0], "y_q");
    EXPECT_FALSE(conv->has_input(kQInputSum));
    const Tensor x = random_tensor({1, kConvChannels, 6, 6}, 13);
    std::vector<OutputTolerance> tolerances{{kResidualOutputScale}};
    if (pair_read_twice) tolerances.push_back({kResidualConvScale});
    expect_fused_matches_qdq(model, {{"x", &x}}, tolerances);
  }
}

// ---------------------------------------------------------------- MatMul and Gemm

TEST(PassesFuseQdq, MatMulWithInt32BiasAndRelu) {
  // a [2, 5, 8] -> Q/DQ -> MatMul(W [8, 6] per column) -> Add(DQ(int32 [6])) -> Relu -> Q/DQ -> out
  QdqModelBuilder builder(9);
  builder.input("a", {2, 5, 8});
  const std::string a = builder.quantize("a", 1.0f / 127.0f, 128);
  const std::vector<float> w_scales = channel_scales(6, 0.005f, 0.001f);
  const std::string w = builder.weights("w", {8, 6}, w_scales, 1);
  const std::string b = builder.int32_bias("b", 6, QdqModelBuilder::products(1.0f / 127.0f, w_scales));
  builder.node("MatMul", {a, w}, {"mm"});
  builder.node("Add", {"mm", b}, {"biased"});
  builder.node("Relu", {"biased"}, {"y"});
  builder.quantize("y", 2.0f / 255.0f, 0);
  builder.graph().nodes.back().outputs[0] = "out";
  builder.output("out", {2, 5, 6});
  const Model fused = optimized(builder.model);
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QFusedMatMul DequantizeLinear");
  const Node* matmul = find_op(fused.graph, kQuantizedFusedMatMul);
  ASSERT_NE(matmul, nullptr);
  EXPECT_EQ(matmul->input(kQInputW), "w_q");
  EXPECT_EQ(matmul->input(kQInputBias), "b_q");
  EXPECT_EQ(matmul->attr_strings("post_ops"), std::vector<std::string>{"relu"});
  const Tensor a_value = random_tensor({2, 5, 8}, 21);
  expect_fused_matches_qdq(builder.model, {{"a", &a_value}}, {{2.0f / 255.0f}});
}

Model make_gemm_model(int64_t trans_a) {
  // a [3, 8] -> Q/DQ -> Gemm(W [6, 8] transB=1 per row, C DQ(int32 [6]), alpha 0.5, beta 2) -> Q/DQ -> out
  QdqModelBuilder builder(10);
  builder.input("a", trans_a ? std::vector<int64_t>{8, 3} : std::vector<int64_t>{3, 8});
  const std::string a = builder.quantize("a", 1.0f / 127.0f, 128);
  const std::vector<float> w_scales = channel_scales(6, 0.005f, 0.001f);
  const std::string w = builder.weights("w", {6, 8}, w_scales, 0);
  const std::string c = builder.int32_bias("c", 6, QdqModelBuilder::products(1.0f / 127.0f, w_scales));
  builder.node("Gemm", {a, w, c}, {"y"},
               {int_attribute("transA", trans_a), int_attribute("transB", 1), float_attribute("alpha", 0.5f),
                float_attribute("beta", 2.0f)});
  builder.quantize("y", 2.0f / 255.0f, 128);
  builder.graph().nodes.back().outputs[0] = "out";
  builder.output("out", {3, 6});
  return builder.model;
}

TEST(PassesFuseQdq, GemmWithTransposedWeightsAlphaAndBeta) {
  const Model model = make_gemm_model(0);
  const Model fused = optimized(model);
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QFusedMatMul DequantizeLinear");
  const Node* matmul = find_op(fused.graph, kQuantizedFusedMatMul);
  ASSERT_NE(matmul, nullptr);
  EXPECT_FALSE(matmul->has_attribute("transB"));
  EXPECT_EQ(fused.graph.find_initializer(matmul->input(kQInputW))->shape(), (Shape{8, 6})) << "[K, N]";
  const Tensor a = random_tensor({3, 8}, 22);
  expect_fused_matches_qdq(model, {{"a", &a}}, {{2.0f / 255.0f}});
}

TEST(PassesFuseQdq, GemmWithTransposedInputStaysFloat) {
  const Model fused = optimized(make_gemm_model(1));
  EXPECT_EQ(count_ops(fused.graph, kQuantizedFusedMatMul), 0u) << joined(op_types(fused.graph));
  EXPECT_EQ(count_ops(fused.graph, "Gemm"), 1u) << joined(op_types(fused.graph));
}

Model make_attention_model(DataType key_dtype, int32_t key_zero_point) {
  // q [1, 2, 4, 8] -> Q(u8)/DQ, k_t [1, 2, 8, 5] -> Q(s8, 0)/DQ; MatMul -> Q/DQ -> out [1, 2, 4, 5]
  QdqModelBuilder builder(12);
  builder.input("q", {1, 2, 4, 8});
  builder.input("k_t", {1, 2, 8, 5});
  const std::string q = builder.quantize("q", 1.0f / 127.0f, 128);
  const std::string k = builder.quantize("k_t", 1.0f / 127.0f, key_zero_point, key_dtype);
  builder.node("MatMul", {q, k}, {"scores"});
  builder.quantize("scores", 6.0f / 255.0f, 128);
  builder.graph().nodes.back().outputs[0] = "out";
  builder.output("out", {1, 2, 4, 5});
  return builder.model;
}

TEST(PassesFuseQdq, AttentionMatMulOfTwoComputedOperands) {
  const Model model = make_attention_model(DataType::kInt8, 0);
  const Model fused = optimized(model);
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QuantizeLinear QFusedMatMul DequantizeLinear");
  const Node* matmul = find_op(fused.graph, kQuantizedFusedMatMul);
  ASSERT_NE(matmul, nullptr);
  EXPECT_EQ(matmul->input(kQInputW), "k_t_q");
  const Tensor q = random_tensor({1, 2, 4, 8}, 23);
  const Tensor k = random_tensor({1, 2, 8, 5}, 24);
  expect_fused_matches_qdq(model, {{"q", &q}, {"k_t", &k}}, {{6.0f / 255.0f}});
}

TEST(PassesFuseQdq, AttentionMatMulWithAsymmetricOrUint8KeysStaysFloat) {
  for (const auto& [dtype, zero_point] : {std::pair{DataType::kInt8, 3}, std::pair{DataType::kUint8, 128}}) {
    const Model fused = optimized(make_attention_model(dtype, zero_point));
    EXPECT_EQ(count_ops(fused.graph, kQuantizedFusedMatMul), 0u) << joined(op_types(fused.graph));
    EXPECT_EQ(count_ops(fused.graph, "MatMul"), 1u);
  }
}

// ---------------------------------------------------------------- data movement

struct MovementCase {
  const char* name;
  std::vector<int64_t> output_dims;
  std::function<void(QdqModelBuilder&, const std::string& input, const std::vector<std::string>& outputs)> add_op;
  size_t output_count = 1;
  bool concat = false;
};

constexpr float kMovementScale = 0.02f;
constexpr int32_t kMovementZeroPoint = 100;

// x [1, 4, 6, 6] -> Q/DQ -> op -> Q/DQ (each output) -> out0..; Concat also reads x2's Q/DQ.
Model make_movement_model(const MovementCase& test_case, float output_scale = kMovementScale,
                          bool op_output_is_graph_output = false) {
  QdqModelBuilder builder(15);
  builder.input("x", {1, 4, 6, 6});
  std::string x = builder.quantize("x", kMovementScale, kMovementZeroPoint);
  if (test_case.concat) {
    builder.input("x2", {1, 4, 6, 6});
    builder.quantize("x2", kMovementScale, kMovementZeroPoint);
  }
  std::vector<std::string> outputs;
  for (size_t i = 0; i < test_case.output_count; ++i) outputs.push_back("moved" + std::to_string(i));
  test_case.add_op(builder, x, outputs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    builder.quantize(outputs[i], output_scale, kMovementZeroPoint);
    builder.graph().nodes.back().outputs[0] = "out" + std::to_string(i);
    builder.output("out" + std::to_string(i), test_case.output_dims);
  }
  if (op_output_is_graph_output) builder.output(outputs[0], test_case.output_dims);
  return builder.model;
}

std::vector<MovementCase> movement_cases() {
  using Builder = QdqModelBuilder;
  using Names = std::vector<std::string>;
  return {
      {"MaxPool", {1, 4, 3, 3}, [](Builder& b, const std::string& x, const Names& y) {
         b.node("MaxPool", {x}, y, {ints_attribute("kernel_shape", {3, 3}), ints_attribute("strides", {2, 2}),
                                    ints_attribute("pads", {1, 1, 1, 1})});
       }},
      {"Resize", {1, 4, 12, 12}, [](Builder& b, const std::string& x, const Names& y) {
         b.initializer("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
         b.node("Resize", {x, "", "scales"}, y, {string_attribute("mode", "nearest")});
       }},
      {"Reshape", {1, 144}, [](Builder& b, const std::string& x, const Names& y) {
         b.initializer("shape", Tensor::from_vector<int64_t>({2}, {1, 144}));
         b.node("Reshape", {x, "shape"}, y);
       }},
      {"Transpose", {1, 6, 6, 4}, [](Builder& b, const std::string& x, const Names& y) {
         b.node("Transpose", {x}, y, {ints_attribute("perm", {0, 2, 3, 1})});
       }},
      {"Flatten", {1, 144}, [](Builder& b, const std::string& x, const Names& y) { b.node("Flatten", {x}, y); }},
      {"Squeeze", {4, 6, 6}, [](Builder& b, const std::string& x, const Names& y) {
         b.initializer("axes", Tensor::from_vector<int64_t>({1}, {0}));
         b.node("Squeeze", {x, "axes"}, y);
       }},
      {"Unsqueeze", {1, 4, 1, 6, 6}, [](Builder& b, const std::string& x, const Names& y) {
         b.initializer("axes", Tensor::from_vector<int64_t>({1}, {2}));
         b.node("Unsqueeze", {x, "axes"}, y);
       }},
      {"Slice", {1, 4, 3, 6}, [](Builder& b, const std::string& x, const Names& y) {
         b.initializer("starts", Tensor::from_vector<int64_t>({1}, {1}));
         b.initializer("ends", Tensor::from_vector<int64_t>({1}, {4}));
         b.initializer("axes", Tensor::from_vector<int64_t>({1}, {2}));
         b.node("Slice", {x, "starts", "ends", "axes"}, y);
       }},
      {"Split", {1, 2, 6, 6}, [](Builder& b, const std::string& x, const Names& y) {
         b.node("Split", {x}, y, {int_attribute("axis", 1)});
       }, 2},
      {"Concat", {1, 8, 6, 6}, [](Builder& b, const std::string& x, const Names& y) {
         b.node("Concat", {x, "x2_dq"}, y, {int_attribute("axis", 1)});
       }, 1, true},
  };
}

TEST(PassesFuseQdq, DataMovementRunsOnTheEightBitTensor) {
  // Values beyond the quantized range too: saturation happens in the input's Q, before the op.
  const Tensor x = random_tensor({1, 4, 6, 6}, 31, -3.0f, 4.0f);
  const Tensor x2 = random_tensor({1, 4, 6, 6}, 32, -3.0f, 4.0f);
  for (const MovementCase& test_case : movement_cases()) {
    SCOPED_TRACE(test_case.name);
    const Model model = make_movement_model(test_case);
    const Model fused = optimized(model);
    std::string expected = test_case.concat ? "QuantizeLinear QuantizeLinear " : "QuantizeLinear ";
    expected += test_case.name;
    for (size_t i = 0; i < test_case.output_count; ++i) expected += " DequantizeLinear";
    EXPECT_EQ(joined(op_types(fused.graph)), expected);
    const Node* op = find_op(fused.graph, test_case.name);
    ASSERT_NE(op, nullptr);
    EXPECT_EQ(op->input(0), "x_q");
    EXPECT_EQ(op->outputs[0], "moved0_q");
    // Exact: the op only copies or selects 8-bit values.
    std::vector<OutputTolerance> exact(test_case.output_count, OutputTolerance{kMovementScale, 0, 0});
    std::map<std::string, const Tensor*> feeds{{"x", &x}};
    if (test_case.concat) feeds["x2"] = &x2;
    expect_fused_matches_qdq(model, feeds, exact);
  }
}

TEST(PassesFuseQdq, DataMovementPreconditions) {
  const std::vector<MovementCase> cases = movement_cases();
  const MovementCase& max_pool = cases[0];
  {
    SCOPED_TRACE("output quantized with another scale");
    const Model fused = optimized(make_movement_model(max_pool, kMovementScale * 2));
    EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear DequantizeLinear MaxPool QuantizeLinear DequantizeLinear");
  }
  {
    SCOPED_TRACE("op output is a graph output");
    const Model fused = optimized(make_movement_model(max_pool, kMovementScale, true));
    EXPECT_EQ(find_op(fused.graph, "MaxPool")->input(0), "x_dq");
  }
  {
    SCOPED_TRACE("linear Resize");
    MovementCase linear = cases[1];
    linear.add_op = [](QdqModelBuilder& b, const std::string& x, const std::vector<std::string>& y) {
      b.initializer("scales", Tensor::from_vector<float>({4}, {1, 1, 2, 2}));
      b.node("Resize", {x, "", "scales"}, y, {string_attribute("mode", "linear")});
    };
    const Model fused = optimized(make_movement_model(linear));
    EXPECT_EQ(find_op(fused.graph, "Resize")->input(0), "x_dq");
  }
  {
    SCOPED_TRACE("Concat inputs with different parameters");
    Model model = make_movement_model(cases.back());
    model.graph.initializers["x2_scale"] = std::make_shared<const Tensor>(Tensor::scalar(kMovementScale * 2));
    const Model fused = optimized(model);
    EXPECT_EQ(find_op(fused.graph, "Concat")->input(0), "x_dq");
  }
}

// ---------------------------------------------------------------- folding

TEST(PassesFuseQdq, FoldsConstantDequantizationNothingAbsorbed) {
  // x -> Q/DQ -> ConvTranspose(group 2, W DQ per axis 1 [C, M/2, k, k]) -> out: per-channel scales
  // along axis 1 of grouped weights are not one per output channel, so the ConvTranspose stays
  // float, and its weights become a float initializer instead of a DequantizeLinear per run.
  QdqModelBuilder builder(16);
  builder.input("x", {1, 4, 4, 4});
  const std::string x = builder.quantize("x", 1.0f / 127.0f, 128);
  const std::string w = builder.weights("w", {4, 5, 3, 3}, channel_scales(5, 0.004f, 0.001f), 1);
  builder.node("ConvTranspose", {x, w}, {"out"}, {ints_attribute("kernel_shape", {3, 3}), int_attribute("group", 2)});
  builder.output("out", {1, 10, 6, 6});
  const Model fused = optimized(builder.model);
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear DequantizeLinear ConvTranspose");
  const Tensor* weights = fused.graph.find_initializer("w_dq");
  ASSERT_NE(weights, nullptr);
  EXPECT_EQ(weights->dtype(), DataType::kFloat);
  const Tensor x_value = random_tensor({1, 4, 4, 4}, 33);
  const std::vector<Tensor> expected = run_session(builder.model, false, {{"x", &x_value}});
  const std::vector<Tensor> actual = run_session(builder.model, true, {{"x", &x_value}});
  testing::expect_near(actual[0], expected[0], kFoldingTolerance, "out");
}

// ---------------------------------------------------------------- ConvTranspose

// The PP-OCR detector's DB head, as octet's quantizer writes it once the batch norm is folded:
// x [1, 5, 5, 6] -> Q/DQ -> ConvTranspose(W [5, 7, k, k] DQ per axis 1, B DQ int32, strides 2)
// -> Relu -> Q/DQ -> out, or -> Sigmoid -> out (float).
struct DeconvCase {
  bool sigmoid_output = false;  // Sigmoid and a float output instead of Relu -> Q/DQ
  int64_t kernel = 2;
  int64_t pad = 0;
  int64_t output_padding = 0;
  int64_t weight_axis = 1;
  bool output_shape_attribute = false;
};

constexpr int64_t kDeconvChannels = 5;
constexpr int64_t kDeconvOutputChannels = 7;
constexpr float kDeconvInputScale = 1.0f / 127.0f;
constexpr float kDeconvOutputScale = 3.0f / 255.0f;

Shape deconv_output_dims(const DeconvCase& test_case) {
  Shape dims{1, kDeconvOutputChannels};
  for (int64_t size : {5, 6}) dims.push_back(2 * (size - 1) + test_case.kernel + test_case.output_padding - 2 * test_case.pad);
  return dims;
}

Model make_deconv_model(const DeconvCase& test_case) {
  QdqModelBuilder builder(21);
  builder.input("x", {1, kDeconvChannels, 5, 6});
  const std::string x = builder.quantize("x", kDeconvInputScale, 0);
  const std::vector<float> w_scales = channel_scales(kDeconvOutputChannels, 0.004f, 0.0005f);
  const std::string w = builder.weights("w", {kDeconvChannels, kDeconvOutputChannels, test_case.kernel, test_case.kernel},
                                        test_case.weight_axis == 1 ? w_scales : channel_scales(kDeconvChannels, 0.004f, 0.0005f),
                                        test_case.weight_axis);
  const std::string b = builder.int32_bias("b", kDeconvOutputChannels, QdqModelBuilder::products(kDeconvInputScale, w_scales));
  const Shape y_dims = deconv_output_dims(test_case);
  std::vector<Attribute> attributes{ints_attribute("kernel_shape", {test_case.kernel, test_case.kernel}),
                                    ints_attribute("strides", {2, 2}),
                                    ints_attribute("pads", std::vector<int64_t>(4, test_case.pad)),
                                    ints_attribute("output_padding", {test_case.output_padding, test_case.output_padding})};
  if (test_case.output_shape_attribute) attributes.push_back(ints_attribute("output_shape", {y_dims[2], y_dims[3]}));
  builder.node("ConvTranspose", {x, w, b}, {"deconv"}, attributes);
  if (test_case.sigmoid_output) {
    builder.node("Sigmoid", {"deconv"}, {"out"});
  } else {
    builder.node("Relu", {"deconv"}, {"y"});
    builder.initializer("y_scale", Tensor::scalar(kDeconvOutputScale));
    builder.initializer("y_zero_point", Tensor::scalar(static_cast<uint8_t>(0)));
    builder.node("QuantizeLinear", {"y", "y_scale", "y_zero_point"}, {"y_q"});
    builder.node("DequantizeLinear", {"y_q", "y_scale", "y_zero_point"}, {"out"});
  }
  builder.output("out", y_dims);
  return builder.model;
}

void expect_deconv_matches_qdq(const DeconvCase& test_case) {
  const Tensor x = random_tensor({1, kDeconvChannels, 5, 6}, 12, -0.2f, 1.0f);
  expect_fused_matches_qdq(make_deconv_model(test_case), {{"x", &x}},
                           {{test_case.sigmoid_output ? 0.0 : static_cast<double>(kDeconvOutputScale)}});
}

TEST(PassesFuseQdq, ConvTransposeReluQuantizeBecomesOneQuantizedConvTranspose) {
  for (const DeconvCase& test_case : {DeconvCase{}, DeconvCase{false, 3, 1, 1}, DeconvCase{false, 4, 1, 0}}) {
    const Model fused = optimized(make_deconv_model(test_case));
    EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QFusedConvTranspose DequantizeLinear");
    const Node* deconv = find_op(fused.graph, kQuantizedFusedConvTranspose);
    ASSERT_NE(deconv, nullptr);
    EXPECT_EQ(deconv->domain, kOctetDomain);
    ASSERT_EQ(deconv->inputs.size(), static_cast<size_t>(kQInputYZeroPoint + 1));
    EXPECT_EQ(deconv->input(kQInputX), "x_q");
    EXPECT_EQ(deconv->input(kQInputW), "w_q") << "the int8 weights are read as they are";
    EXPECT_EQ(deconv->input(kQInputBias), "b_q") << "bias scales equal x_scale * w_scale: the int32 bias is kept";
    EXPECT_EQ(deconv->outputs[0], "y_q") << "the absorbed QuantizeLinear's output name";
    EXPECT_EQ(deconv->attr_strings("post_ops"), std::vector<std::string>{"relu"});
    EXPECT_EQ(deconv->attr_ints("strides"), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(deconv->attr_ints("output_padding"), (std::vector<int64_t>{test_case.output_padding, test_case.output_padding}));
    expect_deconv_matches_qdq(test_case);
  }
}

TEST(PassesFuseQdq, ConvTransposeSigmoidWritesFloat) {
  DeconvCase test_case;
  test_case.sigmoid_output = true;
  const Model fused = optimized(make_deconv_model(test_case));
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QFusedConvTranspose");
  const Node* deconv = find_op(fused.graph, kQuantizedFusedConvTranspose);
  ASSERT_NE(deconv, nullptr);
  EXPECT_EQ(deconv->attr_strings("post_ops"), std::vector<std::string>{"sigmoid"});
  EXPECT_EQ(deconv->inputs.size(), static_cast<size_t>(kQInputBias + 1)) << "no output quantizer";
  EXPECT_EQ(deconv->outputs[0], "out");
  expect_deconv_matches_qdq(test_case);
}

TEST(PassesFuseQdq, ConvTransposePreconditionsLeaveTheFloatConvTranspose) {
  DeconvCase wrong_axis;  // per-channel scales along the input channels
  wrong_axis.weight_axis = 0;
  DeconvCase output_shape;  // the int8 kernels take explicit pads only
  output_shape.output_shape_attribute = true;
  for (const DeconvCase& test_case : {wrong_axis, output_shape}) {
    const Model fused = optimized(make_deconv_model(test_case));
    EXPECT_EQ(count_ops(fused.graph, kQuantizedFusedConvTranspose), 0u) << joined(op_types(fused.graph));
    EXPECT_EQ(count_ops(fused.graph, "FusedConvTranspose"), 1u) << joined(op_types(fused.graph));
    expect_deconv_matches_qdq(test_case);
  }
}

// ---------------------------------------------------------------- a whole QDQ model

// A whole model accumulates one-step differences layer after layer (each requantized value may
// round the other way at a tie, and the residual sums skip one rounding), so elementwise bounds say
// little. Measured on mobilenet_v2 in QDQ form (make_qdq_model.py, random inputs, whose logits are
// nearly flat): fused vs unfused cosine 0.990 (0.9976 without the residual fusion), ONNX Runtime vs
// unfused 0.998, and fused vs the float model 0.978, as close as ONNX Runtime's 0.977. A wrong scale
// or operand gives far lower.
constexpr double kModelMinCosine = 0.98;

double cosine(const Tensor& a, const Tensor& b) {
  double dot = 0, norm_a = 0, norm_b = 0;
  for (int64_t i = 0; i < a.element_count(); ++i) {
    const double x = a.value_as_double(i), y = b.value_as_double(i);
    dot += x * y;
    norm_a += x * x;
    norm_b += y * y;
  }
  return norm_a == 0 && norm_b == 0 ? 1.0 : dot / std::sqrt(norm_a * norm_b);
}

// Set OCTET_QDQ_MODEL (a QDQ model, e.g. from tests/unit/make_qdq_model.py) and OCTET_QDQ_INPUTS
// (a folder of .npy inputs for its single input); OCTET_QDQ_OUTPUTS, when set, receives the fused
// and unfused outputs named as `node scripts/ort_run.js run` names them, to compare with ORT.
TEST(PassesFuseQdqModel, FusedRunMatchesUnfusedRun) {
  const char* model_path = std::getenv("OCTET_QDQ_MODEL");
  const char* input_dir = std::getenv("OCTET_QDQ_INPUTS");
  if (!model_path || !input_dir) GTEST_SKIP() << "set OCTET_QDQ_MODEL and OCTET_QDQ_INPUTS to run on a QDQ model";
  const Model model = load_model(model_path);
  const Model fused = optimized(model);
  std::map<std::string, int> histogram;
  for (const auto& node : fused.graph.nodes) ++histogram[node.op_type];
  std::string ops;
  for (const auto& [op_type, count] : histogram) ops += " " + op_type + " " + std::to_string(count);
  std::cout << "optimized graph:" << ops << "\n";

  std::vector<std::filesystem::path> samples;
  for (const auto& entry : std::filesystem::directory_iterator(input_dir))
    if (entry.path().extension() == ".npy") samples.push_back(entry.path());
  std::sort(samples.begin(), samples.end());
  ASSERT_FALSE(samples.empty()) << "no .npy file in " << input_dir;
  const char* output_dir = std::getenv("OCTET_QDQ_OUTPUTS");
  SessionOptions unfused_options, fused_options;
  unfused_options.optimize = false;
  Session unfused_session(model, unfused_options);
  Session fused_session(model, fused_options);
  for (const auto& sample : samples) {
    const Tensor input = load_npy(sample.string());
    const std::map<std::string, const Tensor*> feeds{{model.graph.inputs[0].name, &input}};
    const std::vector<Tensor> expected = unfused_session.run(feeds);
    const std::vector<Tensor> actual = fused_session.run(feeds);
    for (size_t i = 0; i < expected.size(); ++i) {
      double max_difference = 0;
      for (int64_t e = 0; e < expected[i].element_count(); ++e)
        max_difference = std::max(max_difference, std::fabs(actual[i].value_as_double(e) - expected[i].value_as_double(e)));
      const double similarity = cosine(actual[i], expected[i]);
      std::cout << sample.filename().string() << " output " << model.graph.outputs[i].name << ": cosine " << similarity
                << ", max |fused - unfused| " << max_difference << "\n";
      EXPECT_GE(similarity, kModelMinCosine) << sample << " output " << model.graph.outputs[i].name;
      if (!output_dir) continue;
      const std::string stem = sample.stem().string();
      for (const auto& [kind, outputs] : {std::pair{"fused", &actual}, std::pair{"unfused", &expected}}) {
        const std::filesystem::path folder = std::filesystem::path(output_dir) / kind;
        std::filesystem::create_directories(folder);
        const std::string name = i == 0 ? stem + ".npy" : stem + "." + model.graph.outputs[i].name + ".npy";
        save_npy((*outputs)[i], (folder / name).string());
      }
    }
  }
}

}  // namespace
}  // namespace octet
