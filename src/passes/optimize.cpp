#include "passes/optimize.h"

#include <set>

#include "passes/graph_edit.h"
#include "passes/fusion_passes.h"
#include "passes/passes.h"

namespace octet {
namespace {

struct NamedPass {
  const char* name;
  GraphPass run;
};

// Order matters within a round: identities go first so that the folds see through them; shape
// folding feeds constant folding; batch-norm folding needs constant weights (a folded Constant or
// Transpose); dead-node removal sweeps up what the others disconnected.
constexpr NamedPass kDefaultPasses[] = {
    {"remove_identity", remove_identity},
    {"fold_shape_subgraphs", fold_shape_subgraphs},
    {"fold_constants", fold_constants},
    {"fold_batch_norm", fold_batch_norm},
    {"fold_conv_affine", fold_conv_affine},
    {"remove_dead_nodes", remove_dead_nodes},
};

// Each round can only shrink the graph, so the fixed point comes quickly (typically in two or three
// rounds); the bound guards against a pass that keeps reporting changes by mistake.
constexpr int kMaxRounds = 10;

// Drops declared types of values that no longer exist (renamed, folded away), so that later users
// of value_infos never read a stale entry.
void drop_stale_value_infos(Graph& graph) {
  std::set<std::string> existing;
  for (const auto& node : graph.nodes) existing.insert(node.outputs.begin(), node.outputs.end());
  std::erase_if(graph.value_infos, [&](const auto& entry) {
    return !existing.count(entry.first) && !graph.initializers.count(entry.first);
  });
}

}  // namespace

// Execution fusions run once the standard passes reached their fixed point: activation patterns
// first (so that post-op fusion sees HardSwish, Swish, LayerNormalization), then post-ops. In QDQ
// models, fuse_qdq_bias_and_residual needs the activations already fused into the Conv ahead of
// its Q/DQ pair, and hands residual Adds and MatMul biases to a second fuse_post_ops; fuse_qdq then
// reads the fused nodes' post-ops and sum operands.
constexpr NamedPass kExecutionPasses[] = {
    {"fuse_activation_patterns", fuse_activation_patterns},
    {"fuse_post_ops", fuse_post_ops},
    {"fuse_qdq_bias_and_residual", fuse_qdq_bias_and_residual},
    {"fuse_post_ops", fuse_post_ops},
    {"fuse_qdq", fuse_qdq},
    {"fuse_qdq_elementwise", fuse_qdq_elementwise},
    {"remove_dead_nodes", remove_dead_nodes},
};

std::vector<std::string> optimize_model(Model& model, const KernelRegistry& registry, OptimizationLevel level) {
  Graph& graph = model.graph;
  for (const auto& node : graph.nodes)
    if (has_subgraph(node)) return {};  // a subgraph may read any outer value by name: see has_subgraph
  graph.topological_sort();  // every pass relies on topological order

  const PassContext context{registry};
  std::vector<std::string> applied;
  for (int round = 0; round < kMaxRounds; ++round) {
    bool changed = false;
    for (const auto& pass : kDefaultPasses) {
      if (!pass.run(model, context)) continue;
      changed = true;
      applied.push_back(pass.name);
#ifndef NDEBUG
      try {
        graph.verify();
      } catch (const Error& error) {
        throw Error(concat("graph is invalid after pass ", pass.name, ": ", error.what()));
      }
#endif
    }
    if (!changed) break;
  }
  if (level == OptimizationLevel::kExecution) {
    for (const auto& pass : kExecutionPasses) {
      if (!pass.run(model, context)) continue;
      applied.push_back(pass.name);
#ifndef NDEBUG
      graph.verify();
#endif
    }
  }
  drop_stale_value_infos(graph);
  return applied;
}

}  // namespace octet
