// Tests of the graph passes (src/passes): each pass on small hand-built graphs, checked for the
// structural change it should make (and the ones it must not make), and numerically: a session
// with optimize=false and one with optimize=true must compute the same outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "../kernels/kernel_test_util.h"
#include "onnx/onnx_io.h"
#include "passes/optimize.h"
#include "passes/passes.h"
#include "runtime/builtin_kernels.h"
#include "runtime/session.h"

namespace octet {
namespace {

using testing::float_attribute;
using testing::int_attribute;
using testing::ints_attribute;
using testing::random_tensor;

// Folding reassociates float arithmetic (e.g. (W * s) . x instead of s * (W . x)), which moves
// results by a few float ulps times the accumulation depth; values here are O(1) with depths
// below 100, so 1e-5 absolute is well above rounding and far below any wiring mistake.
constexpr double kFoldingTolerance = 1e-5;

constexpr int64_t kTestOpset = 17;

ValueInfo float_value(const std::string& name, const std::vector<int64_t>& dims) {
  ValueInfo info;
  info.name = name;
  info.dtype = DataType::kFloat;
  info.has_shape = true;
  for (int64_t dim : dims) info.dims.push_back({dim, dim < 0 ? "N" : ""});
  return info;
}

Model empty_model(int64_t opset = kTestOpset) {
  Model model;
  model.opset_imports[""] = opset;
  return model;
}

Node& add_node(Graph& graph, const std::string& op_type, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<Attribute> attributes = {}) {
  Node node;
  node.name = op_type + "_" + std::to_string(graph.nodes.size());
  node.op_type = op_type;
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  node.attributes = std::move(attributes);
  graph.nodes.push_back(std::move(node));
  return graph.nodes.back();
}

void add_initializer(Graph& graph, const std::string& name, Tensor tensor) {
  graph.initializers[name] = std::make_shared<const Tensor>(std::move(tensor));
}

Attribute tensor_attribute(const std::string& name, Tensor tensor) {
  Attribute attribute;
  attribute.name = name;
  attribute.type = AttributeType::kTensor;
  attribute.tensor = std::make_shared<const Tensor>(std::move(tensor));
  return attribute;
}

PassContext builtin_context() { return PassContext{builtin_kernel_registry()}; }

size_t count_ops(const Graph& graph, const std::string& op_type) {
  return static_cast<size_t>(
      std::count_if(graph.nodes.begin(), graph.nodes.end(), [&](const Node& node) { return node.op_type == op_type; }));
}

// Names of the ops a graph uses that the built-in registry lacks (other engineers' kernels may
// still be missing); empty when a session can run the graph.
std::string missing_kernels(const Graph& graph) {
  std::string missing;
  for (const auto& node : graph.nodes)
    if (!builtin_kernel_registry().supports(node.domain, node.op_type)) missing += " " + node.op_type;
  return missing;
}

std::vector<Tensor> run_session(const Model& model, bool optimize, const std::map<std::string, const Tensor*>& feeds,
                                std::vector<std::string>* applied_passes = nullptr) {
  SessionOptions options;
  options.optimize = optimize;
  options.threads = 1;
  Session session(model, options);
  if (applied_passes) *applied_passes = session.applied_passes();
  return session.run(feeds);
}

// Runs the model with and without optimization on the same feeds and expects equal outputs.
// Skips (with the reason) when a kernel the graph needs is not built in yet.
void expect_same_outputs_when_optimized(const Model& model, const std::map<std::string, const Tensor*>& feeds,
                                        double tolerance = kFoldingTolerance) {
  if (const std::string missing = missing_kernels(model.graph); !missing.empty())
    GTEST_SKIP() << "numeric check needs kernels not built in yet:" << missing;
  const std::vector<Tensor> expected = run_session(model, false, feeds);
  std::vector<std::string> applied;
  const std::vector<Tensor> actual = run_session(model, true, feeds, &applied);
  EXPECT_FALSE(applied.empty()) << "optimize=true changed nothing";
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    testing::expect_near(actual[i], expected[i], tolerance, "output " + model.graph.outputs[i].name);
}

// ---------------------------------------------------------------- remove_identity

TEST(PassesRemoveIdentity, RewiresConsumersToTheInput) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {2, 3})};
  graph.outputs = {float_value("y", {2, 3})};
  add_node(graph, "Relu", {"x"}, {"a"});
  add_node(graph, "Identity", {"a"}, {"b"});
  add_node(graph, "Dropout", {"b"}, {"c"}, {float_attribute("ratio", 0.5f)});
  add_node(graph, "Neg", {"c"}, {"y"});
  graph.value_infos["b"] = float_value("b", {2, 3});

  const Model original = model;
  EXPECT_TRUE(remove_identity(model, builtin_context()));
  graph.verify();
  ASSERT_EQ(graph.nodes.size(), 2u);
  EXPECT_EQ(graph.nodes[1].op_type, "Neg");
  EXPECT_EQ(graph.nodes[1].inputs[0], "a");
  EXPECT_FALSE(graph.value_infos.count("b")) << "value info of a removed value kept";
  EXPECT_FALSE(remove_identity(model, builtin_context())) << "second run should find nothing";

  const Tensor x = random_tensor({2, 3}, 1);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

TEST(PassesRemoveIdentity, KeepsGraphOutputNamesByRenamingTheProducer) {
  // x -> Relu -> a -> Identity -> y (graph output); a -> Neg -> z (graph output)
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {4})};
  graph.outputs = {float_value("y", {4}), float_value("z", {4})};
  add_node(graph, "Relu", {"x"}, {"a"});
  add_node(graph, "Identity", {"a"}, {"y"});
  add_node(graph, "Neg", {"a"}, {"z"});

  const Model original = model;
  EXPECT_TRUE(remove_identity(model, builtin_context()));
  graph.verify();
  ASSERT_EQ(graph.nodes.size(), 2u);
  EXPECT_EQ(graph.nodes[0].op_type, "Relu");
  EXPECT_EQ(graph.nodes[0].outputs[0], "y");
  EXPECT_EQ(graph.nodes[1].inputs[0], "y");
  EXPECT_EQ(graph.outputs[0].name, "y");
  EXPECT_EQ(graph.outputs[1].name, "z");

  const Tensor x = random_tensor({4}, 2);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

