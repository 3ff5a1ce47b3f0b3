// Reading the operands of QDQ patterns, for the passes fuse_qdq_bias_and_residual and fuse_qdq.
//
// A QDQ model marks every quantized value with DequantizeLinear (DQ) nodes. The helpers below
// answer, for one value: is it the output of a DQ whose parameters the int8 fused ops accept
// (quantized_ops.h), and if so, which quantized value and which constant parameters it stands for.
// Each returns nullopt when any precondition fails, so a pattern is either fully understood or
// left alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/graph_edit.h"
#include "passes/pattern_util.h"

namespace octet {

// Per-tensor 8-bit quantization, real = (q - zero_point) * scale, with constant parameters.
struct TensorQuantization {
  DataType dtype = DataType::kUndefined;  // kUint8 or kInt8
  float scale = 1;                        // > 0
  int32_t zero_point = 0;
  std::string scale_name;       // one-element float initializer
  std::string zero_point_name;  // one-element initializer of `dtype`; "" when omitted (uint8 zero)

  bool same_parameters(const TensorQuantization& other) const {
    return dtype == other.dtype && scale == other.scale && zero_point == other.zero_point;
  }
};

// The parameters of a QuantizeLinear or DequantizeLinear node when they are per-tensor constants
// of an 8-bit type (no blocked quantization). A DequantizeLinear must name its zero point: the
// type of its input is known from nothing else.
std::optional<TensorQuantization> per_tensor_quantization(const Graph& graph, const Node& node);

// A value computed as DequantizeLinear(quantized) with per-tensor 8-bit parameters.
struct DequantizedValue {
  size_t dequantize_node = 0;
  std::string quantized;  // the DQ's input
  TensorQuantization quantization;
};
std::optional<DequantizedValue> dequantized_value(const Graph& graph, const GraphIndex& index,
                                                  const std::string& value_name);

// Symmetric int8 weights: DequantizeLinear(W int8, scale, zero point 0). Constant weights may be
// quantized per channel along `channel_axis`; run-time ones (attention operands) per tensor.
struct SymmetricWeights {
  std::string quantized;                // the int8 initializer, or the run-time int8 value
  const Tensor* constant = nullptr;     // the int8 initializer; nullptr at run time
  std::vector<float> scales;            // one (per tensor) or one per channel
  std::string scale_name;               // the DQ's scale initializer
};
// `channel_axis` is the axis of W (rank `weight_rank` when constant) that per-channel scales must
// run along. Run-time weights are accepted only when `allow_run_time` is set.
std::optional<SymmetricWeights> symmetric_weights(const Graph& graph, const GraphIndex& index,
                                                  const std::string& value_name, int64_t channel_axis,
                                                  bool allow_run_time);

// A constant bias as the float model adds it: a float initializer, or DequantizeLinear of an int32
// initializer with zero point 0 (per tensor or along axis 0).
struct ConstantBias {
  Shape shape;                    // of the constant
  std::vector<double> values;     // the float values the model adds, one per element
  std::string int32_name;         // set when dequantized from int32
  std::vector<float> int32_scales;  // with int32_name: the DQ's scale per element
};
std::optional<ConstantBias> constant_bias(const Graph& graph, const GraphIndex& index, const std::string& value_name);

// The operands of a Conv, ConvTranspose, MatMul or Gemm (or octet's FusedConv, FusedConvTranspose,
// FusedMatMul, FusedGemm) as QFusedConv / QFusedConvTranspose / QFusedMatMul read them, when every
// precondition holds: X dequantized per tensor from 8 bits, W symmetric int8 (a constant, per
// channel along the output channels or per tensor; for MatMul also a run-time int8 value with zero
// point 0), the bias (input 2) absent or constant. ConvTranspose's output channels are W's axis 1,
// per channel only with group 1, and its attributes must be ones the int8 kernels take (no
// output_shape, auto_pad NOTSET or VALID). Gemm needs transA = 0; its alpha and beta are folded
// into the weight scales and the bias.
struct QuantizedComputeOperands {
  bool is_conv = false;            // Conv or ConvTranspose
  bool is_conv_transpose = false;
  DequantizedValue x;
  SymmetricWeights w;
  bool transpose_weights = false;  // Gemm with transB = 1: W is [N, K]
  float weight_factor = 1;         // Gemm alpha
  std::optional<ConstantBias> bias;
  double bias_factor = 1;          // Gemm beta
  int64_t channels = -1;           // M (Conv, ConvTranspose) or N (MatMul, Gemm); -1 when W is computed at run time
};
std::optional<QuantizedComputeOperands> quantized_compute_operands(const Graph& graph, const GraphIndex& index,
                                                                   const Node& node);

// The bias of a quantized op in accumulator units, int32 with scale multipliers[m]: the existing
// int32 initializer when its scales are exactly the multipliers (and `factor` is 1), else a new
// initializer holding saturate_to_int32(factor * value / multiplier) per channel.
std::string accumulator_bias(Graph& graph, UniqueNamer& namer, const ConstantBias& bias,
                             const std::vector<float>& multipliers, double factor, const std::string& base_name);

// The name of a rank-0 initializer holding `source`'s single element: `source` itself when it is
// rank 0 already, else a new initializer.
std::string scalar_initializer(Graph& graph, UniqueNamer& namer, const std::string& source);

// Adds an initializer under a fresh name derived from `base_name`.
std::string add_initializer(Graph& graph, UniqueNamer& namer, const std::string& base_name, Tensor tensor);

// Same rank, and no dimension known to differ or to be 1 on exactly one side: the test
// fuse_post_ops applies before adding a residual elementwise (a "sum" post-op).
bool same_shape_declared(const Graph& graph, const std::string& a, const std::string& b);

}  // namespace octet
