// Helpers for kernel tests: build a node, run it through the built-in registry, compare tensors.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel_registry.h"
#include "runtime/builtin_kernels.h"

namespace octet::testing {

inline Attribute int_attribute(const std::string& name, int64_t value) {
  Attribute attribute;
  attribute.name = name;
  attribute.type = AttributeType::kInt;
  attribute.i = value;
  return attribute;
}
inline Attribute float_attribute(const std::string& name, float value) {
  Attribute attribute;
  attribute.name = name;
  attribute.type = AttributeType::kFloat;
  attribute.f = value;
  return attribute;
}
inline Attribute ints_attribute(const std::string& name, std::vector<int64_t> values) {
  Attribute attribute;
  attribute.name = name;
  attribute.type = AttributeType::kInts;
  attribute.ints = std::move(values);
  return attribute;
}
inline Attribute floats_attribute(const std::string& name, std::vector<float> values) {
  Attribute attribute;
  attribute.name = name;
  attribute.type = AttributeType::kFloats;
  attribute.floats = std::move(values);
  return attribute;
}
inline Attribute string_attribute(const std::string& name, std::string value) {
  Attribute attribute;
  attribute.name = name;
  attribute.type = AttributeType::kString;
  attribute.s = std::move(value);
  return attribute;
}

// A node named "test" with inputs in0..in{n-1} (an empty name where `inputs[i]` is nullptr) and
// outputs out0..out{m-1}.
inline Node make_node(const std::string& op_type, size_t input_count, size_t output_count,
                      std::vector<Attribute> attributes = {}) {
  Node node;
  node.name = "test";
  node.op_type = op_type;
  for (size_t i = 0; i < input_count; ++i) node.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < output_count; ++i) node.outputs.push_back("out" + std::to_string(i));
  node.attributes = std::move(attributes);
  return node;
}

// Creates the node's kernel from the built-in registry (by default its reference implementation) and runs
// it once. Inputs given as nullptr are omitted. `constant_inputs` marks input indices the kernel
// may treat as initializers (pre-packing).
inline std::vector<Tensor> run_node(const Node& node, const std::vector<const Tensor*>& inputs, int64_t opset = 17,
                                    const std::vector<size_t>& constant_inputs = {}, int threads = 1,
                                    const std::string& implementation = "reference", std::string* detail = nullptr) {
  std::map<std::string, const Tensor*> constants;
  for (size_t index : constant_inputs) constants[node.inputs.at(index)] = inputs.at(index);
  KernelCreateInfo info{node, opset, [&](const std::string& name) -> const Tensor* {
                          auto found = constants.find(name);
                          return found == constants.end() ? nullptr : found->second;
                        }};
  KernelChoice choice = builtin_kernel_registry().create(info, implementation);
  ThreadPool pool(threads);
  std::vector<Tensor> outputs(node.outputs.size());
  KernelContext context(inputs, outputs, pool);
  choice.kernel->run(context);
  if (detail) *detail = choice.kernel->detail();
  return outputs;
}

// A float tensor with uniform random values in [low, high), from a fixed seed.
inline Tensor random_tensor(const Shape& shape, uint32_t seed, float low = -1.0f, float high = 1.0f) {
  Tensor tensor(DataType::kFloat, shape);
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> distribution(low, high);
  float* data = tensor.data<float>();
  for (int64_t i = 0; i < tensor.element_count(); ++i) data[i] = distribution(generator);
  return tensor;
}

// Expects equal type and shape and |a - b| <= tolerance elementwise; reports the first mismatch.
inline void expect_near(const Tensor& actual, const Tensor& expected, double tolerance, const std::string& context = "") {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << context;
  ASSERT_EQ(actual.shape(), expected.shape()) << context << " actual " << shape_to_string(actual.shape())
                                              << " expected " << shape_to_string(expected.shape());
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    const double a = actual.value_as_double(i);
    const double e = expected.value_as_double(i);
    if (std::isnan(e)) {
      ASSERT_TRUE(std::isnan(a)) << context << " element " << i;
      continue;
    }
    ASSERT_NEAR(a, e, tolerance) << context << " element " << i << " of shape " << shape_to_string(expected.shape());
  }
}

}  // namespace octet::testing