TEST(PassesRemoveIdentity, KeepsNodesThatCannotBeRemoved) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {4})};
  graph.outputs = {float_value("from_input", {4}), float_value("from_initializer", {4}), float_value("a", {4}),
                   float_value("copy_of_output", {4}), float_value("masked", {4}), float_value("mask", {4}),
                   float_value("trained", {4})};
  add_initializer(graph, "w", random_tensor({4}, 3));
  add_initializer(graph, "training", Tensor::scalar(true));
  add_node(graph, "Identity", {"x"}, {"from_input"});          // graph input -> graph output
  add_node(graph, "Identity", {"w"}, {"from_initializer"});    // initializer -> graph output
  add_node(graph, "Relu", {"x"}, {"a"});
  add_node(graph, "Identity", {"a"}, {"copy_of_output"});      // graph output -> graph output
  add_node(graph, "Dropout", {"a"}, {"masked", "mask"});       // mask is read (a graph output)
  add_node(graph, "Dropout", {"a", "", "training"}, {"trained"});  // training mode on

  EXPECT_FALSE(remove_identity(model, builtin_context()));
  EXPECT_EQ(graph.nodes.size(), 6u);
}

// ---------------------------------------------------------------- fold_constants

TEST(PassesFoldConstants, TurnsConstantNodesIntoInitializers) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.outputs = {float_value("t", {2}), float_value("f", {}), float_value("i", {3})};
  add_node(graph, "Constant", {}, {"t"}, {tensor_attribute("value", Tensor::from_vector<float>({2}, {1.5f, -2.0f}))});
  add_node(graph, "Constant", {}, {"f"}, {float_attribute("value_float", 0.25f)});
  add_node(graph, "Constant", {}, {"i"}, {ints_attribute("value_ints", {4, 5, 6})});

  EXPECT_TRUE(fold_constants(model, builtin_context()));
  graph.verify();
  EXPECT_TRUE(graph.nodes.empty());
  ASSERT_TRUE(graph.find_initializer("t") && graph.find_initializer("f") && graph.find_initializer("i"));
  EXPECT_EQ(graph.find_initializer("t")->value_as_double(1), -2.0);
  EXPECT_EQ(graph.find_initializer("f")->shape(), Shape{});
  EXPECT_EQ(graph.find_initializer("f")->value_as_double(0), 0.25);
  EXPECT_EQ(graph.find_initializer("i")->dtype(), DataType::kInt64);
  EXPECT_EQ(graph.find_initializer("i")->to_int64_vector(), (std::vector<int64_t>{4, 5, 6}));
}

TEST(PassesFoldConstants, FoldsChainsOfConstantArithmetic) {
  // (a + b) * 2 is constant; its product with the input x is not.
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {3})};
  graph.outputs = {float_value("y", {3})};
  const std::vector<float> a{1.0f, 2.0f, 3.0f}, b{0.5f, -4.0f, 10.0f};
  add_initializer(graph, "a", Tensor::from_vector<float>({3}, a));
  add_initializer(graph, "b", Tensor::from_vector<float>({3}, b));
  add_node(graph, "Constant", {}, {"two"}, {float_attribute("value_float", 2.0f)});
  add_node(graph, "Add", {"a", "b"}, {"sum"});
  add_node(graph, "Mul", {"sum", "two"}, {"scaled"});
  add_node(graph, "Mul", {"x", "scaled"}, {"y"});
  if (const std::string missing = missing_kernels(graph); !missing.empty()) GTEST_SKIP() << "missing:" << missing;

  const Model original = model;
  EXPECT_TRUE(fold_constants(model, builtin_context()));
  graph.verify();
  ASSERT_EQ(graph.nodes.size(), 1u);
  EXPECT_EQ(graph.nodes[0].inputs[1], "scaled");
  const Tensor* scaled = graph.find_initializer("scaled");
  ASSERT_NE(scaled, nullptr);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(scaled->value_as_double(i), (a[i] + b[i]) * 2.0f) << "element " << i;

  const Tensor x = random_tensor({3}, 4);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

TEST(PassesFoldConstants, LeavesNondeterministicUnsupportedAndQuantizedWeightNodes) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.outputs = {float_value("random", {2}), float_value("unknown", {2}), float_value("weights", {2})};
  add_initializer(graph, "c", Tensor::from_vector<float>({2}, {1.0f, 2.0f}));
  add_initializer(graph, "q", Tensor::from_vector<int8_t>({2}, {-3, 7}));
  add_initializer(graph, "scale", Tensor::scalar(0.5f));
  add_node(graph, "RandomUniformLike", {"c"}, {"random"});
  add_node(graph, "NoSuchOp", {"c"}, {"unknown"});
  add_node(graph, "DequantizeLinear", {"q", "scale"}, {"weights"});

  EXPECT_FALSE(fold_constants(model, builtin_context()));
  EXPECT_EQ(graph.nodes.size(), 3u);
}

TEST(PassesFoldConstants, LeavesOutputsLargerThanTheLimit) {
  // ConstantOfShape of a few numbers can make a huge tensor; above 64 MiB it stays a node.
  constexpr int64_t kLimitBytes = int64_t{64} << 20;
  constexpr int64_t kTooManyFloats = kLimitBytes / static_cast<int64_t>(sizeof(float)) + 1;
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.outputs = {float_value("big", {kTooManyFloats}), float_value("small", {8})};
  add_initializer(graph, "big_shape", Tensor::from_vector<int64_t>({1}, {kTooManyFloats}));
  add_initializer(graph, "small_shape", Tensor::from_vector<int64_t>({1}, {8}));
  const Attribute one = tensor_attribute("value", Tensor::from_vector<float>({1}, {1.0f}));
  add_node(graph, "ConstantOfShape", {"big_shape"}, {"big"}, {one});
  add_node(graph, "ConstantOfShape", {"small_shape"}, {"small"}, {one});
  if (const std::string missing = missing_kernels(graph); !missing.empty()) GTEST_SKIP() << "missing:" << missing;

  EXPECT_TRUE(fold_constants(model, builtin_context()));
  ASSERT_EQ(graph.nodes.size(), 1u);
  EXPECT_EQ(graph.nodes[0].outputs[0], "big");
  ASSERT_NE(graph.find_initializer("small"), nullptr);

  // Without a declared shape the node is evaluated and the result discarded.
  graph.outputs[0].has_shape = false;
  graph.outputs[0].dims.clear();
  EXPECT_FALSE(fold_constants(model, builtin_context()));
  EXPECT_EQ(graph.nodes.size(), 1u);
}

