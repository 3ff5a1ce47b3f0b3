// POT-style configuration files for `octet quantize --config FILE.json` (and the workbench's export).
//
// Accepted forms: a POT configuration ({"compression": {"algorithms": [{"name":
// "DefaultQuantization", "params": {...}}]}}), an algorithm entry ({"name": ..., "params": {...}}),
// or the params object itself. Params use POT's names:
//   preset             "performance" | "mixed"
//   stat_subset_size   positive integer
//   target_device      "CPU" | "ANY" (octet's pattern table targets x86 CPUs)
//   ignored            {"scope": [node names], "operations": [{"type": "Add"}, ...]}
//   range_estimator    {"preset": "default" | "quantile"} or octet's estimator name
//                      ("min_max", "mean_min_max", "performance", "quantile", "mse")
//   use_fast_bias      true | false
//   model_type         "transformer" (SmoothQuant for MatMul inputs) or absent
// AccuracyAwareQuantization (algorithm name "AccuracyAwareQuantization", or these keys in a bare
// params object) also takes POT's:
//   maximal_drop        number (the budget; see accuracy_aware.h)
//   drop_type           "absolute" | "relative"
//   ranking_subset_size positive integer
//   max_iter_num        positive integer
//   tune_hyperparams    true | false
// An unknown key is an error naming it: a misspelled option must not be silently ignored, nor an
// AccuracyAwareQuantization key in a configuration naming DefaultQuantization.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "quant/quantize.h"

namespace octet {

inline constexpr const char* kDefaultQuantizationName = "DefaultQuantization";
inline constexpr const char* kAccuracyAwareQuantizationName = "AccuracyAwareQuantization";

struct QuantizeConfig {
  // kDefaultQuantizationName or kAccuracyAwareQuantizationName.
  std::string algorithm = kDefaultQuantizationName;
  std::optional<QuantizationPreset> preset;
  std::optional<int64_t> subset_size;
  std::set<std::string> ignored;
  std::optional<RangeEstimator> activation_estimator;
  std::optional<bool> fast_bias_correction;
  std::string model_type;
  // AccuracyAwareQuantization parameters (set only for that algorithm).
  std::optional<double> max_drop;
  std::optional<bool> relative_drop;
  std::optional<int64_t> ranking_subset_size;
  std::optional<int64_t> max_iterations;
  std::optional<bool> tune_hyperparams;
};

// Parses a configuration file. Throws Error naming the file and the offending key or value.
QuantizeConfig load_quantize_config(const std::string& path);
// Same from JSON text; `source` names it in errors.
QuantizeConfig parse_quantize_config(const std::string& text, const std::string& source);

}  // namespace octet
