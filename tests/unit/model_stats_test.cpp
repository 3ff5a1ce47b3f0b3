// Tests of the library behind `octet inspect` and `octet bench` (src/runtime/model_stats.h,
// src/runtime/benchmark.h): MAC counts against naive loops that count every multiply, statistics
// of hand-built models, input-shape resolution, latency summaries against a sort-and-index oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "../kernels/kernel_test_util.h"
#include "runtime/benchmark.h"
#include "runtime/model_stats.h"
#include "runtime/session.h"

namespace octet {
namespace {

using testing::int_attribute;
using testing::ints_attribute;

constexpr int64_t kTestOpset = 13;

ValueInfo float_value(const std::string& name, const std::vector<int64_t>& dims) {
  ValueInfo info;
  info.name = name;
  info.dtype = DataType::kFloat;
  info.has_shape = true;
  for (int64_t dim : dims) info.dims.push_back({dim, dim < 0 ? "batch" : ""});
  return info;
}

Node node_of(const std::string& op_type, const std::string& name, std::vector<std::string> inputs,
             std::vector<std::string> outputs, std::vector<Attribute> attributes = {}) {
  Node node;
  node.name = name;
  node.op_type = op_type;
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  node.attributes = std::move(attributes);
  return node;
}

std::shared_ptr<const Tensor> ones(const Shape& shape) {
  auto tensor = std::make_shared<Tensor>(DataType::kFloat, shape);
  float* values = tensor->data<float>();
  for (int64_t i = 0; i < tensor->element_count(); ++i) values[i] = 1.0f;
  return tensor;
}

// Multiplies a naive 2-D convolution performs, counted one by one (padding taps included, as MAC
// counts conventionally do).
int64_t naive_conv_multiplies(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t group,
                              int64_t out_height, int64_t out_width, int64_t kernel_height, int64_t kernel_width) {
  int64_t multiplies = 0;
  const int64_t channels_per_group = in_channels / group;
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t m = 0; m < out_channels; ++m)
      for (int64_t y = 0; y < out_height; ++y)
        for (int64_t x = 0; x < out_width; ++x)
          for (int64_t c = 0; c < channels_per_group; ++c)
            for (int64_t ky = 0; ky < kernel_height; ++ky)
              for (int64_t kx = 0; kx < kernel_width; ++kx) ++multiplies;
  return multiplies;
}

TEST(RuntimeModelStatsMacs, ConvMatchesNaiveCountOverShapeSweep) {
  std::mt19937 generator(3);
  for (int trial = 0; trial < 40; ++trial) {
    auto pick = [&](int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(generator); };
    const int64_t group = pick(1, 3);
    const int64_t in_channels = group * pick(1, 3);
    const int64_t out_channels = group * pick(1, 3);
    const int64_t batch = pick(1, 2), kernel_height = pick(1, 3), kernel_width = pick(1, 4);
    const int64_t out_height = pick(1, 7), out_width = pick(1, 5);
    const Node conv = node_of("Conv", "conv", {"x", "w"}, {"y"}, {int_attribute("group", group)});
    const std::optional<int64_t> macs =
        node_macs(conv,
                  {Shape{batch, in_channels, out_height + kernel_height - 1, out_width + kernel_width - 1},
                   Shape{out_channels, in_channels / group, kernel_height, kernel_width}},
                  Shape{batch, out_channels, out_height, out_width});
    ASSERT_TRUE(macs.has_value());
    EXPECT_EQ(*macs, naive_conv_multiplies(batch, in_channels, out_channels, group, out_height, out_width,
                                           kernel_height, kernel_width))
        << "batch " << batch << " C " << in_channels << " M " << out_channels << " group " << group << " kernel "
        << kernel_height << "x" << kernel_width << " output " << out_height << "x" << out_width;
  }
}

TEST(RuntimeModelStatsMacs, ConvTransposeCountsEveryScatteredProduct) {
  // Input 1x4x3x5, weight [C=4, M/group=3, 2, 2], group 1: each input element meets 3*2*2 taps.
  const Node node = node_of("ConvTranspose", "deconv", {"x", "w"}, {"y"});
  int64_t multiplies = 0;
  for (int64_t input_element = 0; input_element < 1 * 4 * 3 * 5; ++input_element)
    for (int64_t tap = 0; tap < 3 * 2 * 2; ++tap) ++multiplies;
  EXPECT_EQ(node_macs(node, {Shape{1, 4, 3, 5}, Shape{4, 3, 2, 2}}, Shape{1, 3, 6, 10}), multiplies);
}

TEST(RuntimeModelStatsMacs, MatMulAndGemmCountOutputTimesInnerDimension) {
  const Node matmul = node_of("MatMul", "mm", {"a", "b"}, {"y"});
  // Batched [2, 5, 7] x [7, 3]: 2 * 5 * 3 outputs, 7 products each.
  EXPECT_EQ(node_macs(matmul, {Shape{2, 5, 7}, Shape{7, 3}}, Shape{2, 5, 3}), 2 * 5 * 3 * 7);
  // Rank-1 left operand [7] x [7, 3] -> [3].
  EXPECT_EQ(node_macs(matmul, {Shape{7}, Shape{7, 3}}, Shape{3}), 3 * 7);
  const Node gemm = node_of("Gemm", "gemm", {"a", "b", "c"}, {"y"});
  EXPECT_EQ(node_macs(gemm, {Shape{4, 6}, Shape{6, 9}, Shape{9}}, Shape{4, 9}), 4 * 9 * 6);
  const Node gemm_transposed = node_of("Gemm", "gemm", {"a", "b"}, {"y"}, {int_attribute("transA", 1)});
  EXPECT_EQ(node_macs(gemm_transposed, {Shape{6, 4}, Shape{6, 9}}, Shape{4, 9}), 4 * 9 * 6);
}

TEST(RuntimeModelStatsMacs, UnknownShapesAndOtherOpsGiveNothing) {
  const Node matmul = node_of("MatMul", "mm", {"a", "b"}, {"y"});
  EXPECT_FALSE(node_macs(matmul, {Shape{2, 3}, std::nullopt}, Shape{2, 4}).has_value());
  EXPECT_FALSE(node_macs(matmul, {Shape{2, 3}, Shape{3, 4}}, std::nullopt).has_value());
  const Node relu = node_of("Relu", "relu", {"x"}, {"y"});
  EXPECT_FALSE(node_macs(relu, {Shape{2, 3}}, Shape{2, 3}).has_value());
}

// x[batch, 3, 8, 8] -> Conv(w: initializer [4, 3, 3, 3], pads 1) -> Relu -> Flatten
//   -> MatMul(m: Constant node [256, 10]) -> MatMul(with itself transposed, no constant weight)
Model small_network() {
  Model model;
  model.opset_imports[""] = kTestOpset;
  Graph& graph = model.graph;
  graph.inputs.push_back(float_value("x", {-1, 3, 8, 8}));
  graph.outputs.push_back(float_value("z", {-1, -1}));
  graph.initializers["w"] = ones({4, 3, 3, 3});
  graph.nodes.push_back(node_of("Conv", "conv", {"x", "w"}, {"c"}, {ints_attribute("pads", {1, 1, 1, 1})}));
  graph.nodes.push_back(node_of("Relu", "relu", {"c"}, {"r"}));
  graph.nodes.push_back(node_of("Flatten", "flatten", {"r"}, {"f"}));
  Attribute value;
  value.name = "value";
  value.type = AttributeType::kTensor;
  value.tensor = ones({256, 10});
  graph.nodes.push_back(node_of("Constant", "constant", {}, {"m"}, {value}));
  graph.nodes.push_back(node_of("MatMul", "dense", {"f", "m"}, {"d"}));
  graph.nodes.push_back(node_of("Transpose", "transpose", {"d"}, {"t"}));
  graph.nodes.push_back(node_of("MatMul", "gram", {"d", "t"}, {"z"}));
  return model;
}

TEST(RuntimeModelStats, CountsParametersOpsQuantizableNodesAndMacsByRunning) {
  const Model model = small_network();
  ModelStatsOptions options;
  options.input_shapes["x"] = {2, 3, 8, 8};
  options.threads = 1;
  const ModelStats stats = compute_model_stats(model, options);

  EXPECT_EQ(stats.node_count, 7);
  EXPECT_EQ(stats.op_histogram.at("MatMul"), 2);
  EXPECT_EQ(stats.initializer_count, 1);
  EXPECT_EQ(stats.constant_node_count, 1);
  EXPECT_EQ(stats.parameter_count, 4 * 3 * 3 * 3 + 256 * 10);
  EXPECT_EQ(stats.parameter_bytes, (4 * 3 * 3 * 3 + 256 * 10) * 4);

  std::vector<std::string> quantizable;
  for (const QuantizableNode& node : stats.quantizable_nodes) quantizable.push_back(node.node_name);
  EXPECT_EQ(quantizable, (std::vector<std::string>{"conv", "dense"}));  // "gram" has no constant weight
  EXPECT_TRUE(stats.unsupported_ops.empty());

  ASSERT_TRUE(stats.macs_complete) << stats.macs_note;
  EXPECT_EQ(stats.shape_source, "inference run");
  const int64_t conv_macs = naive_conv_multiplies(2, 3, 4, 1, 8, 8, 3, 3);
  const int64_t dense_macs = 2 * 10 * 256;
  const int64_t gram_macs = 2 * 2 * 10;
  EXPECT_EQ(stats.macs_by_op.at("Conv"), conv_macs);
  EXPECT_EQ(stats.macs_by_op.at("MatMul"), dense_macs + gram_macs);
  EXPECT_EQ(stats.total_macs, conv_macs + dense_macs + gram_macs);
}

TEST(RuntimeModelStats, DynamicBatchAloneIsTakenAsOne) {
  ModelStatsOptions options;
  options.threads = 1;
  const ModelStats stats = compute_model_stats(small_network(), options);
  ASSERT_TRUE(stats.macs_complete) << stats.macs_note;
  EXPECT_EQ(stats.mac_input_shapes.at("x"), (Shape{1, 3, 8, 8}));
  EXPECT_EQ(stats.total_macs, naive_conv_multiplies(1, 3, 4, 1, 8, 8, 3, 3) + 10 * 256 + 10);
  EXPECT_NE(stats.macs_note.find("'x'"), std::string::npos) << stats.macs_note;
}

TEST(RuntimeModelStats, ListsUnsupportedOpsAndLeavesMacsIncomplete) {
  Model model = small_network();
  Node custom = node_of("FrobnicateOp", "frobnicate", {"z"}, {"out"});
  custom.domain = "com.example";
  model.graph.nodes.push_back(custom);
  model.graph.outputs[0] = float_value("out", {-1, -1});
  model.opset_imports["com.example"] = 1;
  ModelStatsOptions options;
  options.input_shapes["x"] = {1, 3, 8, 8};
  const ModelStats stats = compute_model_stats(model, options);
  ASSERT_EQ(stats.unsupported_ops.size(), 1u);
  EXPECT_EQ(stats.unsupported_ops[0].op_type, "FrobnicateOp");
  EXPECT_EQ(stats.unsupported_ops[0].node_names, (std::vector<std::string>{"frobnicate"}));
  EXPECT_FALSE(stats.macs_complete);
  EXPECT_NE(stats.macs_note.find("FrobnicateOp"), std::string::npos) << stats.macs_note;
}

TEST(RuntimeModelStatsInputShapes, ResolvesOverridesBatchAndDeclaredShapes) {
  const std::vector<ValueInfo> inputs = {float_value("image", {-1, 3, 4, 4}), float_value("scale", {2})};
  const auto resolved = resolve_input_shapes(inputs, {{"image", {5, 3, 4, 4}}}, std::nullopt, true);
  EXPECT_EQ(resolved.at("image"), (Shape{5, 3, 4, 4}));
  EXPECT_EQ(resolved.at("scale"), (Shape{2}));
  const auto batched = resolve_input_shapes(inputs, {}, 8, true);
  EXPECT_EQ(batched.at("image"), (Shape{8, 3, 4, 4}));
  EXPECT_EQ(batched.at("scale"), (Shape{8}));
  EXPECT_EQ(resolve_input_shapes(inputs, {}, std::nullopt, false).count("image"), 0u);
}

TEST(RuntimeModelStatsInputShapes, ErrorsNameTheInputAndTheOption) {
  const std::vector<ValueInfo> inputs = {float_value("image", {-1, 3, 4, 4})};
  auto message_of = [&](const std::map<std::string, Shape>& overrides) {
    try {
      resolve_input_shapes(inputs, overrides, std::nullopt, true);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  const std::string dynamic = message_of({});
  EXPECT_NE(dynamic.find("'image'"), std::string::npos) << dynamic;
  EXPECT_NE(dynamic.find("--shape image=1x3x4x4"), std::string::npos) << dynamic;
  const std::string unknown = message_of({{"label", {1}}});
  EXPECT_NE(unknown.find("'label'"), std::string::npos) << unknown;
  const std::string wrong_rank = message_of({{"image", {1, 3}}});
  EXPECT_NE(wrong_rank.find("rank"), std::string::npos) << wrong_rank;
}

TEST(RuntimeBenchmark, LatencySummaryMatchesSortedIndexing) {
  std::mt19937 generator(11);
  for (size_t count : {1u, 2u, 9u, 10u, 11u, 57u}) {
    std::vector<double> latencies;
    std::uniform_real_distribution<double> distribution(1.0, 50.0);
    for (size_t i = 0; i < count; ++i) latencies.push_back(distribution(generator));
    std::vector<double> sorted = latencies;
    std::sort(sorted.begin(), sorted.end());
    const LatencySummary summary = summarize_latencies(latencies);
    const double expected_median =
        count % 2 ? sorted[count / 2] : 0.5 * (sorted[count / 2 - 1] + sorted[count / 2]);
    // Nearest rank: the k-th smallest with k = ceil(0.9 * count); with integers, (9 * count + 9) / 10.
    const size_t rank = (9 * count + 9) / 10;
    double sum = 0;
    for (double value : latencies) sum += value;
    EXPECT_DOUBLE_EQ(summary.median, expected_median) << "count " << count;
    EXPECT_DOUBLE_EQ(summary.p90, sorted[rank - 1]) << "count " << count;
    EXPECT_DOUBLE_EQ(summary.min, sorted.front());
    EXPECT_DOUBLE_EQ(summary.max, sorted.back());
    EXPECT_NEAR(summary.mean, sum / static_cast<double>(count), 1e-9);
  }
  EXPECT_THROW(summarize_latencies({}), Error);
}

TEST(RuntimeBenchmark, RandomInputsAreDeterministicAndInRange) {
  const Tensor first = random_input_tensor(DataType::kFloat, {4, 33}, 5);
  const Tensor second = random_input_tensor(DataType::kFloat, {4, 33}, 5);
  bool any_nonzero = false;
  for (int64_t i = 0; i < first.element_count(); ++i) {
    const float value = first.data<float>()[i];
    EXPECT_TRUE(value >= 0.0f && value < 1.0f) << value;
    EXPECT_EQ(value, second.data<float>()[i]);
    any_nonzero = any_nonzero || value != 0.0f;
  }
  EXPECT_TRUE(any_nonzero);
  const Tensor indices = random_input_tensor(DataType::kInt64, {7}, 5);
  for (int64_t i = 0; i < indices.element_count(); ++i) EXPECT_EQ(indices.data<int64_t>()[i], 0);
}

TEST(RuntimeBenchmark, RunsAtLeastTheMinimumAndReportsConsistentNumbers) {
  Model model;
  model.opset_imports[""] = kTestOpset;
  model.graph.inputs.push_back(float_value("x", {-1, 16}));
  model.graph.outputs.push_back(float_value("y", {-1, 16}));
  model.graph.nodes.push_back(node_of("Relu", "relu", {"x"}, {"y"}));
  SessionOptions session_options;
  session_options.threads = 1;
  Session session(std::move(model), session_options);

  BenchmarkOptions options;
  options.batch = 3;
  options.min_seconds = 0.001;
  options.min_iterations = 12;
  const BenchmarkResult result = run_benchmark(session, options);
  EXPECT_GE(result.iterations, 12);
  EXPECT_EQ(static_cast<int64_t>(result.latencies_ms.size()), result.iterations);
  EXPECT_EQ(result.input_shapes.at("x"), (Shape{3, 16}));
  EXPECT_EQ(result.batch, 3);
  EXPECT_NEAR(result.throughput_fps, 3.0 * static_cast<double>(result.iterations) / result.total_seconds, 1e-6);
  EXPECT_LE(result.latency_ms.min, result.latency_ms.median);
  EXPECT_LE(result.latency_ms.median, result.latency_ms.p90);
  EXPECT_GT(result.peak_resident_bytes, 0);

  BenchmarkOptions without_shape;
  without_shape.min_seconds = 0.001;
  EXPECT_THROW(run_benchmark(session, without_shape), Error);  // dynamic batch, no --shape or --batch
}

}  // namespace
}  // namespace octet
