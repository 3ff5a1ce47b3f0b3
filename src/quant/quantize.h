// DefaultQuantization: an FP32 model and calibration samples in, a QDQ INT8 model out.
//
// POT's order of steps: upgrade to opset 13 and run the standard graph passes (BatchNorm folding,
// constant folding); plan which nodes are quantized (quantization_plan.h); one calibration pass
// collecting streamed statistics of every quantized value and the per-channel means FastBiasCorrection
// needs; ranges per the preset's estimator; bias correction; QDQ written into the graph.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/calibration.h"
#include "quant/quantization_plan.h"
#include "quant/tensor_statistics.h"

namespace octet {

// POT's presets. kPerformance: symmetric activations (uint8 with zero point 0 for non-negative
// values, int8 otherwise), the fastest integer kernels. kMixed: asymmetric uint8 activations
// (better accuracy on activations not centred on zero, such as after HardSwish).
enum class QuantizationPreset { kPerformance, kMixed };

std::string preset_name(QuantizationPreset preset);
// "performance" / "mixed"; throws Error otherwise.
QuantizationPreset parse_preset(const std::string& name);
// The activation range estimator a preset uses unless another is given (performance: kPerformance,
// mixed: kMeanMinMax).
RangeEstimator preset_default_estimator(QuantizationPreset preset);
// POT's range estimator names ("min_max", "mean_min_max", "performance", "quantile", "mse");
// throws Error otherwise.
RangeEstimator parse_range_estimator(const std::string& name);

// Called with the stage ("calibration") and progress within it.
using QuantizationProgress = std::function<void(const std::string& stage, size_t done, size_t total)>;

struct QuantizeOptions {
  QuantizationPreset preset = QuantizationPreset::kPerformance;
  std::set<std::string> ignored;  // node names or op types kept in FP32
  // Activation range estimator; by default the preset's (performance: mean per-sample abs-max,
  // mixed: mean per-sample min and max).
  std::optional<RangeEstimator> activation_estimator;
  double outlier_probability = 1e-4;  // for the quantile estimator
  bool fast_bias_correction = true;
  // BiasCorrection (bias_correction.h) on the first bias_correction_fraction of the samples.
  bool bias_correction = false;
  double bias_correction_fraction = 0.2;
  // ActivationChannelAlignment before the ranges (a statistics pass of its own).
  bool channel_alignment = false;
  // "transformer": SmoothQuant on MatMul inputs before the ranges (NNCF's model_type).
  std::string model_type;
  float smooth_quant_alpha = 0.95f;
  // Histogram resolution for the quantile and MSE estimators (only those need histograms).
  int64_t histogram_bins = TensorStatistics::kDefaultBinCount;
  int threads = 0;  // <= 0: all cores
  QuantizationProgress progress;
};

struct QuantizeSummary {
  std::vector<std::string> quantized_nodes;                      // "name (OpType)"
  std::vector<std::pair<std::string, std::string>> fp32_nodes;  // "name (OpType)", reason
  std::vector<std::string> fused_activations;                    // "name (OpType)": fused at run time
  std::vector<std::string> notes;                                // opset upgrade, bias correction...
  size_t calibration_samples = 0;
};

// Quantizes `model` with DefaultQuantization over `data`. Throws Error for bad options (an ignored
// entry matching nothing), bad samples (naming the file) and models it cannot calibrate.
// The same as prepare_quantization followed by write_quantized_model without extra FP32 nodes.
Model quantize_model(Model model, const CalibrationData& data, const QuantizeOptions& options,
                     QuantizeSummary* summary = nullptr);

// DefaultQuantization in two steps, for algorithms that write several quantized variants of one
// model (AccuracyAwareQuantization returns groups to FP32 one by one, tries other range estimators):
// prepare_quantization does everything that needs the data (opset upgrade, graph passes, node
// naming, SmoothQuant / ActivationChannelAlignment, the calibration pass over every value of the
// full plan); write_quantized_model re-plans with more nodes in FP32 and writes QDQ from the kept
// statistics, without another pass over the data (unless BiasCorrection is on).
struct PreparedQuantization {
  // The FP32 model the plans are made on: upgraded, optimized, every node named, transformed.
  Model model;
  // The plan with only QuantizeOptions::ignored in FP32. A re-plan with more nodes in FP32 quantizes
  // a subset of its values (Adds and tied data movement only drop out), so `calibration` covers it.
  QuantizationPlan plan;
  // Statistics of every value of `plan`; channel means of the weighted ops' inputs when
  // FastBiasCorrection was on.
  CalibrationResult calibration;
  bool has_channel_means = false;
  // The samples, kept for BiasCorrection (which runs the quantized model); files are not held open.
  CalibrationData data;
  // Notes of the preparation (opset upgrade, passes, SmoothQuant...) and the sample count.
  QuantizeSummary summary;
};

// The data-dependent part of quantize_model (errors as quantize_model). `options` are the settings
// of every later write_quantized_model call, except those listed there.
PreparedQuantization prepare_quantization(Model model, const CalibrationData& data, const QuantizeOptions& options);

// Writes the QDQ model of `prepared` with `extra_fp32_nodes` (node names) in FP32 besides
// options.ignored, listed in the summary with `fp32_reason`. `options` must be those given to
// prepare_quantization, except preset, activation_estimator, outlier_probability and the bias
// correction settings, which may differ (FastBiasCorrection only if it was on in the preparation).
// Deterministic: the same arguments give the same model. Throws Error for a name matching no node,
// or an option the preparation did not collect statistics for.
Model write_quantized_model(const PreparedQuantization& prepared, const QuantizeOptions& options,
                            const std::set<std::string>& extra_fp32_nodes = {}, QuantizeSummary* summary = nullptr,
                            const std::string& fp32_reason = "ignored scope");

}  // namespace octet
