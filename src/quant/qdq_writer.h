// Writing a quantization plan into the graph in the standard QDQ form (QuantizeLinear /
// DequantizeLinear pairs, int8 weight initializers), the form ONNX Runtime and octet's runtime
// turn into int8 kernels.
//
//   activation:  x -> QuantizeLinear(x, scale, zp) -> DequantizeLinear -> quantized consumers
//   weight:      W_int8 (initializer) -> DequantizeLinear(axis = output channel) -> op
//   bias:        b_int32 (scale x_scale * w_scale[c], zero point 0) -> DequantizeLinear -> op
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/quantization_plan.h"
#include "quant/range_math.h"

namespace octet {

// A float weight quantized to int8, symmetric per channel along `axis` ([-127, 127]).
struct ChannelQuantizedWeight {
  Tensor values;              // int8, the weight's shape
  std::vector<float> scales;  // one per channel along the axis
};
ChannelQuantizedWeight quantize_weight_per_channel(const Tensor& weight, int64_t axis);
// The float weight the int8 one stands for: values[i] * scales[channel of i].
Tensor dequantize_weight(const ChannelQuantizedWeight& weight, int64_t axis);

// Rewrites `model` (the graph the plan was made on) into QDQ form at opset >= 13.
// `activation_parameters[i]` belongs to plan.quantizers[i]. `bias_overrides` replaces the float bias
// of a weighted op (by node name) before it is quantized (bias correction). Initializers left
// unused are removed.
void write_qdq(Model& model, const QuantizationPlan& plan,
               const std::vector<QuantizationParameters>& activation_parameters,
               const std::map<std::string, std::vector<float>>& bias_overrides);

}  // namespace octet
