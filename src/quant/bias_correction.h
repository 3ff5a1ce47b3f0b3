// FastBiasCorrection (POT): after quantization, a layer's output mean shifts because its weights
// (and the input it sees) are rounded. For a linear op the shift is exact to compute from the
// per-channel input means m:   shift = W . m - W_q . fq(m)
// (W_q the dequantized int8 weight, fq the input's quantize-dequantize), and the new bias is
// b + shift, so that the quantized layer's output mean matches the FP32 one. POT measures the same
// quantity by running the layer on a tensor filled with the channel means; the closed form avoids
// that run and the border effects of padding.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/quantization_plan.h"
#include "quant/range_math.h"

namespace octet {

// POT's threshold: a correction larger than twice the bias (by norm) signals statistics that do not
// represent the layer (e.g. a dead channel), so the layer is left uncorrected.
inline constexpr double kMaxRelativeBiasShift = 2.0;

struct BiasCorrectionResult {
  std::map<std::string, std::vector<float>> biases;  // corrected float bias by node name
  std::vector<std::string> skipped;                   // "node: reason"
};

// Corrects the bias of every Conv and Gemm of `plan` that has one. `input_channel_means` holds the
// FP32 per-channel means of each op's activation input (by value name); `activation_parameters`
// are the plan's quantizer parameters.
BiasCorrectionResult fast_bias_correction(const Graph& graph, const QuantizationPlan& plan,
                                          const std::vector<QuantizationParameters>& activation_parameters,
                                          const std::map<std::string, std::vector<double>>& input_channel_means);

// The channel axis of a weighted op's activation input: 1 for convolutions, the last for matrices.
int64_t activation_channel_axis(WeightedOpKind kind);

}  // namespace octet
