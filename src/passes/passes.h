// The graph passes, one per file, all with one signature.
//
// A pass rewrites model.graph in place and returns whether it changed anything, so that the
// pipeline (optimize.cpp) can run the passes to a fixed point. Every pass:
//   - expects graph.nodes in topological order and keeps them so;
//   - keeps the graph's interface unchanged: the names, order and meaning of graph inputs and outputs;
//   - never mutates an initializer tensor (they are shared between graph copies): it adds new
//     initializers under fresh names instead;
//   - leaves a node alone rather than guess when a precondition does not hold.
#pragma once

#include <string>

#include "ir/graph.h"
#include "kernels/kernel_registry.h"

namespace octet {

// What passes may use besides the model.
struct PassContext {
  const KernelRegistry& registry;  // evaluates nodes when folding constants
};

using GraphPass = bool (*)(Model& model, const PassContext& context);

// Removes Identity nodes and inference-mode Dropout nodes, rewiring their consumers to the input.
bool remove_identity(Model& model, const PassContext& context);
// Evaluates deterministic nodes whose inputs are all initializers and stores their outputs as initializers.
bool fold_constants(Model& model, const PassContext& context);
// Replaces Shape and Size of values whose shape is statically known with initializers.
bool fold_shape_subgraphs(Model& model, const PassContext& context);
// Folds inference BatchNormalization into the weights and bias of a preceding Conv, ConvTranspose or Gemm.
bool fold_batch_norm(Model& model, const PassContext& context);
// Folds a per-channel or scalar Mul/Div/Add/Sub by a constant into the preceding Conv's weights and bias.
bool fold_conv_affine(Model& model, const PassContext& context);
// Removes nodes whose outputs nobody reads (and that are not graph outputs), then unused initializers.
bool remove_dead_nodes(Model& model, const PassContext& context);

}  // namespace octet
