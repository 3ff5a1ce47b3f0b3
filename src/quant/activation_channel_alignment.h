// ActivationChannelAlignment (OpenVINO POT), the first step of DefaultQuantization: an FP32
// rewrite that makes the channels of an activation span similar ranges centred on zero, so that
// one per-tensor quantization range wastes fewer levels on any channel. The model computes the
// same function afterwards (up to float rounding).
//
// Pattern, matched conservatively so that the rewrite is exact:
//
//   producer Conv (any group, constant weight, constant or no bias)
//     -> v (no other reader, not a graph output)
//     -> consumer Conv (group 1, strides 1, dilations 1, no padding; constant weight, constant or no bias)
//
// Only Conv producers: a MatMul's channels are on its last axis while a Conv reads axis 1, so a
// MatMul never feeds a Conv directly (SmoothQuant covers MatMuls).
// Nothing may sit between the two (POT's rule): an activation such as ReLU commutes with a positive
// per-channel scale but not with the shift. Any producer group works: output channel c of a Conv
// depends on its own filter W_in[c] and bias b_in[c] only, depthwise included. The consumer must be
// group 1 so that input channel c meets column W_out[:, c] of every filter; without padding every
// window reads real inputs only, so shifting every input value of channel c by m_c moves each
// output by exactly sum_k W_out[o, c, k] * m_c, which the consumer bias takes back.
//
// Per channel c of v, with robust bounds amin_c, amax_c (quantiles 1e-4 and 1 - 1e-4 over the
// calibration data):
//   shift  m_c = (amin_c + amax_c) / 2   (POT centres the range: its midpoint, not the mean)
//          b_in[c] -= m_c;  b_out[o] += sum_{c,k} W_out[o, c, k] * m_c
//   scale  s_c = (amax_c - amin_c) / median over channels of (amax - amin), clipped to [1e-2, 1e2]
//          (1 for a channel of zero span)
//          W_in[c] /= s_c;  b_in[c] /= s_c;  W_out[:, c] *= s_c
// A missing bias is created (zeros) so the shift has somewhere to go.
//
// Statistics: POT takes per-sample quantiles and their median over samples, which keeps a value
// per sample; octet streams one per-channel histogram per value instead (ChannelStatistics, memory
// independent of the sample count) and takes the quantiles of all samples pooled.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/calibration.h"

namespace octet {

// Fraction of a channel's values allowed outside its robust bounds at each end (POT's value).
inline constexpr double kAlignmentOutlierProbability = 1e-4;
// Bounds of the per-channel scale (POT's values).
inline constexpr float kAlignmentMinScale = 1e-2f;
inline constexpr float kAlignmentMaxScale = 1e2f;

// Aligns every matching Conv -> Conv pair of `model` (FP32, batch norms folded, opset >= 13), using
// statistics from one unoptimized run over `data` (options as for collect_statistics). Changed
// weights and biases become new initializers with new unique names; the old ones are never
// modified (other nodes may share them) and are dropped once nothing reads them. Returns one line
// per aligned pair for the summary, e.g.
//   "Conv 'conv1' -> Conv 'conv2': 16 channels, channel range max/min 240 -> 2.1".
// Throws Error as collect_statistics does (bad samples, several inputs, non-finite values).
std::vector<std::string> align_activation_channels(Model& model, const CalibrationData& data,
                                                   const CalibrationOptions& options = {});

}  // namespace octet
