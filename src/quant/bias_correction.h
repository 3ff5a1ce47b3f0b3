// FastBiasCorrection (POT): after quantization, a layer's output mean shifts because its weights
// (and the input it sees) are rounded. For a linear op the shift is exact to compute from the
// per-channel input means m:   shift = W . m - W_q . fq(m)
// (W_q the dequantized int8 weight, fq the input's quantize-dequantize), and the new bias is
// b + shift, so that the quantized layer's output mean matches the FP32 one. POT measures the same
// quantity by running the layer on a tensor filled with the channel means; the closed form avoids
// that run and the border effects of padding.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/calibration.h"
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

// BiasCorrection (POT's slower, more exact algorithm): layer by layer in graph order, runs the
// quantized model (with the corrections so far) on `data`, measures the layer's per-channel output
// mean, and moves its bias by mean(FP32 output) - mean(INT8 output), so that later layers see the
// corrected earlier ones. One model run per sample per layer. `initial_biases` (e.g.
// FastBiasCorrection's) replace the FP32 biases to start from. Returns the corrected float biases by
// node name; `progress` (optional) is called after each layer.
using BiasCorrectionProgress = std::function<void(size_t done, size_t total)>;
std::map<std::string, std::vector<float>> bias_correction(const Model& fp32_model, const QuantizationPlan& plan,
                                                          const std::vector<QuantizationParameters>& activation_parameters,
                                                          std::map<std::string, std::vector<float>> initial_biases,
                                                          const CalibrationData& data, const CalibrationOptions& options,
                                                          const BiasCorrectionProgress& progress = {});

// The channel axis of a weighted op's activation input: 1 for convolutions, the last for matrices.
int64_t activation_channel_axis(WeightedOpKind kind);

}  // namespace octet
