#include "quant/quantize.h"

#include <algorithm>
#include <cmath>

#include "octet/status.h"
#include "onnx/opset_upgrade.h"
#include "passes/optimize.h"
#include "quant/activation_channel_alignment.h"
#include "quant/bias_correction.h"
#include "quant/qdq_writer.h"
#include "quant/quantization_plan.h"
#include "quant/smooth_quant.h"
#include "runtime/builtin_kernels.h"

namespace octet {
namespace {

constexpr int64_t kQuantizedOpset = 13;

// The range of one quantizer: the union of the ranges of the values tied to it.
FloatRange quantizer_range(const ActivationQuantizer& quantizer, const std::map<std::string, TensorStatistics>& statistics,
                           RangeEstimator estimator, const RangeEstimatorOptions& estimator_options) {
  FloatRange range{0.0f, 0.0f};
  for (const std::string& value : quantizer.values) {
    const FloatRange value_range = statistics.at(value).range(estimator, estimator_options);
    range.min = std::min(range.min, value_range.min);
    range.max = std::max(range.max, value_range.max);
  }
  return range;
}

QuantizationParameters quantizer_parameters(const ActivationQuantizer& quantizer,
                                            const std::map<std::string, TensorStatistics>& statistics,
                                            const QuantizeOptions& options) {
  const RangeEstimator estimator = options.activation_estimator.value_or(preset_default_estimator(options.preset));
  const bool symmetric = quantizer.signed_symmetric || options.preset == QuantizationPreset::kPerformance;
  // The estimator's MSE search needs the integer grid; a non-negative tensor takes uint8 either way.
  bool non_negative = !quantizer.signed_symmetric;
  for (const std::string& value : quantizer.values) non_negative &= statistics.at(value).min() >= 0.0f;
  RangeEstimatorOptions estimator_options;
  estimator_options.outlier_probability = options.outlier_probability;
  estimator_options.mode = symmetric ? RangeMode::kSymmetric : RangeMode::kAsymmetric;
  estimator_options.type = non_negative || !symmetric ? QuantizedType::kUint8 : QuantizedType::kInt8;
  FloatRange range = quantizer_range(quantizer, statistics, estimator, estimator_options);
  if (symmetric && !non_negative) {
    const float bound = std::max(-range.min, range.max);
    range = {-bound, bound};
  }
  if (non_negative) range.min = 0.0f;
  return compute_quantization_parameters(range.min, range.max, estimator_options.type, estimator_options.mode);
}

std::string describe_node(const Graph& graph, const std::string& name) {
  for (const Node& node : graph.nodes)
    if (node.name == name) return node.describe();
  return name;
}

CalibrationOptions calibration_options_for(const QuantizeOptions& options) {
  CalibrationOptions calibration_options;
  calibration_options.session.threads = options.threads;
  calibration_options.histogram_bins = options.histogram_bins;
  return calibration_options;
}

// The progress callback of one stage, or none.
CalibrationProgress progress_for(const QuantizeOptions& options, const std::string& stage) {
  if (!options.progress) return {};
  return [&options, stage](size_t done, size_t total) { options.progress(stage, done, total); };
}

}  // namespace

RangeEstimator preset_default_estimator(QuantizationPreset preset) {
  return preset == QuantizationPreset::kPerformance ? RangeEstimator::kPerformance : RangeEstimator::kMeanMinMax;
}

std::string preset_name(QuantizationPreset preset) {
  return preset == QuantizationPreset::kPerformance ? "performance" : "mixed";
}

QuantizationPreset parse_preset(const std::string& name) {
  if (name == "performance") return QuantizationPreset::kPerformance;
  if (name == "mixed") return QuantizationPreset::kMixed;
  throw Error(concat("unknown preset '", name, "' (expected performance or mixed)"));
}

RangeEstimator parse_range_estimator(const std::string& name) {
  for (const RangeEstimator estimator : {RangeEstimator::kMinMax, RangeEstimator::kMeanMinMax,
                                         RangeEstimator::kPerformance, RangeEstimator::kQuantile, RangeEstimator::kMse}) {
    if (range_estimator_name(estimator) == name) return estimator;
  }
  throw Error(concat("unknown range estimator '", name,
                     "' (expected min_max, mean_min_max, performance, quantile or mse)"));
}

PreparedQuantization prepare_quantization(Model model, const CalibrationData& data, const QuantizeOptions& options) {
  QuantizeSummary report;
  const int64_t original_opset = model.opset("");
  if (original_opset < kQuantizedOpset) {
    for (const std::string& line : upgrade_opset(model, kQuantizedOpset))
      report.notes.push_back(concat("opset ", original_opset, " -> ", kQuantizedOpset, ": ", line));
  }
  const std::vector<std::string> passes =
      optimize_model(model, builtin_kernel_registry(), OptimizationLevel::kStandard);
  if (!passes.empty()) report.notes.push_back(concat("graph passes applied: ", passes.size()));
  name_unnamed_nodes(model.graph);

  CalibrationOptions calibration_options = calibration_options_for(options);
  if (options.model_type == "transformer") {
    calibration_options.progress = progress_for(options, "smooth quant statistics");
    const auto lines = apply_smooth_quant(model, data, options.smooth_quant_alpha, calibration_options);
    report.notes.push_back(concat("SmoothQuant (alpha ", options.smooth_quant_alpha, "): ", lines.size(), " groups"));
    for (const std::string& line : lines) report.notes.push_back("  " + line);
  } else {
    check(options.model_type.empty(), "unknown model type '", options.model_type, "' (expected transformer)");
  }
  if (options.channel_alignment) {
    calibration_options.progress = progress_for(options, "channel alignment statistics");
    const auto lines = align_activation_channels(model, data, calibration_options);
    report.notes.push_back(concat("ActivationChannelAlignment: ", lines.size(), " pairs"));
    for (const std::string& line : lines) report.notes.push_back("  " + line);
  }

  PlanOptions plan_options;
  plan_options.ignored = options.ignored;
  QuantizationPlan plan = plan_quantization(model.graph, plan_options);

  CalibrationRequest request;
  for (const ActivationQuantizer& quantizer : plan.quantizers)
    request.values.insert(quantizer.values.begin(), quantizer.values.end());
  if (options.fast_bias_correction) {
    for (const QuantizedWeightedOp& op : plan.weighted_ops)
      if (!op.bias.empty()) request.channel_mean_axes[op.activation] = activation_channel_axis(op.kind);
  }
  calibration_options.progress = progress_for(options, "calibration");
  CalibrationResult calibration = calibrate(model, data, request, calibration_options);
  report.calibration_samples = data.size();
  return PreparedQuantization{std::move(model), std::move(plan), std::move(calibration), options.fast_bias_correction,
                              data, std::move(report)};
}

Model write_quantized_model(const PreparedQuantization& prepared, const QuantizeOptions& options,
                            const std::set<std::string>& extra_fp32_nodes, QuantizeSummary* summary,
                            const std::string& fp32_reason) {
  check(!options.fast_bias_correction || prepared.has_channel_means,
        "FastBiasCorrection needs the channel means of a preparation with fast_bias_correction on");
  QuantizeSummary local_summary;
  QuantizeSummary& report = summary ? *summary : local_summary;
  report = prepared.summary;
  Model model = prepared.model;

  PlanOptions plan_options;
  plan_options.ignored = options.ignored;
  plan_options.ignored.insert(extra_fp32_nodes.begin(), extra_fp32_nodes.end());
  QuantizationPlan plan = plan_quantization(model.graph, plan_options);
  for (const std::string& name : extra_fp32_nodes) {
    const auto kept = plan.kept_fp32.find(name);
    if (kept != plan.kept_fp32.end() && !options.ignored.count(name)) kept->second = fp32_reason;
  }

  std::vector<QuantizationParameters> parameters;
  for (const ActivationQuantizer& quantizer : plan.quantizers) {
    for (const std::string& value : quantizer.values)
      check(prepared.calibration.statistics.count(value), "value '", value,
            "' has no calibration statistics (quantized in this plan but not in the prepared one: the ignored "
            "scope may only grow)");
    parameters.push_back(quantizer_parameters(quantizer, prepared.calibration.statistics, options));
  }

  std::map<std::string, std::vector<float>> corrected_biases;
  if (options.fast_bias_correction) {
    BiasCorrectionResult correction =
        fast_bias_correction(model.graph, plan, parameters, prepared.calibration.channel_means);
    report.notes.push_back(concat("FastBiasCorrection: ", correction.biases.size(), " biases corrected, ",
                                  correction.skipped.size(), " skipped"));
    for (const std::string& line : correction.skipped) report.notes.push_back("  bias kept: " + line);
    corrected_biases = std::move(correction.biases);
  }

  if (options.bias_correction) {
    const CalibrationData& data = prepared.data;
    const CalibrationData subset =
        data.first(static_cast<size_t>(std::ceil(options.bias_correction_fraction * static_cast<double>(data.size()))));
    CalibrationOptions calibration_options = calibration_options_for(options);
    corrected_biases = bias_correction(model, plan, parameters, std::move(corrected_biases), subset, calibration_options,
                                       progress_for(options, "bias correction (layers)"));
    report.notes.push_back(concat("BiasCorrection: ", corrected_biases.size(), " biases, layer by layer on ",
                                  subset.size(), " samples"));
  }

  for (const std::string& name : plan.quantized_nodes) report.quantized_nodes.push_back(describe_node(model.graph, name));
  for (const auto& [name, op] : plan.fused_activations)
    report.fused_activations.push_back(describe_node(model.graph, name));
  for (const auto& [name, reason] : plan.kept_fp32) report.fp32_nodes.push_back({describe_node(model.graph, name), reason});
  write_qdq(model, plan, parameters, corrected_biases);
  return model;
}

Model quantize_model(Model model, const CalibrationData& data, const QuantizeOptions& options,
                     QuantizeSummary* summary) {
  const PreparedQuantization prepared = prepare_quantization(std::move(model), data, options);
  return write_quantized_model(prepared, options, {}, summary);
}

}  // namespace octet
