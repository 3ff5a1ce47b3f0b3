// What the workbench's Inspect view shows of a model: `octet inspect`'s statistics
// (runtime/model_stats.h) plus, per node of the file, the precision it runs at and the kernel that
// runs it (from a Session's placements on the optimized graph), and why a node stays FP32.
#pragma once

#include <map>
#include <string>

#include "database.h"
#include "octet/tensor.h"

namespace octet::workbench {

// Whether an op type (optionally "domain.Op") computes on 8-bit integers: QuantizeLinear,
// DequantizeLinear, ONNX's QLinear*/…Integer ops and octet's fused int8 ops (QFusedConv, QBinary...).
bool is_int8_op_type(const std::string& op_type);

// The GET /api/models/{id}/inspect document (API.md). `input_shapes` override declared shapes for
// the MAC count; `fp32_reasons` maps node names to why the quantizer kept them in FP32 (from the
// quantize job that made the model; empty otherwise). Throws Error naming the file or the shape.
Json inspect_model(const std::string& path, const std::map<std::string, Shape>& input_shapes,
                   const std::map<std::string, std::string>& fp32_reasons);

}  // namespace octet::workbench
