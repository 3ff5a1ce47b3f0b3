// fold_constants: evaluates, once, the nodes whose inputs are all initializers.
//
//   before:  W (initializer) -> Transpose -> W_t -> MatMul      after:  W_t (initializer) -> MatMul
//   before:  Constant -> c -> Add                                after:  c (initializer) -> Add
//
// Nodes are visited in topological order and each folded output becomes an initializer at once,
// so a whole chain of constant arithmetic collapses in one run.
#include <optional>
#include <set>

#include "core/layout.h"
#include "core/thread_pool.h"
#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace octet {
namespace {

// Folding trades computation for stored bytes. A larger output (Expand, Tile or ConstantOfShape
// blowing a few numbers up into a big tensor) would bloat a saved model and stay resident for the
// session's lifetime, while recomputing it per run costs little next to the ops that read it.
constexpr int64_t kMaxFoldedOutputBytes = int64_t{64} << 20;

// Folded values are computed by the reference kernels: they are the obviously correct ones, and a
// node runs only once here, so an optimized kernel's setup cost would not pay off.
const std::string kFoldingImplementation = "reference";

// Ops whose outputs differ from run to run.
const std::set<std::string> kNondeterministicOps = {"RandomNormal",      "RandomUniform", "RandomNormalLike",
                                                    "RandomUniformLike", "Multinomial",   "Bernoulli"};

// Ops kept even when their inputs are constant. DequantizeLinear of constant integer weights is how
// a QDQ model marks quantized weights: quantized kernels and re-quantization need that pattern, not
// its float result (ONNX Runtime's constant folding keeps these nodes for the same reason).
const std::set<std::string> kKeptOps = {"DequantizeLinear"};

// The tensor a Constant node holds, or nullptr for forms octet does not store (sparse, strings).
std::shared_ptr<const Tensor> constant_node_value(const Node& node) {
  if (node.attributes.size() != 1) return nullptr;
  const Attribute& attribute = node.attributes[0];
  if (attribute.name == "value" && attribute.type == AttributeType::kTensor) return attribute.tensor;
  if (attribute.name == "value_float" && attribute.type == AttributeType::kFloat)
    return std::make_shared<const Tensor>(Tensor::scalar(attribute.f));
  if (attribute.name == "value_int" && attribute.type == AttributeType::kInt)
    return std::make_shared<const Tensor>(Tensor::scalar(attribute.i));
  if (attribute.name == "value_floats" && attribute.type == AttributeType::kFloats) {
    const Shape shape{static_cast<int64_t>(attribute.floats.size())};
    return std::make_shared<const Tensor>(Tensor::from_vector(shape, attribute.floats));
  }
  if (attribute.name == "value_ints" && attribute.type == AttributeType::kInts) {
    const Shape shape{static_cast<int64_t>(attribute.ints.size())};
    return std::make_shared<const Tensor>(Tensor::from_vector(shape, attribute.ints));
  }
  return nullptr;
}

bool all_inputs_constant(const Node& node, const Graph& graph) {
  for (const auto& input : node.inputs)
    if (!input.empty() && !graph.find_initializer(input)) return false;
  return true;
}

// True when a declared shape already shows an output too large to fold (saves computing it).
bool declared_too_large(const Node& node, const Graph& graph) {
  for (const auto& output : node.outputs) {
    if (output.empty()) continue;
    const std::optional<ValueInfo> info = graph.find_value_info(output);
    if (!info || !info->has_shape || dtype_size(info->dtype) == 0) continue;
    int64_t bytes = static_cast<int64_t>(dtype_size(info->dtype));
    for (const auto& dim : info->dims) {
      if (!dim.is_known()) {
        bytes = 0;
        break;
      }
      if (dim.value > 0 && bytes > kMaxFoldedOutputBytes / dim.value) return true;
      bytes *= dim.value;
    }
    if (bytes > kMaxFoldedOutputBytes) return true;
  }
  return false;
}

// Runs the node's kernel on its constant inputs. Returns nullopt when the node should stay.
std::optional<std::vector<Tensor>> evaluate(const Node& node, const Model& model, const PassContext& context,
                                            ThreadPool& pool) {
  const Graph& graph = model.graph;
  std::vector<const Tensor*> inputs;
  for (const auto& input : node.inputs) inputs.push_back(input.empty() ? nullptr : graph.find_initializer(input));
  // Trailing omitted inputs are dropped, as the session does, so kernels see the real input count.
  while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();
  std::vector<Tensor> outputs(node.outputs.size());
  try {
    KernelCreateInfo info{node, model.opset(node.domain),
                          [&graph](const std::string& value_name) { return graph.find_initializer(value_name); }};
    KernelChoice choice = context.registry.create(info, kFoldingImplementation);
    KernelContext kernel_context(inputs, outputs, pool);
    choice.kernel->run(kernel_context);
  } catch (const Error&) {
    // An unsupported op or type, or a node that fails on these inputs: leave it to the runtime,
    // which reports the same problem naming the node if it is ever run.
    return std::nullopt;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (node.outputs[i].empty()) continue;
    if (outputs[i].empty() || static_cast<int64_t>(outputs[i].byte_size()) > kMaxFoldedOutputBytes)
      return std::nullopt;
    // Initializers are plain: kernels may read a constant's buffer directly when they are created.
    if (outputs[i].layout() != Layout::kPlain) outputs[i] = to_plain(outputs[i], pool);
  }
  return outputs;
}

}  // namespace

bool fold_constants(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  ThreadPool pool(1);  // folding runs once per model; keep it off the session's threads
  std::vector<bool> folded(graph.nodes.size(), false);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    if (!node.domain.empty() || node.outputs.empty() || has_subgraph(node)) continue;
    if (node.op_type == "Constant") {
      std::shared_ptr<const Tensor> value = constant_node_value(node);
      if (!value || node.outputs.size() != 1 || node.outputs[0].empty()) continue;
      graph.initializers[node.outputs[0]] = std::move(value);
      folded[i] = true;
      continue;
    }
    if (kNondeterministicOps.count(node.op_type) || kKeptOps.count(node.op_type)) continue;
    if (!all_inputs_constant(node, graph) || declared_too_large(node, graph)) continue;
    std::optional<std::vector<Tensor>> outputs = evaluate(node, model, context, pool);
    if (!outputs) continue;
    for (size_t o = 0; o < node.outputs.size(); ++o)
      if (!node.outputs[o].empty())
        graph.initializers[node.outputs[o]] = std::make_shared<const Tensor>(std::move((*outputs)[o]));
    folded[i] = true;
  }
  const bool changed = std::find(folded.begin(), folded.end(), true) != folded.end();
  if (changed) erase_flagged_nodes(graph, folded);
  return changed;
}

}  // namespace octet
