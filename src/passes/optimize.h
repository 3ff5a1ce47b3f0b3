// The default graph optimization pipeline run by sessions before execution.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel_registry.h"

namespace octet {

enum class OptimizationLevel {
  kStandard,   // the graph stays standard ONNX (for models that are saved, e.g. before quantization)
  kExecution,  // also fuses into octet-domain nodes only octet's runtime executes
};

// Runs the default passes to a fixed point; `registry` evaluates nodes for constant folding.
// Returns the names of the passes that changed the graph, in order (repeats included).
std::vector<std::string> optimize_model(Model& model, const KernelRegistry& registry,
                                        OptimizationLevel level = OptimizationLevel::kStandard);

}  // namespace octet
