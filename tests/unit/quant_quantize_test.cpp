// Tests of DefaultQuantization's parts: the pattern table (quantization_plan.h), int8 weights and
// QDQ writing (qdq_writer.h), FastBiasCorrection's closed form (bias_correction.h), POT-style
// configuration files (quantize_config.h), and quantize_model on a small conv net end to end.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "../kernels/kernel_test_util.h"
#include "core/npy.h"
#include "octet/status.h"
#include "quant/bias_correction.h"
#include "quant/qdq_writer.h"
#include "quant/quantization_plan.h"
#include "quant/quantize.h"
#include "quant/quantize_config.h"
#include "runtime/session.h"

namespace octet {
namespace {

namespace fs = std::filesystem;
using testing::int_attribute;
using testing::ints_attribute;
using testing::random_tensor;

ValueInfo float_info(const std::string& name, const Shape& shape) {
  ValueInfo info;
  info.name = name;
  info.dtype = DataType::kFloat;
  info.has_shape = true;
  for (int64_t dim : shape) info.dims.push_back({dim, ""});
  return info;
}

Node node(const std::string& name, const std::string& op_type, std::vector<std::string> inputs,
          std::vector<std::string> outputs) {
  Node result;
  result.name = name;
  result.op_type = op_type;
  result.inputs = std::move(inputs);
  result.outputs = std::move(outputs);
  return result;
}

// x [1,4,6,6] -> conv1 (3x3, pad 1) -> relu -> a; a -> conv2 (1x1) -> b; add = a + b -> y.
// With `side_reader`, `a` also feeds a Sigmoid graph output (an FP32 reader).
Model residual_model(bool side_reader = false) {
  Model model;
  model.opset_imports[""] = 13;
  Graph& graph = model.graph;
  graph.inputs.push_back(float_info("x", {1, 4, 6, 6}));
  graph.outputs.push_back(float_info("y", {1, 4, 6, 6}));
  graph.initializers["w1"] = std::make_shared<const Tensor>(random_tensor({4, 4, 3, 3}, 1, -0.5f, 0.5f));
  graph.initializers["b1"] = std::make_shared<const Tensor>(random_tensor({4}, 2, 0.1f, 0.3f));
  graph.initializers["w2"] = std::make_shared<const Tensor>(random_tensor({4, 4, 1, 1}, 3, -0.5f, 0.5f));
  graph.initializers["b2"] = std::make_shared<const Tensor>(random_tensor({4}, 4, 0.1f, 0.3f));
  Node conv1 = node("conv1", "Conv", {"x", "w1", "b1"}, {"c1"});
  conv1.set_attribute(ints_attribute("pads", {1, 1, 1, 1}));
  graph.nodes.push_back(conv1);
  graph.nodes.push_back(node("relu", "Relu", {"c1"}, {"a"}));
  graph.nodes.push_back(node("conv2", "Conv", {"a", "w2", "b2"}, {"b"}));
  graph.nodes.push_back(node("add", "Add", {"a", "b"}, {"y"}));
  for (const char* name : {"c1", "a", "b"}) graph.value_infos[name] = float_info(name, {1, 4, 6, 6});
  if (side_reader) {
    graph.nodes.push_back(node("side", "Sigmoid", {"a"}, {"s"}));
    graph.outputs.push_back(float_info("s", {1, 4, 6, 6}));
  }
  return model;
}

class TemporaryFolder {
 public:
  TemporaryFolder() {
    static int counter = 0;
    path_ = fs::temp_directory_path() / ("octet_quantize_test_" + std::to_string(getpid()) + "_" +
                                         std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TemporaryFolder() { fs::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(QuantPlan, QuantizesWeightedOpsAndResidualAdd) {
  const Model model = residual_model();
  const QuantizationPlan plan = plan_quantization(model.graph, {});
  ASSERT_EQ(plan.weighted_ops.size(), 2u);
  EXPECT_EQ(plan.weighted_ops[0].weight_axis, 0);
  EXPECT_EQ(plan.weighted_ops[0].bias, "b1");
  EXPECT_TRUE(plan.quantized_nodes.count("add"));
  // `a` is read by conv2 and the Add: one quantizer shared by both edges; `b` and `x` their own.
  EXPECT_EQ(plan.quantizers.size(), 3u);
  ASSERT_TRUE(plan.quantized_edges.count("a"));
  EXPECT_EQ(plan.quantized_edges.at("a").size(), 2u);
  EXPECT_EQ(plan.fused_activations.at("relu"), "conv1");  // fused into conv1 by runtimes, not an FP32 island
}

TEST(QuantPlan, AddWithAnFp32ReaderStaysFp32) {
  const Model model = residual_model(/*side_reader=*/true);
  const QuantizationPlan plan = plan_quantization(model.graph, {});
  EXPECT_FALSE(plan.quantized_nodes.count("add"));
  ASSERT_TRUE(plan.kept_fp32.count("add"));
  EXPECT_NE(plan.kept_fp32.at("add").find("FP32"), std::string::npos);
}

TEST(QuantPlan, IgnoredScopeByNameAndType) {
  const Model model = residual_model();
  PlanOptions options;
  options.ignored = {"conv2", "Add"};
  const QuantizationPlan plan = plan_quantization(model.graph, options);
  ASSERT_EQ(plan.weighted_ops.size(), 1u);
  EXPECT_EQ(plan.weighted_ops[0].node_name, "conv1");
  EXPECT_EQ(plan.kept_fp32.at("conv2"), "ignored scope");
  EXPECT_EQ(plan.kept_fp32.at("add"), "ignored scope");
  options.ignored = {"no_such_node"};
  EXPECT_THROW(plan_quantization(model.graph, options), Error);
}

TEST(QuantWeights, PerChannelSymmetricInt8) {
  const Tensor weight = random_tensor({3, 2, 3, 3}, 7, -2.0f, 2.0f);
  const ChannelQuantizedWeight quantized = quantize_weight_per_channel(weight, 0);
  ASSERT_EQ(quantized.scales.size(), 3u);
  const Tensor restored = dequantize_weight(quantized, 0);
  const int8_t* values = quantized.values.data<int8_t>();
  for (int64_t c = 0; c < 3; ++c) {
    float abs_max = 0.0f;
    for (int64_t i = 0; i < 18; ++i) abs_max = std::max(abs_max, std::fabs(weight.data<float>()[c * 18 + i]));
    EXPECT_FLOAT_EQ(quantized.scales[static_cast<size_t>(c)], abs_max / 127.0f);
    for (int64_t i = 0; i < 18; ++i) {
      const int64_t index = c * 18 + i;
      EXPECT_GE(values[index], -127);
      EXPECT_LE(std::fabs(restored.data<float>()[index] - weight.data<float>()[index]),
                quantized.scales[static_cast<size_t>(c)] / 2 * (1 + 1e-5f));
    }
  }
}

TEST(QuantBiasCorrection, ShiftIsWeightErrorTimesInputMean) {
  Model model = residual_model();
  const QuantizationPlan plan = plan_quantization(model.graph, {});
  std::vector<QuantizationParameters> parameters(plan.quantizers.size());
  for (auto& p : parameters) p = compute_quantization_parameters(-4.0f, 4.0f, QuantizedType::kInt8, RangeMode::kSymmetric);
  const std::vector<double> means = {0.5, -0.25, 1.0, 2.0};
  const BiasCorrectionResult result = fast_bias_correction(model.graph, plan, parameters, {{"x", means}, {"a", means}});
  ASSERT_TRUE(result.biases.count("conv1"));
  const Tensor& weight = *model.graph.find_initializer("w1");
  const Tensor dequantized = dequantize_weight(quantize_weight_per_channel(weight, 0), 0);
  const float* bias = model.graph.find_initializer("b1")->data<float>();
  for (int64_t m = 0; m < 4; ++m) {
    double shift = 0.0;
    for (int64_t c = 0; c < 4; ++c)
      for (int64_t t = 0; t < 9; ++t) {
        const int64_t index = (m * 4 + c) * 9 + t;
        shift += (weight.data<float>()[index] - dequantized.data<float>()[index]) * means[static_cast<size_t>(c)];
      }
    EXPECT_NEAR(result.biases.at("conv1")[static_cast<size_t>(m)], bias[m] + shift, 1e-6);
  }
}

TEST(QuantConfig, PotFormsAndErrors) {
  const QuantizeConfig full = parse_quantize_config(R"({"compression": {"algorithms": [{"name": "DefaultQuantization",
      "params": {"preset": "mixed", "stat_subset_size": 100, "target_device": "CPU",
                 "ignored": {"scope": ["conv1"], "operations": [{"type": "MatMul"}]},
                 "range_estimator": {"preset": "quantile"}, "use_fast_bias": false}}]}})",
                                                    "full.json");
  EXPECT_EQ(full.preset, QuantizationPreset::kMixed);
  EXPECT_EQ(full.subset_size, 100);
  EXPECT_EQ(full.ignored, (std::set<std::string>{"conv1", "MatMul"}));
  EXPECT_EQ(full.activation_estimator, RangeEstimator::kQuantile);
  EXPECT_EQ(full.fast_bias_correction, false);
  const QuantizeConfig params = parse_quantize_config(R"({"preset": "performance", "model_type": "transformer"})", "p.json");
  EXPECT_EQ(params.preset, QuantizationPreset::kPerformance);
  EXPECT_EQ(params.model_type, "transformer");
  for (const char* bad : {R"({"presett": "mixed"})", R"({"preset": "fast"})", R"({"stat_subset_size": 0})",
                          R"({"target_device": "GPU"})", "not json"}) {
    try {
      parse_quantize_config(bad, "bad.json");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("bad.json"), std::string::npos) << error.what();
    }
  }
}

