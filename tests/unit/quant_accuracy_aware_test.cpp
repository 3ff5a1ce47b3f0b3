// Tests of AccuracyAwareQuantization (accuracy_aware.h) and the prepare / write split of
// DefaultQuantization it stands on (quantize.h), on a three-layer classifier whose middle layer
// quantizes destructively: each output channel of its weight holds one outlier (500, on an input that
// the ReLU before it always zeroes), so the per-channel int8 scale (500 / 127) rounds every other
// weight (|w| <= 0.5) to 0. The FP32 model never sees the outlier; the int8 one loses the layer.
// Labels are the FP32 model's own top-1 classes, so FP32 scores 1.0.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../kernels/kernel_test_util.h"
#include "core/npy.h"
#include "eval/dataset.h"
#include "eval/metrics.h"
#include "octet/status.h"
#include "onnx/onnx_io.h"
#include "quant/accuracy_aware.h"
#include "quant/quantize.h"
#include "quant/quantize_config.h"
#include "runtime/session.h"

namespace octet {
namespace {

namespace fs = std::filesystem;
using testing::random_tensor;

constexpr int64_t kFeatures = 16;
constexpr int64_t kClasses = 10;
constexpr int64_t kDeadFeature = 5;   // gemm1's output feature that the ReLU always zeroes
constexpr float kOutlier = 500.0f;    // gemm2's weight on that feature, in every output channel
constexpr int kSampleCount = 32;

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

// x [1,16] -> gemm1 -> relu1 -> gemm2 (the outlier layer) -> relu2 -> gemm3 -> y [1,10].
Model classifier() {
  Model model;
  model.opset_imports[""] = 13;
  Graph& graph = model.graph;
  graph.inputs.push_back(float_info("x", {1, kFeatures}));
  graph.outputs.push_back(float_info("y", {1, kClasses}));
  Tensor b1 = random_tensor({kFeatures}, 2, 0.1f, 0.3f);
  b1.data<float>()[kDeadFeature] = -100.0f;  // relu1 output kDeadFeature is always 0
  Tensor w2 = random_tensor({kFeatures, kFeatures}, 3, -0.5f, 0.5f);
  for (int64_t n = 0; n < kFeatures; ++n) w2.data<float>()[kDeadFeature * kFeatures + n] = kOutlier;
  graph.initializers["w1"] = std::make_shared<const Tensor>(random_tensor({kFeatures, kFeatures}, 1, -0.5f, 0.5f));
  graph.initializers["b1"] = std::make_shared<const Tensor>(std::move(b1));
  graph.initializers["w2"] = std::make_shared<const Tensor>(std::move(w2));
  graph.initializers["b2"] = std::make_shared<const Tensor>(random_tensor({kFeatures}, 4, 0.1f, 0.3f));
  graph.initializers["w3"] = std::make_shared<const Tensor>(random_tensor({kFeatures, kClasses}, 5, -0.5f, 0.5f));
  graph.initializers["b3"] = std::make_shared<const Tensor>(random_tensor({kClasses}, 6, -0.1f, 0.1f));
  graph.nodes.push_back(node("gemm1", "Gemm", {"x", "w1", "b1"}, {"h1"}));
  graph.nodes.push_back(node("relu1", "Relu", {"h1"}, {"a1"}));
  graph.nodes.push_back(node("gemm2", "Gemm", {"a1", "w2", "b2"}, {"h2"}));
  graph.nodes.push_back(node("relu2", "Relu", {"h2"}, {"a2"}));
  graph.nodes.push_back(node("gemm3", "Gemm", {"a2", "w3", "b3"}, {"y"}));
  for (const char* name : {"h1", "a1", "h2", "a2"}) graph.value_infos[name] = float_info(name, {1, kFeatures});
  return model;
}

class TemporaryFolder {
 public:
  TemporaryFolder() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("octet_accuracy_aware_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TemporaryFolder() { fs::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// Calibration samples and a labeled evaluation set (labels: the FP32 model's classes).
class AccuracyAwareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kSampleCount; ++i) {
      save_npy(random_tensor({1, kFeatures}, 100 + static_cast<uint32_t>(i)), calibration_.path() + "/" + name(i));
      save_npy(random_tensor({1, kFeatures}, 1000 + static_cast<uint32_t>(i)), evaluation_.path() + "/" + name(i));
    }
    relabel(classifier());
    eval_options_.metric = MetricKind::kTop1;
  }

  static std::string name(int index) {
    char text[16];
    std::snprintf(text, sizeof text, "%04d.npy", index);
    return text;
  }