// ---------------------------------------------------------------- fold_shape_subgraphs

// x -> Shape -> Gather(2) -> Unsqueeze -> Concat([-1], .) -> Reshape(x, .) -> y: with x static,
// the whole shape computation folds and only the Reshape remains.
Model reshape_by_shape_arithmetic_model(const std::vector<int64_t>& x_dims) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", x_dims)};
  graph.outputs = {float_value("y", {})};
  graph.outputs[0].has_shape = false;
  add_initializer(graph, "two", Tensor::scalar<int64_t>(2));
  add_initializer(graph, "zero_axis", Tensor::from_vector<int64_t>({1}, {0}));
  add_initializer(graph, "minus_one", Tensor::from_vector<int64_t>({1}, {-1}));
  add_node(graph, "Shape", {"x"}, {"shape"});
  add_node(graph, "Gather", {"shape", "two"}, {"height"});
  add_node(graph, "Unsqueeze", {"height", "zero_axis"}, {"height_1d"});
  add_node(graph, "Concat", {"minus_one", "height_1d"}, {"new_shape"}, {int_attribute("axis", 0)});
  add_node(graph, "Reshape", {"x", "new_shape"}, {"y"});
  return model;
}

TEST(PassesFoldShapeSubgraphs, FoldsShapeArithmeticOfStaticValues) {
  Model model = reshape_by_shape_arithmetic_model({2, 3, 5, 7});
  const Model original = model;
  std::vector<std::string> applied = optimize_model(model, builtin_kernel_registry());
  model.graph.verify();
  EXPECT_NE(std::find(applied.begin(), applied.end(), "fold_shape_subgraphs"), applied.end());
  const std::string missing = missing_kernels(original.graph);
  if (!missing.empty()) GTEST_SKIP() << "constant folding needs kernels not built in yet:" << missing;
  ASSERT_EQ(model.graph.nodes.size(), 1u);
  EXPECT_EQ(model.graph.nodes[0].op_type, "Reshape");
  const Tensor* new_shape = model.graph.find_initializer(model.graph.nodes[0].inputs[1]);
  ASSERT_NE(new_shape, nullptr);
  EXPECT_EQ(new_shape->to_int64_vector(), (std::vector<int64_t>{-1, 5}));
  EXPECT_EQ(model.graph.initializers.size(), 1u) << "the intermediate constants should be dropped";

  const Tensor x = random_tensor({2, 3, 5, 7}, 5);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

TEST(PassesFoldShapeSubgraphs, LeavesDynamicShapesAlone) {
  Model model = reshape_by_shape_arithmetic_model({-1, 3, -1, 7});
  EXPECT_FALSE(fold_shape_subgraphs(model, builtin_context()));
  EXPECT_EQ(count_ops(model.graph, "Shape"), 1u);

  const Tensor x = random_tensor({2, 3, 5, 7}, 6);
  if (const std::string missing = missing_kernels(model.graph); !missing.empty()) GTEST_SKIP() << "missing:" << missing;
  const std::vector<Tensor> optimized = run_session(model, true, {{"x", &x}});
  EXPECT_EQ(optimized[0].shape(), (Shape{2 * 3 * 7, 5}));
}

TEST(PassesFoldShapeSubgraphs, RespectsShapeStartAndEnd) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {-1, 3, 5, -1})};
  graph.outputs = {float_value("middle", {2}), float_value("tail", {1}), float_value("all", {4}),
                   float_value("count", {}), float_value("static_count", {})};
  add_initializer(graph, "w", random_tensor({2, 3, 4}, 7));
  add_node(graph, "Shape", {"x"}, {"middle"}, {int_attribute("start", 1), int_attribute("end", -1)});
  add_node(graph, "Shape", {"x"}, {"tail"}, {int_attribute("start", -1)});  // dynamic: stays
  add_node(graph, "Shape", {"x"}, {"all"});                                 // dynamic: stays
  add_node(graph, "Size", {"x"}, {"count"});                                // dynamic: stays
  add_node(graph, "Size", {"w"}, {"static_count"});
  for (auto& output : graph.outputs) output.dtype = DataType::kInt64;

  const Model original = model;
  EXPECT_TRUE(fold_shape_subgraphs(model, builtin_context()));
  graph.verify();
  EXPECT_EQ(graph.nodes.size(), 3u);
  ASSERT_NE(graph.find_initializer("middle"), nullptr);
  EXPECT_EQ(graph.find_initializer("middle")->to_int64_vector(), (std::vector<int64_t>{3, 5}));
  ASSERT_NE(graph.find_initializer("static_count"), nullptr);
  EXPECT_EQ(graph.find_initializer("static_count")->shape(), Shape{});
  EXPECT_EQ(graph.find_initializer("static_count")->value_as_int64(0), 24);

  const Tensor x = random_tensor({2, 3, 5, 6}, 8);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

TEST(PassesFoldShapeSubgraphs, IgnoresStartAndEndBeforeOpset15) {
  Model model = empty_model(/*opset=*/13);
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {2, 3})};
  graph.outputs = {float_value("s", {2})};
  add_node(graph, "Shape", {"x"}, {"s"}, {int_attribute("start", 1)});
  EXPECT_TRUE(fold_shape_subgraphs(model, builtin_context()));
  EXPECT_EQ(graph.find_initializer("s")->to_int64_vector(), (std::vector<int64_t>{2, 3}));
}

// ---------------------------------------------------------------- fold_batch_norm

struct BatchNormValues {
  Tensor scale, bias, mean, variance;
};

// Random BN parameters with variances in [0.5, 2) so that the multipliers are O(1).
BatchNormValues random_batch_norm(int64_t channels, uint32_t seed) {
  return {random_tensor({channels}, seed, 0.5f, 1.5f), random_tensor({channels}, seed + 1),
          random_tensor({channels}, seed + 2), random_tensor({channels}, seed + 3, 0.5f, 2.0f)};
}