double cosine(const Tensor& a, const Tensor& b) {
  double dot = 0, norm_a = 0, norm_b = 0;
  for (int64_t i = 0; i < a.element_count(); ++i) {
    dot += a.data<float>()[i] * b.data<float>()[i];
    norm_a += a.data<float>()[i] * a.data<float>()[i];
    norm_b += b.data<float>()[i] * b.data<float>()[i];
  }
  return dot / std::sqrt(norm_a * norm_b);
}

// The whole pipeline on the residual net: QDQ nodes and int8 weights (zero points are int8 scalars,
// hence rank > 0) appear, the quantized model tracks the FP32 one, and the fused int8 runtime and
// the plain QDQ semantics (no optimization) agree with each other. 0.995: three 8-bit layers on
// uniform random data with ranges from 8 samples (the performance preset clips at the mean
// per-sample maximum) measure 0.998; a wrong scale or a lost bias falls far below.
TEST(QuantQuantizeModel, ResidualNetEndToEnd) {
  TemporaryFolder samples;
  for (int i = 0; i < 8; ++i)
    save_npy(random_tensor({1, 4, 6, 6}, 100 + i), samples.path() + "/" + std::to_string(i) + ".npy");
  const CalibrationData data(samples.path());
  QuantizeSummary summary;
  const Model quantized = quantize_model(residual_model(), data, {}, &summary);
  int quantize_nodes = 0, int8_initializers = 0;
  for (const Node& n : quantized.graph.nodes) quantize_nodes += n.op_type == "QuantizeLinear";
  for (const auto& [name, tensor] : quantized.graph.initializers) int8_initializers += tensor->dtype() == DataType::kInt8 && tensor->rank() > 0;
  EXPECT_EQ(quantize_nodes, 3);
  EXPECT_EQ(int8_initializers, 2);
  EXPECT_EQ(summary.calibration_samples, 8u);
  EXPECT_GE(quantized.opset(""), 13);

  const Tensor input = random_tensor({1, 4, 6, 6}, 999);
  Session fp32(residual_model());
  Session int8_fused(quantized);
  SessionOptions plain;
  plain.optimize = false;
  Session int8_plain(quantized, plain);
  const Tensor expected = std::move(fp32.run({{"x", &input}})[0]);
  const Tensor fused = std::move(int8_fused.run({{"x", &input}})[0]);
  const Tensor unfused = std::move(int8_plain.run({{"x", &input}})[0]);
  EXPECT_GE(cosine(fused, expected), 0.995);
  EXPECT_GE(cosine(unfused, expected), 0.995);
  EXPECT_GE(cosine(fused, unfused), 0.999);
}

}  // namespace
}  // namespace octet
