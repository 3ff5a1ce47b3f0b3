#include "pot_config.h"

#include <set>

namespace octet::workbench {

namespace {

// Single-quotes an argument for a POSIX shell when it needs it.
std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789_-./=:,+@%") == std::string::npos;
  if (plain) return word;
  std::string quoted = "'";
  for (const char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

Json default_quantization_config(const QuantizeOptions& options, int64_t subset_size, const Model& model) {
  std::set<std::string> node_names;
  std::set<std::string> op_types;
  for (const Node& node : model.graph.nodes) {
    node_names.insert(node.name);
    op_types.insert(node.op_type);
  }
  // Either list feeds the same ignored set; the split only makes the file read as POT's do. Names
  // the quantizer gives to unnamed nodes (accuracy-aware groups) are not in the file: scope too.
  Json scope = Json::array();
  Json operations = Json::array();
  for (const std::string& entry : options.ignored) {
    if (op_types.count(entry) && !node_names.count(entry)) {
      operations.push_back({{"type", entry}});
    } else {
      scope.push_back(entry);
    }
  }
  Json params = {{"target_device", "CPU"},
                 {"preset", preset_name(options.preset)},
                 {"stat_subset_size", subset_size}};
  if (!options.ignored.empty()) {
    Json ignored = Json::object();
    if (!scope.empty()) ignored["scope"] = scope;
    if (!operations.empty()) ignored["operations"] = operations;
    params["ignored"] = ignored;
  }
  if (options.activation_estimator) params["range_estimator"] = range_estimator_name(*options.activation_estimator);
  params["use_fast_bias"] = options.fast_bias_correction;
  if (!options.model_type.empty()) params["model_type"] = options.model_type;
  return {{"compression", {{"algorithms", Json::array({{{"name", "DefaultQuantization"}, {"params", params}}})}}}};
}

std::string quantize_command_line(const std::string& model_path, const std::string& data_dir,
                                  const std::string& preprocess, const std::string& config_file) {
  std::string command = "octet quantize " + shell_word(model_path) + " -o int8.onnx --data " + shell_word(data_dir);
  if (!preprocess.empty()) command += " --preprocess " + shell_word(preprocess);
  return command + " --config " + shell_word(config_file);
}

}  // namespace octet::workbench
