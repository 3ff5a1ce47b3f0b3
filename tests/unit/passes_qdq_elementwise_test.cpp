// Tests of the execution pass fuse_qdq_elementwise: small QDQ models around the element-wise ops
// that stay float (Add, Mul with broadcasting, a following Relu, GlobalAveragePool, AveragePool).
// Each rewrite is checked for structure (the op types after the session's optimization) and
// numerically against a session with optimize=false, which runs the plain Q/DQ and float nodes:
// QBinary and QPool compute the same float operations, so outputs must match exactly (default and
// reference kernels). Precondition failures are checked to leave the pattern alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "../kernels/kernel_test_util.h"
#include "kernels/quantized_ops.h"
#include "passes/optimize.h"
#include "runtime/builtin_kernels.h"
#include "runtime/session.h"

namespace octet {
namespace {

using testing::ints_attribute;
using testing::random_tensor;

constexpr int64_t kOpset = 13;

ValueInfo value_info(const std::string& name, const std::vector<int64_t>& dims, DataType dtype = DataType::kFloat) {
  ValueInfo info;
  info.name = name;
  info.dtype = dtype;
  info.has_shape = true;
  for (int64_t dim : dims) info.dims.push_back({dim, ""});
  return info;
}

class ModelBuilder {
 public:
  ModelBuilder() { model.opset_imports[""] = kOpset; }
  Model model;
  Graph& graph() { return model.graph; }

