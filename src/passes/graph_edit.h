// Small graph-editing helpers shared by the passes.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace octet {

// True when the node carries a subgraph (If, Loop, Scan bodies). Octet's IR does not keep subgraph
// bodies, and a body may read outer values by name, so passes must not rename or remove values
// in a graph that has one.
bool has_subgraph(const Node& node);

// Hands out value names no graph value, initializer or declared value info uses yet.
class UniqueNamer {
 public:
  explicit UniqueNamer(const Graph& graph);
  UniqueNamer(const UniqueNamer&) = delete;
  UniqueNamer& operator=(const UniqueNamer&) = delete;

  // `base` if free, else `base_1`, `base_2`, ...; the returned name is reserved.
  std::string make(const std::string& base);

 private:
  std::set<std::string> used_;
};

// Makes every node that reads `from` read `to` instead.
void replace_input_uses(Graph& graph, const std::string& from, const std::string& to);

// True when some node reads `value_name` or it is a graph output: removing its producer would
// change the graph's results.
bool is_used(const Graph& graph, const std::string& value_name);

// Removes the nodes whose flag is set (flags are indexed like graph.nodes), keeping the order of the rest.
void erase_flagged_nodes(Graph& graph, const std::vector<bool>& remove);

}  // namespace octet
