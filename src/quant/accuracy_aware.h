// AccuracyAwareQuantization (POT's algorithm): DefaultQuantization, then groups of quantized nodes
// returned to FP32, the most harmful first, until the accuracy drop on a labeled evaluation set
// holds a budget.
//
// The loop (QUANTIZATION.md "AccuracyAwareQuantization"):
//   1. Evaluate the FP32 model and the DefaultQuantization result on the evaluation set. Done when
//      the drop holds the budget (nothing is reverted).
//   2. tune_hyperparams: write the model with every other preset x range estimator (one calibration
//      serves all of them) and keep the one with the smallest drop. Done when it holds the budget.
//   3. Ranking subset: the ranking_subset_size samples where INT8 is worst relative to FP32 (per-sample
//      metric difference). The FP32 outputs of these samples are kept in memory.
//   4. Ranking: for each group still quantized, write the model with that group also in FP32 and run
//      the ranking subset: the group whose return gives the best subset metric is the most harmful;
//      ties (the per-sample metrics are coarse) go to the smaller normalized output error
//      ||y - y_fp32||^2 / ||y_fp32||^2 (NNCF's ranking without a per-sample metric), then the name.
//   5. Return groups to FP32 in ranking order, re-evaluating on the whole set after each. A return
//      that leaves the drop no worse is kept; one that makes it worse is undone (POT's
//      use_prev_if_drop_increase), the group is excluded, and the remaining groups are ranked again,
//      lazily: a group's gain only shrinks as others return (diminishing returns), so the top entry
//      is re-scored until the top one is fresh (Minoux's lazy greedy), not every group.
//   6. Stop when the drop holds the budget, no group is left, or max_iterations evaluations are done.
//   7. When the budget holds: try each returned group back in INT8, latest first, keeping it INT8 when
//      the budget still holds (octet's addition: fewer FP32 groups than the greedy order leaves).
// Returned is the model with the smallest drop found (the current one: steps that worsen are undone).
//
// Groups are the units a runtime fuses: a weighted op (Conv, ConvTranspose, MatMul, Gemm, attention
// MatMul) with the quantizers on its inputs, or a quantized residual Add. Returning one to FP32 puts
// its node name in the ignored scope and re-plans (quantization_plan.h), so the quantizers that only
// served it disappear with it and no stray QuantizeLinear/DequantizeLinear pair is left.
//
// Cost: one calibration pass; then per candidate one QDQ write (no data pass), one Session build and
// a pass over the ranking subset or the evaluation set. A ranking costs one candidate per group, a
// lazy re-ranking usually a few; every return one pass over the evaluation set. Memory: the ranking subset's FP32 outputs
// (ranking_subset_size x the first output's size; PP-OCR rec: 300 x 1.06 MB).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/evaluate.h"
#include "ir/graph.h"
#include "quant/calibration.h"
#include "quant/quantize.h"

namespace octet {

// One evaluated candidate.
struct AccuracyAwareIteration {
  // "default" (DefaultQuantization), "tune" (another preset / range estimator), "revert" (a group
  // returned to FP32) or "requantize" (a returned group tried in INT8 again).
  std::string kind;
  // The group (node name) of a revert or requantize; the settings of a tune step; empty for default.
  std::string group;
  double metric = 0;      // on the whole evaluation set
  double drop = 0;        // FP32 metric - metric
  double latency_ms = 0;  // median of a short timed run on the first evaluation sample
  bool kept = false;      // the candidate became the current model
};

struct AccuracyAwareOptions {
  // DefaultQuantization settings (preset, estimator, ignored scope, threads...). Its progress is not
  // used: `progress` below reports every stage, calibration included.
  QuantizeOptions quantize;
  // The budget: the drop FP32 metric - INT8 metric may be at most max_drop (absolute), or
  // max_drop x FP32 metric (relative, POT's drop_type "relative"). A negative budget can never be
  // met (the loop then returns every group it can and reports the best model found).
  double max_drop = 0.01;
  bool relative_drop = false;
  // Samples of the ranking subset (POT's default 300; at most the evaluation set).
  size_t ranking_subset_size = 300;
  // Groups returned to FP32 at most (kept or undone returns: POT's max_iter_num). 0: no limit.
  int max_iterations = 0;
  // Try the other presets and range estimators before returning groups to FP32.
  bool tune_hyperparams = false;
  // Called with the stage and progress within it ("calibration", "evaluation", "ranking", ...).
  QuantizationProgress progress;
  // Optional: called after each candidate evaluated on the whole evaluation set (progress logs).
  std::function<void(const AccuracyAwareIteration&)> on_iteration;
  // Optional; checked between evaluations. When it returns true the loop stops and returns the best
  // model so far, with a message saying so.
  std::function<bool()> cancelled;
};

struct AccuracyAwareResult {
  Model model;  // the best model found (QDQ)
  double fp32_metric = 0;
  double default_metric = 0;  // DefaultQuantization's
  double metric = 0;          // the returned model's
  double drop = 0;            // fp32_metric - metric
  double budget = 0;          // the absolute drop allowed (max_drop, or max_drop x fp32_metric)
  bool budget_met = false;
  std::vector<std::string> fp32_groups;  // groups returned to FP32, in the order they were returned
  size_t group_count = 0;                // quantized groups of DefaultQuantization
  // The returned model's preset and activation range estimator (tuning may change them), and the
  // same as text: "preset mixed, range estimator quantile".
  QuantizationPreset preset = QuantizationPreset::kPerformance;
  RangeEstimator activation_estimator = RangeEstimator::kPerformance;
  std::string settings;
  std::vector<AccuracyAwareIteration> iterations;  // every evaluated candidate, default first
  double fp32_latency_ms = 0;                      // the FP32 model, measured like the iterations
  double latency_ms = 0;                           // the returned model
  QuantizeSummary summary;                         // of the returned model
  // "budget met: ..." or "budget not met: best drop X with N groups in FP32" (+ why it stopped).
  std::string message;
  double seconds = 0;  // wall time of the whole run, calibration included
  std::string metric_name;
};

// Runs AccuracyAwareQuantization of `model` (FP32) calibrated on `calibration`, measured on
// `eval_set` with `eval_options` (a label metric: top1, top5, ctc-char-accuracy, ctc-line-accuracy,
// text-det-hmean). Throws Error for a reference metric (sqnr, cosine, top1-agreement: no labels to
// keep an accuracy within), an empty evaluation set, a zero ranking subset, bad options or samples
// (as quantize_model and evaluate). Not meeting the budget is not an error: see `message`.
AccuracyAwareResult quantize_accuracy_aware(Model model, const CalibrationData& calibration,
                                            const LabeledDataset& eval_set, const EvalOptions& eval_options,
                                            const AccuracyAwareOptions& options);

// The report (SPEC.md): {metric_name, fp32_metric, default_metric, metric, drop, budget, budget_met,
// message, fp32_groups, group_count, settings, iterations: [{step, kind, group, metric, drop,
// latency_ms, kept}], fp32_latency_ms, latency_ms (the returned model's), seconds}. Non-finite
// numbers become null.
nlohmann::ordered_json accuracy_aware_report_json(const AccuracyAwareResult& result);

}  // namespace octet