// Adds `input` -> BatchNormalization -> `output` with parameters named after `prefix`.
void add_batch_norm(Graph& graph, const std::string& prefix, const std::string& input, const std::string& output,
                    BatchNormValues values, float epsilon = 1e-3f) {
  add_initializer(graph, prefix + "_scale", std::move(values.scale));
  add_initializer(graph, prefix + "_bias", std::move(values.bias));
  add_initializer(graph, prefix + "_mean", std::move(values.mean));
  add_initializer(graph, prefix + "_variance", std::move(values.variance));
  add_node(graph, "BatchNormalization",
           {input, prefix + "_scale", prefix + "_bias", prefix + "_mean", prefix + "_variance"}, {output},
           {float_attribute("epsilon", epsilon)});
}

TEST(PassesFoldBatchNorm, FoldsIntoConvWithAndWithoutBias) {
  constexpr int64_t kChannels = 5, kInputChannels = 3;
  constexpr float kEpsilon = 1e-3f;
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {2, kInputChannels, 7, 6})};
  graph.outputs = {float_value("y", {}), float_value("z", {})};
  add_initializer(graph, "w", random_tensor({kChannels, kInputChannels, 3, 3}, 10));
  add_initializer(graph, "b", random_tensor({kChannels}, 11));
  add_initializer(graph, "w2", random_tensor({kChannels, kInputChannels, 1, 1}, 12));
  add_node(graph, "Conv", {"x", "w", "b"}, {"conv"}, {ints_attribute("pads", {1, 1, 1, 1})});
  add_batch_norm(graph, "bn", "conv", "y", random_batch_norm(kChannels, 20), kEpsilon);
  add_node(graph, "Conv", {"x", "w2"}, {"conv2"});
  add_batch_norm(graph, "bn2", "conv2", "z", random_batch_norm(kChannels, 30), kEpsilon);

  const Model original = model;
  EXPECT_TRUE(fold_batch_norm(model, builtin_context()));
  graph.verify();
  EXPECT_EQ(count_ops(graph, "BatchNormalization"), 0u);
  ASSERT_EQ(graph.nodes.size(), 2u);
  const Node& conv = graph.nodes[0];
  EXPECT_EQ(conv.outputs[0], "y");
  EXPECT_NE(conv.inputs[1], "w") << "the shared weight initializer must not be reused under its name";
  EXPECT_EQ(graph.nodes[1].inputs.size(), 3u) << "a bias is added to the conv without one";

  // Independent check of the formula on the first conv: W'[c] = W[c] * s[c], b'[c] = (b - mean) * s + B.
  const Tensor& w = *original.graph.find_initializer("w");
  const Tensor& new_w = *graph.find_initializer(conv.inputs[1]);
  const Tensor& new_b = *graph.find_initializer(conv.inputs[2]);
  const Graph& before = original.graph;
  const int64_t per_channel = w.element_count() / kChannels;
  for (int64_t c = 0; c < kChannels; ++c) {
    const double s = before.find_initializer("bn_scale")->value_as_double(c) /
                     std::sqrt(before.find_initializer("bn_variance")->value_as_double(c) + kEpsilon);
    for (int64_t k = 0; k < per_channel; ++k) {
      const int64_t e = c * per_channel + k;
      EXPECT_NEAR(new_w.value_as_double(e), w.value_as_double(e) * s, kFoldingTolerance) << "weight " << e;
    }
    const double expected_bias = (before.find_initializer("b")->value_as_double(c) -
                                  before.find_initializer("bn_mean")->value_as_double(c)) * s +
                                 before.find_initializer("bn_bias")->value_as_double(c);
    EXPECT_NEAR(new_b.value_as_double(c), expected_bias, kFoldingTolerance) << "bias " << c;
  }
  EXPECT_EQ(graph.find_initializer("w")->value_as_double(0), w.value_as_double(0)) << "original weight changed";

  const Tensor x = random_tensor({2, kInputChannels, 7, 6}, 13);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

TEST(PassesFoldBatchNorm, FoldsIntoGroupedConvTranspose) {
  // Weights [C_in, C_out/group, kh, kw] with group 2: output channel of W[i, j] is (i / 2) * 3 + j.
  constexpr int64_t kInputChannels = 4, kGroup = 2, kOutputChannelsPerGroup = 3;
  constexpr int64_t kChannels = kGroup * kOutputChannelsPerGroup;
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1, kInputChannels, 5, 4})};
  graph.outputs = {float_value("y", {})};
  add_initializer(graph, "w", random_tensor({kInputChannels, kOutputChannelsPerGroup, 2, 3}, 40));
  add_initializer(graph, "b", random_tensor({kChannels}, 41));
  add_node(graph, "ConvTranspose", {"x", "w", "b"}, {"deconv"},
           {int_attribute("group", kGroup), ints_attribute("strides", {2, 1})});
  add_batch_norm(graph, "bn", "deconv", "y", random_batch_norm(kChannels, 42));

  const Model original = model;
  EXPECT_TRUE(fold_batch_norm(model, builtin_context()));
  graph.verify();
  ASSERT_EQ(graph.nodes.size(), 1u);
  EXPECT_EQ(graph.nodes[0].op_type, "ConvTranspose");

  const Tensor x = random_tensor({1, kInputChannels, 5, 4}, 43);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

// Paddle exports ConvTranspose's bias as a separate Add of a [1, C, 1, 1] constant, and the
// PP-OCR detector's DB head puts a BatchNormalization after it: the Add folds into the bias first
// (fold_conv_affine), then the batch norm into weights and bias (fold_batch_norm).
TEST(PassesFoldConvAffine, ConvTransposeBiasAddThenBatchNormFold) {
  constexpr int64_t kInputChannels = 6, kChannels = 4;
  Model model = empty_model(11);
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1, kInputChannels, 5, 4})};
  graph.outputs = {float_value("y", {})};
  add_initializer(graph, "w", random_tensor({kInputChannels, kChannels, 2, 2}, 60));
  add_initializer(graph, "b", random_tensor({1, kChannels, 1, 1}, 61));
  add_node(graph, "ConvTranspose", {"x", "w"}, {"deconv"},
           {ints_attribute("kernel_shape", {2, 2}), ints_attribute("strides", {2, 2})});
  add_node(graph, "Add", {"deconv", "b"}, {"biased"});
  add_batch_norm(graph, "bn", "biased", "normalized", random_batch_norm(kChannels, 62));
  add_node(graph, "Relu", {"normalized"}, {"y"});

  Model folded = model;
  EXPECT_TRUE(fold_conv_affine(folded, builtin_context()));
  folded.graph.verify();
  EXPECT_EQ(count_ops(folded.graph, "Add"), 0u);
  ASSERT_EQ(folded.graph.nodes[0].op_type, "ConvTranspose");
  ASSERT_EQ(folded.graph.nodes[0].inputs.size(), 3u);
  const Tensor& bias = *folded.graph.find_initializer(folded.graph.nodes[0].inputs[2]);
  ASSERT_EQ(bias.shape(), (Shape{kChannels}));
  for (int64_t c = 0; c < kChannels; ++c)
    EXPECT_EQ(bias.value_as_double(c), graph.find_initializer("b")->value_as_double(c)) << "bias " << c;

  Model optimized = model;
  optimize_model(optimized, builtin_kernel_registry());
  optimized.graph.verify();
  EXPECT_EQ(count_ops(optimized.graph, "BatchNormalization"), 0u);
  EXPECT_EQ(count_ops(optimized.graph, "Add"), 0u);
  EXPECT_EQ(optimized.graph.nodes.size(), 2u) << "ConvTranspose and Relu";

  const Tensor x = random_tensor({1, kInputChannels, 5, 4}, 63);
  expect_same_outputs_when_optimized(model, {{"x", &x}});
}