  // Labels the evaluation samples with the top-1 classes of `model`.
  void relabel(const Model& model) {
    Session session(model);
    std::ofstream labels(evaluation_.path() + "/" + kLabelFileName);
    for (int i = 0; i < kSampleCount; ++i) {
      const Tensor sample = load_npy(evaluation_.path() + "/" + name(i));
      const Tensor scores = std::move(session.run({{"x", &sample}})[0]);
      int64_t best = 0;
      for (int64_t c = 1; c < kClasses; ++c)
        if (scores.data<float>()[c] > scores.data<float>()[best]) best = c;
      labels << name(i) << "\t" << best << "\n";
    }
    labels.close();
    eval_set_ = load_labeled_dataset(evaluation_.path());
  }

  AccuracyAwareResult run(const AccuracyAwareOptions& options) {
    const CalibrationData data(calibration_.path());
    return quantize_accuracy_aware(classifier(), data, eval_set_, eval_options_, options);
  }

  static std::string read_bytes(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }

  // Whether `node_name` reads any input through a DequantizeLinear (i.e. is still quantized).
  static bool reads_dequantized(const Model& model, const std::string& node_name) {
    const auto producers = model.graph.producer_index();
    for (const Node& consumer : model.graph.nodes) {
      if (consumer.name != node_name) continue;
      for (const std::string& input : consumer.inputs) {
        const auto found = producers.find(input);
        if (found != producers.end() && model.graph.nodes[found->second].op_type == "DequantizeLinear") return true;
      }
    }
    return false;
  }

  static int count_ops(const Model& model, const std::string& op_type) {
    int count = 0;
    for (const Node& n : model.graph.nodes) count += n.op_type == op_type;
    return count;
  }

