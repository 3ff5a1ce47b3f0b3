// The default graph optimization pipeline run by sessions before execution.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel_registry.h"

namespace octet {

// Runs the default passes to a fixed point; `registry` evaluates nodes for constant folding.
// Returns the names of the passes that changed the graph, in order (repeats included).
std::vector<std::string> optimize_model(Model& model, const KernelRegistry& registry);

}  // namespace octet