  void input(const std::string& name, const std::vector<int64_t>& dims) { graph().inputs.push_back(value_info(name, dims)); }
  void output(const std::string& name, const std::vector<int64_t>& dims) { graph().outputs.push_back(value_info(name, dims)); }
  void node(const std::string& op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
            std::vector<Attribute> attributes = {}) {
    Node node;
    node.name = op_type + "_" + std::to_string(graph().nodes.size());
    node.op_type = op_type;
    node.inputs = std::move(inputs);
    node.outputs = std::move(outputs);
    node.attributes = std::move(attributes);
    graph().nodes.push_back(std::move(node));
  }
  // x -> Q(scale, zero_point) -> x_q; returns x_q.
  std::string quantize(const std::string& x, float scale, int32_t zero_point, DataType dtype = DataType::kUint8) {
    graph().initializers[x + "_scale"] = std::make_shared<const Tensor>(Tensor::scalar(scale));
    graph().initializers[x + "_zero_point"] = std::make_shared<const Tensor>(
        dtype == DataType::kUint8 ? Tensor::scalar(static_cast<uint8_t>(zero_point))
                                  : Tensor::scalar(static_cast<int8_t>(zero_point)));
    node("QuantizeLinear", {x, x + "_scale", x + "_zero_point"}, {x + "_q"});
    return x + "_q";
  }
  // x_q -> DQ with x's parameters -> x_dq; returns x_dq.
  std::string dequantize(const std::string& x) {
    node("DequantizeLinear", {x + "_q", x + "_scale", x + "_zero_point"}, {x + "_dq"});
    return x + "_dq";
  }
  // x -> Q -> DQ -> x_dq.
  std::string quantize_dequantize(const std::string& x, float scale, int32_t zero_point,
                                  DataType dtype = DataType::kUint8) {
    quantize(x, scale, zero_point, dtype);
    return dequantize(x);
  }
};

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

const Node* find_op(const Graph& graph, const std::string& op_type) {
  for (const auto& node : graph.nodes)
    if (node.op_type == op_type) return &node;
  return nullptr;
}

Model optimized(const Model& model) {
  Model copy = model;
  optimize_model(copy, builtin_kernel_registry(), OptimizationLevel::kExecution);
  copy.graph.verify();
  return copy;
}

std::vector<Tensor> run_session(const Model& model, bool optimize, const std::map<std::string, const Tensor*>& feeds,
                                const std::string& implementation = "") {
  SessionOptions options;
  options.optimize = optimize;
  options.threads = 2;
  options.implementation = implementation;
  Session session(model, options);
  return session.run(feeds);
}

// The optimized session (default, then reference kernels) against the unoptimized QDQ graph run
// with the same implementation choice: identical outputs, and not degenerate ones.
void expect_fused_matches_qdq(const Model& model, const std::map<std::string, const Tensor*>& feeds) {
  for (const std::string implementation : {"", "reference"}) {
    const std::vector<Tensor> expected = run_session(model, false, feeds, implementation);
    const std::vector<Tensor> actual = run_session(model, true, feeds, implementation);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t output = 0; output < expected.size(); ++output) {
      const std::string context = "output " + model.graph.outputs[output].name + ", implementation '" + implementation + "'";
      ASSERT_EQ(actual[output].dtype(), expected[output].dtype()) << context;
      ASSERT_EQ(actual[output].shape(), expected[output].shape()) << context;
      std::vector<double> distinct;
      int64_t mismatches = 0;
      for (int64_t i = 0; i < expected[output].element_count(); ++i) {
        const double e = expected[output].value_as_double(i);
        mismatches += actual[output].value_as_double(i) != e;
        if (distinct.size() < 8 && std::find(distinct.begin(), distinct.end(), e) == distinct.end()) distinct.push_back(e);
      }
      EXPECT_EQ(mismatches, 0) << context << ": " << mismatches << " of " << expected[output].element_count()
                               << " elements differ";
      EXPECT_EQ(distinct.size(), 8u) << context << ": degenerate output";
    }
  }
}

// a, b -> Q/DQ each -> Add -> [Relu] -> Q -> DQ -> out.
Model quantized_add_model(bool relu, DataType dtype) {
  ModelBuilder builder;
  const std::vector<int64_t> dims{1, 8, 6, 7};
  builder.input("a", dims);
  builder.input("b", dims);
  const std::string a = builder.quantize_dequantize("a", 0.02f, dtype == DataType::kUint8 ? 128 : 0, dtype);
  const std::string b = builder.quantize_dequantize("b", 0.015f, dtype == DataType::kUint8 ? 100 : -3, dtype);
  builder.node("Add", {a, b}, {"sum"});
  std::string result = "sum";
  if (relu) {
    builder.node("Relu", {"sum"}, {"sum_relu"});
    result = "sum_relu";
  }
  const std::string out = builder.quantize_dequantize(result, 0.03f, dtype == DataType::kUint8 ? 60 : 2, dtype);
  builder.node("Identity", {out}, {"out"});
  builder.output("out", dims);
  return builder.model;
}

TEST(PassesFuseQdqElementwise, QuantizedAddBecomesQBinary) {
  for (const DataType dtype : {DataType::kUint8, DataType::kInt8}) {
    for (const bool relu : {false, true}) {
      SCOPED_TRACE(concat(dtype_name(dtype), relu ? " with relu" : ""));
      const Model model = quantized_add_model(relu, dtype);
      const Model fused = optimized(model);
      EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QuantizeLinear QBinary DequantizeLinear");
      const Node* binary = find_op(fused.graph, kQuantizedBinary);
      ASSERT_NE(binary, nullptr);
      EXPECT_EQ(binary->attr_string("operation"), "Add");
      EXPECT_EQ(binary->input(kQBinaryA), "a_q");
      EXPECT_EQ(binary->input(kQBinaryB), "b_q");
      EXPECT_TRUE(binary->has_input(kQBinaryYZeroPoint));
      EXPECT_EQ(binary->has_attribute("post_ops"), relu);
      const Tensor a = random_tensor({1, 8, 6, 7}, 1, -2.0f, 2.0f);
      const Tensor b = random_tensor({1, 8, 6, 7}, 2, -2.0f, 2.0f);
      expect_fused_matches_qdq(model, {{"a", &a}, {"b", &b}});
    }
  }
}

// SE block: x [N, C, H, W] float times s [N, C, 1, 1] float -> Q -> DQ -> out.
TEST(PassesFuseQdqElementwise, FloatMulWithBroadcastAbsorbsItsQuantizer) {
  ModelBuilder builder;
  builder.input("x", {2, 16, 9, 9});
  builder.input("s", {2, 16, 1, 1});
  builder.node("Mul", {"x", "s"}, {"y"});
  const std::string out = builder.quantize_dequantize("y", 0.01f, 0, DataType::kInt8);
  builder.node("Identity", {out}, {"out"});
  builder.output("out", {2, 16, 9, 9});
  const Model fused = optimized(builder.model);
  EXPECT_EQ(joined(op_types(fused.graph)), "QBinary DequantizeLinear");
  const Node* binary = find_op(fused.graph, kQuantizedBinary);
  ASSERT_NE(binary, nullptr);
  EXPECT_EQ(binary->input(kQBinaryA), "x");
  EXPECT_FALSE(binary->has_input(kQBinaryAScale));
  EXPECT_EQ(binary->input(kQBinaryB), "s");
  const Tensor x = random_tensor({2, 16, 9, 9}, 3, -1.0f, 1.0f);
  const Tensor s = random_tensor({2, 16, 1, 1}, 4, 0.0f, 1.0f);
  expect_fused_matches_qdq(builder.model, {{"x", &x}, {"s", &s}});
}

// DQ -> Add(float bias-like operand) -> float readers: QBinary with a float output.
TEST(PassesFuseQdqElementwise, DequantizedOperandWithFloatResult) {
  ModelBuilder builder;
  builder.input("x", {1, 4, 5, 5});
  builder.input("r", {1, 4, 5, 5});
  const std::string x = builder.quantize_dequantize("x", 0.05f, 7);
  builder.node("Mul", {x, "r"}, {"y"});
  builder.node("Sigmoid", {"y"}, {"out"});
  builder.output("out", {1, 4, 5, 5});
  const Model fused = optimized(builder.model);
  EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QBinary Sigmoid");
  const Node* binary = find_op(fused.graph, kQuantizedBinary);
  ASSERT_NE(binary, nullptr);
  EXPECT_EQ(binary->input(kQBinaryA), "x_q");
  EXPECT_FALSE(binary->has_input(kQBinaryYScale));
  EXPECT_EQ(binary->outputs[0], "y");
  const Tensor x_value = random_tensor({1, 4, 5, 5}, 5, -3.0f, 3.0f);
  const Tensor r = random_tensor({1, 4, 5, 5}, 6);
  expect_fused_matches_qdq(builder.model, {{"x", &x_value}, {"r", &r}});
}

TEST(PassesFuseQdqElementwise, PoolsAbsorbTheirDequantizerAndQuantizer) {
  for (const std::string operation : {"GlobalAveragePool", "AveragePool"}) {
    SCOPED_TRACE(operation);
    ModelBuilder builder;
    builder.input("x", {1, 8, 10, 10});
    const std::string x = builder.quantize_dequantize("x", 0.02f, 128);
    std::vector<Attribute> attributes;
    std::vector<int64_t> out_dims{1, 8, 1, 1};
    if (operation == "AveragePool") {
      attributes = {ints_attribute("kernel_shape", {3, 3}), ints_attribute("strides", {1, 1})};
      out_dims = {1, 8, 8, 8};
    }
    builder.node(operation, {x}, {"pooled"}, attributes);
    const std::string out = builder.quantize_dequantize("pooled", 0.001f, 128);
    builder.node("Identity", {out}, {"out"});
    builder.output("out", out_dims);
    const Model fused = optimized(builder.model);
    EXPECT_EQ(joined(op_types(fused.graph)), "QuantizeLinear QPool DequantizeLinear");
    const Node* pool = find_op(fused.graph, kQuantizedPool);
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(pool->attr_string("operation"), operation);
    EXPECT_EQ(pool->input(kQPoolX), "x_q");
    EXPECT_EQ(pool->has_attribute("kernel_shape"), operation == "AveragePool");
    const Tensor x_value = random_tensor({1, 8, 10, 10}, 7, -2.0f, 2.0f);
    expect_fused_matches_qdq(builder.model, {{"x", &x_value}});
  }
}

TEST(PassesFuseQdqElementwise, PreconditionsLeaveThePatternAlone) {
  // Plain float Add (nothing to absorb); a result with a second reader keeps its Q; a per-axis Q
  // is not absorbed; an operand declared int64 is left alone.
  {
    ModelBuilder builder;
    builder.input("a", {4});
    builder.input("b", {4});
    builder.node("Add", {"a", "b"}, {"out"});
    builder.output("out", {4});
    EXPECT_EQ(joined(op_types(optimized(builder.model).graph)), "Add");
  }
  {
    ModelBuilder builder;
    builder.input("a", {1, 4, 3, 3});
    builder.input("b", {1, 4, 3, 3});
    builder.node("Add", {"a", "b"}, {"sum"});
    builder.quantize("sum", 0.1f, 0);
    builder.dequantize("sum");
    builder.node("Relu", {"sum"}, {"other"});
    builder.output("sum_dq", {1, 4, 3, 3});
    builder.output("other", {1, 4, 3, 3});
    EXPECT_EQ(joined(op_types(optimized(builder.model).graph)), "Add QuantizeLinear DequantizeLinear Relu");
  }
  {
    ModelBuilder builder;
    builder.input("a", {1, 2, 3, 3});
    builder.input("b", {1, 2, 3, 3});
    builder.node("Mul", {"a", "b"}, {"y"});
    builder.graph().initializers["y_scale"] =
        std::make_shared<const Tensor>(Tensor::from_vector<float>({2}, {0.1f, 0.2f}));
    builder.graph().initializers["y_zero_point"] =
        std::make_shared<const Tensor>(Tensor::from_vector<uint8_t>({2}, {0, 0}));
    builder.node("QuantizeLinear", {"y", "y_scale", "y_zero_point"}, {"y_q"}, {testing::int_attribute("axis", 1)});
    builder.output("y_q", {1, 2, 3, 3});
    EXPECT_EQ(joined(op_types(optimized(builder.model).graph)), "Mul QuantizeLinear");
  }
  {
    ModelBuilder builder;
    builder.graph().inputs.push_back(value_info("a", {4}, DataType::kInt64));
    builder.input("b", {4});
    builder.node("Add", {"a", "b"}, {"y"});
    builder.quantize("y", 0.1f, 0);
    builder.output("y_q", {4});
    EXPECT_EQ(joined(op_types(optimized(builder.model).graph)), "Add QuantizeLinear");
  }
}

}  // namespace
}  // namespace octet
