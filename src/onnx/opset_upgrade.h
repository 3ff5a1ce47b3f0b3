// Upgrading a model's default-domain opset, for the ops whose signature changed on the way.
//
// Quantized output needs opset >= 13 (per-axis QuantizeLinear/DequantizeLinear). The ONNX
// library's version converter fails on models with unknown shapes (it re-infers them at each step),
// so octet rewrites the nodes itself: attributes that became inputs (Squeeze, Unsqueeze, Split,
// ReduceSum, Slice, Clip, Pad, TopK), Softmax-family axis semantics, Upsample and Resize-10 to
// Resize-13, legacy BatchNormalization and Dropout attributes.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace octet {

// Rewrites the model in place so that it is valid at `target_opset` (13 to 17) and sets the import.
// Returns one line per rewritten node kind ("Squeeze: 7 nodes"). Throws UnsupportedError naming the
// node for an op whose upgrade octet does not know. A model already at or above the target is unchanged.
std::vector<std::string> upgrade_opset(Model& model, int64_t target_opset);

}  // namespace octet
