// The POT-style JSON configuration of a quantization the workbench ran, in the form
// `octet quantize --config FILE` reads (quant/quantize_config.h): exporting it and re-running
//   octet quantize MODEL -o OUT.onnx --data DIR [--preprocess SPEC] --config FILE
// on the same model and data reproduces the workbench's INT8 model byte for byte.
#pragma once

#include <cstdint>
#include <string>

#include "database.h"
#include "ir/graph.h"
#include "quant/quantize.h"

namespace octet::workbench {

// {"compression": {"algorithms": [{"name": "DefaultQuantization", "params": {...}}]}} with every
// option the workbench sets written out (preset, stat_subset_size, target_device, ignored,
// range_estimator when set, use_fast_bias, model_type when set). Ignored entries that are op types
// of `model` (and no node's name) go to "operations", the others (node names) to "scope".
Json default_quantization_config(const QuantizeOptions& options, int64_t subset_size, const Model& model);

// The command line that re-runs a configuration, for the report and the job result.
std::string quantize_command_line(const std::string& model_path, const std::string& data_dir,
                                  const std::string& preprocess, const std::string& config_file);

}  // namespace octet::workbench