// A per-channel Mul after a grouped ConvTranspose scales the weights of each output channel:
// W[i, j] feeds channel (i / (C_in / group)) * (C_out / group) + j.
TEST(PassesFoldConvAffine, ScalesGroupedConvTransposeWeightsPerOutputChannel) {
  constexpr int64_t kInputChannels = 4, kGroup = 2, kOutputChannelsPerGroup = 3;
  constexpr int64_t kChannels = kGroup * kOutputChannelsPerGroup;
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1, kInputChannels, 5, 4})};
  graph.outputs = {float_value("y", {})};
  add_initializer(graph, "w", random_tensor({kInputChannels, kOutputChannelsPerGroup, 3, 2}, 70));
  add_initializer(graph, "b", random_tensor({kChannels}, 71));
  add_initializer(graph, "s", random_tensor({kChannels, 1, 1}, 72, 0.5f, 2.0f));
  add_initializer(graph, "t", random_tensor({1, kChannels, 1, 1}, 73));
  add_node(graph, "ConvTranspose", {"x", "w", "b"}, {"deconv"},
           {int_attribute("group", kGroup), ints_attribute("strides", {2, 1}), ints_attribute("pads", {1, 0, 1, 1})});
  add_node(graph, "Mul", {"s", "deconv"}, {"scaled"});
  add_node(graph, "Sub", {"scaled", "t"}, {"y"});

  const Model original = model;
  EXPECT_TRUE(fold_conv_affine(model, builtin_context()));
  graph.verify();
  ASSERT_EQ(graph.nodes.size(), 1u);
  EXPECT_EQ(graph.nodes[0].op_type, "ConvTranspose");
  EXPECT_EQ(graph.nodes[0].outputs[0], "y");
  const Tensor& w = *original.graph.find_initializer("w");
  const Tensor& new_w = *graph.find_initializer(graph.nodes[0].inputs[1]);
  const Tensor& s = *original.graph.find_initializer("s");
  const int64_t kernel_size = 3 * 2;
  for (int64_t e = 0; e < w.element_count(); ++e) {
    const int64_t input_channel = e / (kOutputChannelsPerGroup * kernel_size);
    const int64_t channel = (input_channel / (kInputChannels / kGroup)) * kOutputChannelsPerGroup +
                            (e / kernel_size) % kOutputChannelsPerGroup;
    EXPECT_NEAR(new_w.value_as_double(e), w.value_as_double(e) * s.value_as_double(channel), kFoldingTolerance) << e;
  }
  const Tensor x = random_tensor({1, kInputChannels, 5, 4}, 74);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

TEST(PassesFoldBatchNorm, FoldsIntoGemmForBothWeightLayouts) {
  constexpr int64_t kRows = 3, kDepth = 4, kChannels = 5;
  for (const int64_t trans_b : {0, 1}) {
    SCOPED_TRACE(concat("transB=", trans_b));
    Model model = empty_model();
    Graph& graph = model.graph;
    graph.inputs = {float_value("a", {kRows, kDepth})};
    graph.outputs = {float_value("y", {kRows, kChannels})};
    add_initializer(graph, "b", random_tensor(trans_b ? Shape{kChannels, kDepth} : Shape{kDepth, kChannels}, 50));
    add_initializer(graph, "c", random_tensor({1, kChannels}, 51));
    add_node(graph, "Gemm", {"a", "b", "c"}, {"gemm"},
             {int_attribute("transB", trans_b), float_attribute("alpha", 1.5f), float_attribute("beta", 0.5f)});
    add_batch_norm(graph, "bn", "gemm", "y", random_batch_norm(kChannels, 52));

    const Model original = model;
    EXPECT_TRUE(fold_batch_norm(model, builtin_context()));
    graph.verify();
    ASSERT_EQ(graph.nodes.size(), 1u);
    EXPECT_EQ(graph.nodes[0].attr_float("beta"), 1.0f);

    const Tensor a = random_tensor({kRows, kDepth}, 53);
    expect_same_outputs_when_optimized(original, {{"a", &a}});
  }
}

TEST(PassesFoldBatchNorm, FoldsTwoConvsSharingOneWeight) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1, 2, 4, 4})};
  graph.outputs = {float_value("y1", {}), float_value("y2", {})};
  add_initializer(graph, "w", random_tensor({3, 2, 1, 1}, 60));
  add_node(graph, "Conv", {"x", "w"}, {"c1"});
  add_batch_norm(graph, "bn1", "c1", "y1", random_batch_norm(3, 61));
  add_node(graph, "Conv", {"x", "w"}, {"c2"});
  add_batch_norm(graph, "bn2", "c2", "y2", random_batch_norm(3, 62));

  const Model original = model;
  EXPECT_TRUE(fold_batch_norm(model, builtin_context()));
  graph.verify();
  ASSERT_EQ(graph.nodes.size(), 2u);
  EXPECT_NE(graph.nodes[0].inputs[1], graph.nodes[1].inputs[1]) << "each conv needs its own folded weight";
  EXPECT_NE(graph.nodes[0].inputs[2], graph.nodes[1].inputs[2]);

  const Tensor x = random_tensor({1, 2, 4, 4}, 63);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