  TemporaryFolder calibration_;
  TemporaryFolder evaluation_;
  LabeledDataset eval_set_;
  EvalOptions eval_options_;
};

// A write with extra FP32 nodes drops exactly their quantizers; writes do not disturb the prepared
// state, and a write without extras is quantize_model byte for byte.
TEST_F(AccuracyAwareTest, PrepareThenWriteMatchesQuantizeModel) {
  const CalibrationData data(calibration_.path());
  const QuantizeOptions options;
  const PreparedQuantization prepared = prepare_quantization(classifier(), data, options);
  QuantizeSummary summary;
  const Model partial = write_quantized_model(prepared, options, {"gemm2"}, &summary, "returned for the test");
  EXPECT_FALSE(reads_dequantized(partial, "gemm2"));
  EXPECT_TRUE(reads_dequantized(partial, "gemm1"));
  EXPECT_TRUE(reads_dequantized(partial, "gemm3"));
  // x and a2 keep their quantizers, a1's goes with gemm2: no Q/DQ pair without a quantized reader.
  EXPECT_EQ(count_ops(partial, "QuantizeLinear"), 2);
  bool listed = false;
  for (const auto& [name, reason] : summary.fp32_nodes) listed |= name.find("gemm2") != std::string::npos && reason == "returned for the test";
  EXPECT_TRUE(listed);
  EXPECT_THROW(write_quantized_model(prepared, options, {"no_such_node"}), Error);

  TemporaryFolder files;
  save_model(write_quantized_model(prepared, options), files.path() + "/written.onnx");
  save_model(quantize_model(classifier(), data, options), files.path() + "/quantized.onnx");
  const std::string written = read_bytes(files.path() + "/written.onnx");
  EXPECT_FALSE(written.empty());
  EXPECT_EQ(written, read_bytes(files.path() + "/quantized.onnx"));
}

// DefaultQuantization misses the budget by far; returning the outlier layer alone meets it, and the
// final pass confirms that layer cannot go back to INT8.
TEST_F(AccuracyAwareTest, ReturnsTheHarmfulLayerToMeetTheBudget) {
  AccuracyAwareOptions options;
  options.max_drop = 0.1;
  std::vector<std::string> reported;
  options.on_iteration = [&](const AccuracyAwareIteration& iteration) { reported.push_back(iteration.kind); };
  const AccuracyAwareResult result = run(options);
  EXPECT_DOUBLE_EQ(result.fp32_metric, 1.0);
  EXPECT_GT(1.0 - result.default_metric, 0.3) << "the outlier layer should ruin DefaultQuantization";
  EXPECT_TRUE(result.budget_met) << result.message;
  EXPECT_LE(result.drop, 0.1);
  EXPECT_EQ(result.fp32_groups, std::vector<std::string>{"gemm2"});
  EXPECT_EQ(result.group_count, 3u);
  ASSERT_EQ(result.iterations.size(), 3u);
  EXPECT_EQ(result.iterations[0].kind, "default");
  EXPECT_EQ(result.iterations[1].kind, "revert");
  EXPECT_EQ(result.iterations[1].group, "gemm2");
  EXPECT_TRUE(result.iterations[1].kept);
  EXPECT_EQ(result.iterations[2].kind, "requantize");
  EXPECT_FALSE(result.iterations[2].kept);
  EXPECT_EQ(reported, (std::vector<std::string>{"default", "revert", "requantize"}));
  EXPECT_NE(result.message.find("budget met"), std::string::npos) << result.message;
  EXPECT_FALSE(reads_dequantized(result.model, "gemm2"));
  EXPECT_TRUE(reads_dequantized(result.model, "gemm1"));
  EXPECT_TRUE(reads_dequantized(result.model, "gemm3"));

  const nlohmann::ordered_json report = accuracy_aware_report_json(result);
  EXPECT_EQ(report["fp32_groups"], nlohmann::ordered_json::array({"gemm2"}));
  EXPECT_EQ(report["iterations"].size(), 3u);
  EXPECT_EQ(report["budget_met"], true);
  EXPECT_DOUBLE_EQ(report["drop"].get<double>(), result.drop);
}

// Within the budget already: nothing is returned, and the model is DefaultQuantization's. The
// relative budget is the FP32 metric times max_drop.
TEST_F(AccuracyAwareTest, BudgetAlreadyMetRevertsNothing) {
  AccuracyAwareOptions options;
  options.max_drop = 0.9;
  options.relative_drop = true;
  const AccuracyAwareResult result = run(options);
  EXPECT_DOUBLE_EQ(result.budget, 0.9 * result.fp32_metric);
  EXPECT_TRUE(result.budget_met) << result.message;
  EXPECT_TRUE(result.fp32_groups.empty());
  ASSERT_EQ(result.iterations.size(), 1u);
  EXPECT_EQ(result.iterations[0].kind, "default");
  EXPECT_DOUBLE_EQ(result.metric, result.default_metric);

  TemporaryFolder files;
  save_model(result.model, files.path() + "/accuracy_aware.onnx");
  save_model(quantize_model(classifier(), CalibrationData(calibration_.path()), {}), files.path() + "/default.onnx");
  EXPECT_EQ(read_bytes(files.path() + "/accuracy_aware.onnx"), read_bytes(files.path() + "/default.onnx"));
}

// A budget nothing meets: every group is tried, the best model found comes back with a message.
TEST_F(AccuracyAwareTest, ImpossibleBudgetReturnsTheBestModelWithAMessage) {
  AccuracyAwareOptions options;
  options.max_drop = -0.5;
  const AccuracyAwareResult result = run(options);
  EXPECT_FALSE(result.budget_met);
  EXPECT_NE(result.message.find("budget not met: best drop"), std::string::npos) << result.message;
  EXPECT_NE(result.message.find("every group was tried"), std::string::npos) << result.message;
  double best_drop = result.iterations.front().drop;
  for (const AccuracyAwareIteration& iteration : result.iterations) best_drop = std::min(best_drop, iteration.drop);
  EXPECT_DOUBLE_EQ(result.drop, best_drop);
  EXPECT_LT(result.drop, 1.0 - result.default_metric);
  EXPECT_FALSE(result.fp32_groups.empty());
  EXPECT_EQ(result.fp32_groups.front(), "gemm2");
  // The returned model runs and scores what the result says.
  Session session(result.model);
  const EvalResult evaluated = evaluate(session, eval_set_, eval_options_);
  EXPECT_DOUBLE_EQ(evaluated.value, result.metric);
}

// Labels from the model with gemm2 in FP32 and the other layers in INT8: from there, returning another
// layer to FP32 moves the predictions away from the labels. Such a return is undone, the group is
// excluded and the rest ranked again; the best model (gemm2 alone in FP32) comes back.
TEST_F(AccuracyAwareTest, UndoesAReturnThatMakesTheDropWorse) {
  const QuantizeOptions quantize;
  const PreparedQuantization prepared = prepare_quantization(classifier(), CalibrationData(calibration_.path()), quantize);
  relabel(write_quantized_model(prepared, quantize, {"gemm2"}));
  AccuracyAwareOptions options;
  options.max_drop = -1.0;
  const AccuracyAwareResult result = run(options);
  ASSERT_LT(result.fp32_metric, 1.0) << "premise: the FP32 model disagrees with the labels on some sample";
  int undone = 0;
  for (const AccuracyAwareIteration& iteration : result.iterations) undone += iteration.kind == "revert" && !iteration.kept;
  EXPECT_GE(undone, 1);
  ASSERT_FALSE(result.fp32_groups.empty());
  EXPECT_EQ(result.fp32_groups.front(), "gemm2");
  EXPECT_DOUBLE_EQ(result.metric, 1.0);
  EXPECT_FALSE(result.budget_met);
  EXPECT_NE(result.message.find("every group was tried"), std::string::npos) << result.message;
}

// max_iterations and cancellation stop the loop early, with the reason in the message.
TEST_F(AccuracyAwareTest, StopsAtTheIterationLimitAndOnCancel) {
  AccuracyAwareOptions options;
  options.max_drop = -0.5;
  options.max_iterations = 1;
  const AccuracyAwareResult limited = run(options);
  EXPECT_FALSE(limited.budget_met);
  EXPECT_EQ(limited.iterations.size(), 2u);  // default + one return
  EXPECT_NE(limited.message.find("maximum of 1 iterations"), std::string::npos) << limited.message;

  options.max_iterations = 0;
  options.cancelled = [] { return true; };
  const AccuracyAwareResult cancelled = run(options);
  EXPECT_EQ(cancelled.iterations.size(), 1u);
  EXPECT_NE(cancelled.message.find("cancelled"), std::string::npos) << cancelled.message;
}

// tune_hyperparams tries the other presets and estimators (9 of them) before returning groups; none
// fixes a weight outlier, so the layer still goes back to FP32.
TEST_F(AccuracyAwareTest, TuneHyperparamsTriesTheOtherSettingsFirst) {
  AccuracyAwareOptions options;
  options.max_drop = 0.1;
  options.tune_hyperparams = true;
  const AccuracyAwareResult result = run(options);
  int tune_steps = 0;
  for (const AccuracyAwareIteration& iteration : result.iterations) tune_steps += iteration.kind == "tune";
  EXPECT_EQ(tune_steps, 9);
  EXPECT_TRUE(result.budget_met) << result.message;
  EXPECT_EQ(result.fp32_groups, std::vector<std::string>{"gemm2"});
  EXPECT_FALSE(result.settings.empty());
}

TEST_F(AccuracyAwareTest, RejectsReferenceMetricsAndEmptyRankingSubset) {
  AccuracyAwareOptions options;
  eval_options_.metric = MetricKind::kSqnr;
  EXPECT_THROW(run(options), Error);
  eval_options_.metric = MetricKind::kTop1;
  options.ranking_subset_size = 0;
  EXPECT_THROW(run(options), Error);
}

TEST(QuantConfigAccuracyAware, PotParametersAndErrors) {
  const QuantizeConfig full = parse_quantize_config(R"({"compression": {"algorithms": [{
      "name": "AccuracyAwareQuantization", "params": {"preset": "performance", "maximal_drop": 0.005,
      "drop_type": "relative", "ranking_subset_size": 100, "max_iter_num": 7, "tune_hyperparams": true}}]}})",
                                                    "aa.json");
  EXPECT_EQ(full.algorithm, kAccuracyAwareQuantizationName);
  EXPECT_EQ(full.max_drop, 0.005);
  EXPECT_EQ(full.relative_drop, true);
  EXPECT_EQ(full.ranking_subset_size, 100);
  EXPECT_EQ(full.max_iterations, 7);
  EXPECT_EQ(full.tune_hyperparams, true);
  // A bare params object with accuracy-aware keys means AccuracyAwareQuantization.
  EXPECT_EQ(parse_quantize_config(R"({"maximal_drop": 0.01})", "bare.json").algorithm, kAccuracyAwareQuantizationName);
  EXPECT_EQ(parse_quantize_config(R"({"preset": "mixed"})", "bare.json").algorithm, kDefaultQuantizationName);
  for (const char* bad : {R"({"name": "DefaultQuantization", "params": {"maximal_drop": 0.01}})",
                          R"({"drop_type": "percent"})", R"({"ranking_subset_size": 0})", R"({"max_iter_num": -2})",
                          R"({"maximal_drop": "small"})", R"({"tune_hyperparams": 1})",
                          R"({"name": "QuantizeEverything"})"}) {
    try {
      parse_quantize_config(bad, "bad.json");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("bad.json"), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace octet
