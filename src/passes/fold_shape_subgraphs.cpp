// fold_shape_subgraphs: turns Shape and Size of statically shaped values into initializers, so that
// fold_constants can then collapse the shape arithmetic built on them.
//
//   before:  x (1x3x48x320) -> Shape -> s -> Gather(indices=2) -> h -> Unsqueeze -> Concat -> Reshape
//   after:   s = [1, 3, 48, 320] (initializer) -> Gather ...
//            and after fold_constants:  the Reshape's shape input is an initializer
//
// Shapes come from the graph's declared and inferred value infos (ONNX shape inference fills them
// at load), graph inputs and initializers. Session::run rejects inputs whose fixed dimensions
// differ from the declared ones, so a static dimension here holds for every run.
#include <algorithm>
#include <optional>

#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace octet {
namespace {

constexpr int64_t kShapeSliceOpset = 15;  // Shape gained its start and end attributes

// Clamps a possibly negative Shape start/end into [0, rank], as the operator's definition says.
int64_t clamp_shape_bound(int64_t bound, int64_t rank) {
  if (bound < 0) bound += rank;
  return std::clamp<int64_t>(bound, 0, rank);
}

// The folded value of a Shape or Size node, or nullptr when the dimensions it needs are not all known.
std::shared_ptr<const Tensor> shape_value(const Node& node, const ValueInfo& info, int64_t opset) {
  const int64_t rank = static_cast<int64_t>(info.dims.size());
  int64_t begin = 0;
  int64_t end = rank;
  if (node.op_type == "Shape" && opset >= kShapeSliceOpset) {
    begin = clamp_shape_bound(node.attr_int("start", 0), rank);
    end = std::max(begin, clamp_shape_bound(node.attr_int("end", rank), rank));
  }
  std::vector<int64_t> dims;
  for (int64_t axis = begin; axis < end; ++axis) {
    const Dimension& dim = info.dims[static_cast<size_t>(axis)];
    if (!dim.is_known()) return nullptr;
    dims.push_back(dim.value);
  }
  if (node.op_type == "Size") return std::make_shared<const Tensor>(Tensor::scalar<int64_t>(element_count(dims)));
  const Shape shape{static_cast<int64_t>(dims.size())};
  return std::make_shared<const Tensor>(Tensor::from_vector(shape, dims));
}

}  // namespace

bool fold_shape_subgraphs(Model& model, const PassContext& context) {
  Graph& graph = model.graph;
  std::vector<bool> folded(graph.nodes.size(), false);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    if (!node.domain.empty() || (node.op_type != "Shape" && node.op_type != "Size")) continue;
    if (!node.has_input(0) || node.outputs.size() != 1 || node.outputs[0].empty()) continue;
    const std::optional<ValueInfo> info = graph.find_value_info(node.inputs[0]);
    if (!info || !info->has_shape) continue;
    std::shared_ptr<const Tensor> value = shape_value(node, *info, model.opset(node.domain));
    if (!value) continue;
    graph.initializers[node.outputs[0]] = std::move(value);
    folded[i] = true;
  }
  const bool changed = std::find(folded.begin(), folded.end(), true) != folded.end();
  if (changed) erase_flagged_nodes(graph, folded);
  return changed;
}

}  // namespace octet