TEST(PassesFoldBatchNorm, LeavesPatternsItCannotFold) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1, 2, 4, 4}), float_value("runtime_weight", {3, 2, 1, 1})};
  graph.outputs = {float_value("y1", {}), float_value("side", {}), float_value("y2", {}), float_value("y3", {}),
                   float_value("y4", {}), float_value("running_mean", {})};
  add_initializer(graph, "w", random_tensor({3, 2, 1, 1}, 70));
  // 1. the conv output has a second reader
  add_node(graph, "Conv", {"x", "w"}, {"c1"});
  add_batch_norm(graph, "bn1", "c1", "y1", random_batch_norm(3, 71));
  add_node(graph, "Relu", {"c1"}, {"side"});
  // 2. the weight is computed at run time
  add_node(graph, "Conv", {"x", "runtime_weight"}, {"c2"});
  add_batch_norm(graph, "bn2", "c2", "y2", random_batch_norm(3, 72));
  // 3. training mode
  add_node(graph, "Conv", {"x", "w"}, {"c3"});
  add_batch_norm(graph, "bn3", "c3", "y3", random_batch_norm(3, 73));
  graph.nodes.back().attributes.push_back(int_attribute("training_mode", 1));
  // 4. a statistics output is read
  add_node(graph, "Conv", {"x", "w"}, {"c4"});
  add_batch_norm(graph, "bn4", "c4", "y4", random_batch_norm(3, 74));
  graph.nodes.back().outputs = {"y4", "running_mean", "running_var"};

  EXPECT_FALSE(fold_batch_norm(model, builtin_context()));
  EXPECT_EQ(count_ops(graph, "BatchNormalization"), 4u);
}

// ---------------------------------------------------------------- remove_dead_nodes

TEST(PassesRemoveDeadNodes, RemovesUnreadNodesAndInitializers) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {4})};
  graph.outputs = {float_value("y", {4})};
  add_initializer(graph, "used", random_tensor({4}, 80));
  add_initializer(graph, "unused", random_tensor({4}, 81));
  add_initializer(graph, "read_by_dead", random_tensor({4}, 82));
  add_node(graph, "Add", {"x", "used"}, {"y"});
  add_node(graph, "Mul", {"x", "read_by_dead"}, {"dead1"});
  add_node(graph, "Relu", {"dead1"}, {"dead2"});
  add_node(graph, "Dropout", {"y"}, {"dead3", "dead_mask"});

  EXPECT_TRUE(remove_dead_nodes(model, builtin_context()));
  graph.verify();
  ASSERT_EQ(graph.nodes.size(), 1u);
  EXPECT_EQ(graph.nodes[0].op_type, "Add");
  EXPECT_EQ(graph.initializers.size(), 1u);
  EXPECT_TRUE(graph.initializers.count("used"));
  EXPECT_FALSE(remove_dead_nodes(model, builtin_context()));
}

TEST(PassesRemoveDeadNodes, KeepsMultiOutputNodesWithOneOutputRead) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {4})};
  graph.outputs = {float_value("mask", {4})};
  add_node(graph, "Dropout", {"x"}, {"unread", "mask"});
  EXPECT_FALSE(remove_dead_nodes(model, builtin_context()));
  EXPECT_EQ(graph.nodes.size(), 1u);
}

// ---------------------------------------------------------------- the pipeline

TEST(PassesOptimizeModel, ReachesAFixedPoint) {
  // Constant -> Identity -> Conv weight, Conv -> BatchNorm -> Identity -> output: folding the
  // weight first makes the batch norm foldable in the same call.
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1, 2, 3, 3})};
  graph.outputs = {float_value("y", {})};
  add_node(graph, "Constant", {}, {"w_constant"}, {tensor_attribute("value", random_tensor({4, 2, 1, 1}, 90))});
  add_node(graph, "Identity", {"w_constant"}, {"w"});
  add_node(graph, "Conv", {"x", "w"}, {"conv"});
  add_batch_norm(graph, "bn", "conv", "normalized", random_batch_norm(4, 91));
  add_node(graph, "Identity", {"normalized"}, {"y"});

  const Model original = model;
  const std::vector<std::string> applied = optimize_model(model, builtin_kernel_registry());
  graph.verify();
  ASSERT_EQ(graph.nodes.size(), 1u);
  EXPECT_EQ(graph.nodes[0].op_type, "Conv");
  EXPECT_EQ(graph.nodes[0].outputs[0], "y");
  EXPECT_EQ(graph.initializers.size(), 2u) << "folded weight and bias only";
  for (const char* pass : {"remove_identity", "fold_constants", "fold_batch_norm", "remove_dead_nodes"})
    EXPECT_NE(std::find(applied.begin(), applied.end(), pass), applied.end()) << pass << " did not run";
  EXPECT_TRUE(optimize_model(model, builtin_kernel_registry()).empty()) << "a second run changed the graph";

  const Tensor x = random_tensor({1, 2, 3, 3}, 92);
  expect_same_outputs_when_optimized(original, {{"x", &x}});
}

TEST(PassesOptimizeModel, LeavesGraphsWithSubgraphsAlone) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1})};
  graph.outputs = {float_value("y", {1})};
  add_initializer(graph, "condition", Tensor::scalar(true));
  add_node(graph, "Identity", {"x"}, {"read_by_branch"});
  Attribute branch;
  branch.name = "then_branch";
  branch.type = AttributeType::kGraph;
  add_node(graph, "If", {"condition"}, {"y"}, {branch});
  EXPECT_TRUE(optimize_model(model, builtin_kernel_registry()).empty());
  EXPECT_EQ(graph.nodes.size(), 2u);
}

// ---------------------------------------------------------------- the PP-OCR models

// The models' outputs are probabilities or logits whose scale varies per model; differences are
// measured relative to the largest reference magnitude. Folding changes float rounding only, by a
// few ulps per layer over tens of layers: 1e-4 relative leaves room for that and still catches a
// wrongly folded channel, which moves outputs by whole percents.
constexpr double kModelRelativeTolerance = 1e-4;

