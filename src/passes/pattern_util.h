// Helpers for pattern-matching passes: constant lookups and single-consumer checks.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace octet {

// The value of a one-element float initializer, or nullopt.
std::optional<float> scalar_constant(const Graph& graph, const std::string& value_name);
// True when the float constant `value_name` has one element equal to `expected` within `tolerance`.
bool is_scalar_constant(const Graph& graph, const std::string& value_name, float expected, float tolerance = 1e-6f);

// Consumers and producers of values, rebuilt after each rewrite.
struct GraphIndex {
  explicit GraphIndex(const Graph& graph)
      : producers(graph.producer_index()), consumers(graph.consumer_indices()) {}
  // The node reading `value_name` when it is the only reader and the value is not a graph output.
  std::optional<size_t> sole_consumer(const Graph& graph, const std::string& value_name) const;
  size_t consumer_count(const std::string& value_name) const;
  std::optional<size_t> producer(const std::string& value_name) const;

  std::map<std::string, size_t> producers;
  std::map<std::string, std::vector<size_t>> consumers;
};

// For a binary node (Add/Mul/...) with `value_name` as one input, the other input's name.
std::string other_input(const Node& node, const std::string& value_name);

bool is_op(const Node& node, const char* op_type);

}  // namespace octet