// Runs models/ppocr/`file` on a random input of `input_shape` (a concrete shape for its dynamic
// input) with and without optimization.
void expect_optimized_model_matches(const std::string& file, const Shape& input_shape) {
  const std::filesystem::path path = std::filesystem::path(OCTET_SOURCE_DIR) / "models/ppocr" / file;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent (scripts/fetch_models.sh fetches it)";
  const Model model = load_model(path.string());

  SessionOptions plain_options;
  plain_options.optimize = false;
  std::unique_ptr<Session> plain;
  try {
    plain = std::make_unique<Session>(model, plain_options);
  } catch (const UnsupportedError& error) {
    GTEST_SKIP() << "a kernel is missing: " << error.what();
  }
  Session optimized(model);
  const size_t nodes_before = model.graph.nodes.size();
  const size_t nodes_after = optimized.model().graph.nodes.size();
  std::map<std::string, size_t> ops_before, ops_after;
  for (const auto& node : model.graph.nodes) ++ops_before[node.op_type];
  for (const auto& node : optimized.model().graph.nodes) ++ops_after[node.op_type];
  std::string op_changes;
  for (const auto& [op, count] : ops_before) {
    if (ops_after[op] != count) op_changes += concat(" ", op, ":", count, "->", ops_after[op]);
  }
  std::cout << "[ PPOCR    ] " << file << ": " << nodes_before << " -> " << nodes_after << " nodes;"
            << op_changes << "\n";
  EXPECT_LT(nodes_after, nodes_before);
  if (ops_before["BatchNormalization"] > 0)
    EXPECT_LT(ops_after["BatchNormalization"], ops_before["BatchNormalization"]) << "no batch norm was folded";

  ASSERT_EQ(model.graph.inputs.size(), 1u);
  const Tensor input = random_tensor(input_shape, 100);
  const std::map<std::string, const Tensor*> feeds{{model.graph.inputs[0].name, &input}};
  const std::vector<Tensor> expected = plain->run(feeds);
  const std::vector<Tensor> actual = optimized.run(feeds);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(actual[i].shape(), expected[i].shape()) << "output " << i;
    double largest = 0, worst = 0;
    int64_t non_finite = 0;
    for (int64_t e = 0; e < expected[i].element_count(); ++e) {
      const double reference = expected[i].value_as_double(e);
      const double value = actual[i].value_as_double(e);
      if (!std::isfinite(reference) || !std::isfinite(value)) {
        ++non_finite;
        continue;
      }
      largest = std::max(largest, std::abs(reference));
      worst = std::max(worst, std::abs(value - reference));
    }
    ASSERT_EQ(non_finite, 0) << "output " << i << " has NaN or infinite values (unoptimized or optimized)";
    ASSERT_GT(largest, 0.0) << "output " << i << " is all zeros: the comparison would prove nothing";
    std::cout << "[ PPOCR    ] output " << i << " " << shape_to_string(expected[i].shape())
              << ": max |value| " << largest << ", max |difference| / max |value| = " << worst / largest << "\n";
    EXPECT_LE(worst / largest, kModelRelativeTolerance)
        << "output " << i << ": max |difference| " << worst << ", largest |value| " << largest;
  }
}

TEST(PassesPpocrModel, Detection) { expect_optimized_model_matches("ch_PP-OCRv4_det_infer.onnx", {1, 3, 160, 160}); }
TEST(PassesPpocrModel, Recognition) { expect_optimized_model_matches("ch_PP-OCRv4_rec_infer.onnx", {1, 3, 48, 160}); }
TEST(PassesPpocrModel, Classification) {
  expect_optimized_model_matches("ch_ppocr_mobile_v2.0_cls_infer.onnx", {1, 3, 48, 192});
}


// ---------------------------------------------------------------- execution fusions

// Fused kernels reorder float arithmetic (post-ops applied in registers, Winograd, folded affine
// maps): outputs O(1), 1e-4 absolute.
constexpr double kFusionTolerance = 1e-4;

size_t count_ops_in(const Model& model, const std::string& op_type) {
  Model optimized = model;
  optimize_model(optimized, builtin_kernel_registry(), OptimizationLevel::kExecution);
  return count_ops(optimized.graph, op_type);
}

// x -> Conv -> Mul(0.5) -> Add(0.1) -> [Add(3) -> Clip(0, 6) -> Mul(v, .) -> Div(6)] -> Mul(0.7) -> Add(r) -> Relu
Model conv_chain_model() {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1, 4, 6, 7}), float_value("r", {1, 8, 6, 7})};
  graph.outputs = {float_value("y", {1, 8, 6, 7})};
  add_initializer(graph, "w", random_tensor({8, 4, 3, 3}, 11));
  add_initializer(graph, "b", random_tensor({8}, 12));
  add_initializer(graph, "half", Tensor::scalar(0.5f));
  add_initializer(graph, "tenth", Tensor::scalar(0.1f));
  add_initializer(graph, "three", Tensor::scalar(3.0f));
  add_initializer(graph, "zero", Tensor::scalar(0.0f));
  add_initializer(graph, "six", Tensor::scalar(6.0f));
  add_initializer(graph, "scale", Tensor::scalar(0.7f));
  add_node(graph, "Conv", {"x", "w", "b"}, {"c"}, {testing::ints_attribute("pads", {1, 1, 1, 1})});
  add_node(graph, "Mul", {"c", "half"}, {"m"});
  add_node(graph, "Add", {"m", "tenth"}, {"v"});
  add_node(graph, "Add", {"v", "three"}, {"v3"});
  add_node(graph, "Clip", {"v3", "zero", "six"}, {"clipped"});
  add_node(graph, "Mul", {"v", "clipped"}, {"product"});
  add_node(graph, "Div", {"product", "six"}, {"hard_swish"});
  add_node(graph, "Mul", {"hard_swish", "scale"}, {"scaled"});
  add_node(graph, "Add", {"scaled", "r"}, {"sum"});
  add_node(graph, "Relu", {"sum"}, {"y"});
  graph.value_infos["scaled"] = float_value("scaled", {1, 8, 6, 7});
  return model;
}

TEST(PassesFusion, ConvAffineHardSwishResidualReluBecomeOneNode) {
  const Model model = conv_chain_model();
  Model optimized = model;
  optimize_model(optimized, builtin_kernel_registry(), OptimizationLevel::kExecution);
  ASSERT_EQ(optimized.graph.nodes.size(), 1u);
  const Node& fused = optimized.graph.nodes[0];
  EXPECT_EQ(fused.op_type, "FusedConv");
  EXPECT_EQ(fused.attr_strings("post_ops"), (std::vector<std::string>{"hard_swish", "linear", "sum", "relu"}));
  const Tensor x = random_tensor({1, 4, 6, 7}, 1);
  const Tensor r = random_tensor({1, 8, 6, 7}, 2);
  expect_same_outputs_when_optimized(model, {{"x", &x}, {"r", &r}}, kFusionTolerance);
}

TEST(PassesFusion, StandardLevelKeepsTheGraphStandardOnnx) {
  Model optimized = conv_chain_model();
  optimize_model(optimized, builtin_kernel_registry(), OptimizationLevel::kStandard);
  for (const Node& node : optimized.graph.nodes) EXPECT_TRUE(node.domain.empty()) << node.describe();
  EXPECT_EQ(count_ops(optimized.graph, "Mul"), 2u) << "the affine Mul/Add after the Conv fold into it";
}

TEST(PassesFusion, BroadcastAddIsNotASum) {
  // Conv output [1,8,6,7] + a [1,8,1,1] value: a broadcast, which the sum post-op cannot do.
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1, 4, 6, 7}), float_value("g", {1, 8, 1, 1})};
  graph.outputs = {float_value("y", {1, 8, 6, 7})};
  add_initializer(graph, "w", random_tensor({8, 4, 1, 1}, 3));
  add_node(graph, "Conv", {"x", "w"}, {"c"});
  add_node(graph, "Add", {"c", "g"}, {"y"});
  graph.value_infos["c"] = float_value("c", {1, 8, 6, 7});
  EXPECT_EQ(count_ops_in(model, "Add"), 1u);
  const Tensor x = random_tensor({1, 4, 6, 7}, 4);
  const Tensor g = random_tensor({1, 8, 1, 1}, 5);
  const std::vector<Tensor> expected = run_session(model, false, {{"x", &x}, {"g", &g}});
  const std::vector<Tensor> actual = run_session(model, true, {{"x", &x}, {"g", &g}});
  testing::expect_near(actual[0], expected[0], kFusionTolerance, "broadcast add");
}

// The DB head's ConvTranspose -> Relu and ConvTranspose -> Sigmoid become FusedConvTranspose.
TEST(PassesFusion, ConvTransposeActivationsBecomeFusedConvTranspose) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {1, 6, 5, 4})};
  graph.outputs = {float_value("y", {1, 1, 20, 16})};
  add_initializer(graph, "w1", random_tensor({6, 4, 2, 2}, 80));
  add_initializer(graph, "b1", random_tensor({4}, 81));
  add_initializer(graph, "w2", random_tensor({4, 1, 2, 2}, 82));
  add_initializer(graph, "b2", random_tensor({1}, 83));
  const Attribute strides = testing::ints_attribute("strides", {2, 2});
  add_node(graph, "ConvTranspose", {"x", "w1", "b1"}, {"d1"}, {strides});
  add_node(graph, "Relu", {"d1"}, {"r1"});
  add_node(graph, "ConvTranspose", {"r1", "w2", "b2"}, {"d2"}, {strides});
  add_node(graph, "Sigmoid", {"d2"}, {"y"});
  Model optimized = model;
  optimize_model(optimized, builtin_kernel_registry(), OptimizationLevel::kExecution);
  ASSERT_EQ(optimized.graph.nodes.size(), 2u);
  EXPECT_EQ(optimized.graph.nodes[0].op_type, "FusedConvTranspose");
  EXPECT_EQ(optimized.graph.nodes[0].attr_strings("post_ops"), (std::vector<std::string>{"relu"}));
  EXPECT_EQ(optimized.graph.nodes[1].attr_strings("post_ops"), (std::vector<std::string>{"sigmoid"}));
  const Tensor x = random_tensor({1, 6, 5, 4}, 84);
  expect_same_outputs_when_optimized(model, {{"x", &x}}, kFusionTolerance);
}

// MatMul + bias -> Swish spelled Mul(v, Sigmoid(Mul(v, 1))), and a decomposed layer norm.
TEST(PassesFusion, MatMulBiasSwishAndLayerNormPatterns) {
  Model model = empty_model();
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", {2, 5, 16})};
  graph.outputs = {float_value("y", {2, 5, 12})};
  add_initializer(graph, "w", random_tensor({16, 12}, 6));
  add_initializer(graph, "bias", random_tensor({12}, 7));
  add_initializer(graph, "one", Tensor::scalar(1.0f));
  add_initializer(graph, "two", Tensor::scalar(2.0f));
  add_initializer(graph, "epsilon", Tensor::scalar(1e-5f));
  add_initializer(graph, "gamma", random_tensor({12}, 8));
  add_initializer(graph, "beta", random_tensor({12}, 9));
  const Attribute last_axis = testing::ints_attribute("axes", {-1});
  add_node(graph, "MatMul", {"x", "w"}, {"mm"});
  add_node(graph, "Add", {"mm", "bias"}, {"v"});
  add_node(graph, "Mul", {"v", "one"}, {"v1"});
  add_node(graph, "Sigmoid", {"v1"}, {"gate"});
  add_node(graph, "Mul", {"v", "gate"}, {"swish"});
  add_node(graph, "ReduceMean", {"swish"}, {"mean"}, {last_axis});
  add_node(graph, "Sub", {"swish", "mean"}, {"d"});
  add_node(graph, "Pow", {"d", "two"}, {"d2"});
  add_node(graph, "ReduceMean", {"d2"}, {"variance"}, {last_axis});
  add_node(graph, "Add", {"variance", "epsilon"}, {"variance_e"});
  add_node(graph, "Sqrt", {"variance_e"}, {"deviation"});
  add_node(graph, "Div", {"d", "deviation"}, {"normalized"});
  add_node(graph, "Mul", {"normalized", "gamma"}, {"scaled"});
  add_node(graph, "Add", {"scaled", "beta"}, {"y"});
  Model optimized = model;
  optimize_model(optimized, builtin_kernel_registry(), OptimizationLevel::kExecution);
  ASSERT_EQ(optimized.graph.nodes.size(), 2u);
  EXPECT_EQ(optimized.graph.nodes[0].op_type, "FusedMatMul");
  EXPECT_EQ(optimized.graph.nodes[0].attr_strings("post_ops"), (std::vector<std::string>{"swish"}));
  EXPECT_EQ(optimized.graph.nodes[1].op_type, "LayerNormalization");
  const Tensor x = random_tensor({2, 5, 16}, 10);
  expect_same_outputs_when_optimized(model, {{"x", &x}}, kFusionTolerance);
}

}  // namespace
}  // namespace octet
