#include "quant/quantize_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "octet/status.h"

namespace octet {
namespace {

using Json = nlohmann::json;

const Json& member_of_type(const Json& object, const char* key, Json::value_t type, const char* type_name,
                           const std::string& source) {
  const Json& value = object.at(key);
  check(value.type() == type || (type == Json::value_t::number_unsigned && value.is_number_integer()), source,
        ": \"", key, "\" must be ", type_name);
  return value;
}

void parse_ignored(const Json& ignored, const std::string& source, QuantizeConfig& config) {
  check(ignored.is_object(), source, ": \"ignored\" must be an object with \"scope\" and/or \"operations\"");
  for (const auto& [key, value] : ignored.items()) {
    if (key == "scope") {
      check(value.is_array(), source, ": \"ignored.scope\" must be a list of node names");
      for (const Json& name : value) {
        check(name.is_string(), source, ": \"ignored.scope\" entries must be strings");
        config.ignored.insert(name.get<std::string>());
      }
    } else if (key == "operations") {
      check(value.is_array(), source, ": \"ignored.operations\" must be a list of {\"type\": OP}");
      for (const Json& operation : value) {
        check(operation.is_object() && operation.contains("type") && operation["type"].is_string(), source,
              ": \"ignored.operations\" entries must be {\"type\": \"OpType\"}");
        config.ignored.insert(operation["type"].get<std::string>());
      }
    } else {
      throw Error(concat(source, ": unknown key \"ignored.", key, "\" (expected scope, operations)"));
    }
  }
}

RangeEstimator parse_estimator(const Json& value, const std::string& source) {
  if (value.is_string()) return parse_range_estimator(value.get<std::string>());
  check(value.is_object() && value.contains("preset") && value["preset"].is_string() && value.size() == 1, source,
        ": \"range_estimator\" must be {\"preset\": \"default\" | \"quantile\"} or an estimator name");
  const std::string preset = value["preset"].get<std::string>();
  if (preset == "quantile") return RangeEstimator::kQuantile;
  check(preset == "default", source, ": unknown range_estimator preset \"", preset, "\" (expected default, quantile)");
  return RangeEstimator::kPerformance;  // replaced by the preset's default below
}

// Parses one AccuracyAwareQuantization key; false for other keys.
bool parse_accuracy_aware_param(const Json& params, const std::string& key, const std::string& source,
                                QuantizeConfig& config) {
  const auto positive = [&](const char* name) {
    const int64_t value =
        member_of_type(params, name, Json::value_t::number_unsigned, "a positive integer", source).get<int64_t>();
    check(value > 0, source, ": \"", name, "\" must be positive, got ", value);
    return value;
  };
  if (key == "maximal_drop") {
    const Json& value = params.at(key);
    check(value.is_number(), source, ": \"maximal_drop\" must be a number");
    config.max_drop = value.get<double>();
  } else if (key == "drop_type") {
    const std::string type = member_of_type(params, "drop_type", Json::value_t::string, "a string", source);
    check(type == "absolute" || type == "relative", source, ": drop_type \"", type,
          "\" is not supported (expected absolute or relative)");
    config.relative_drop = type == "relative";
  } else if (key == "ranking_subset_size") {
    config.ranking_subset_size = positive("ranking_subset_size");
  } else if (key == "max_iter_num") {
    config.max_iterations = positive("max_iter_num");
  } else if (key == "tune_hyperparams") {
    config.tune_hyperparams =
        member_of_type(params, "tune_hyperparams", Json::value_t::boolean, "true or false", source).get<bool>();
  } else {
    return false;
  }
  return true;
}

bool has_accuracy_aware_params(const QuantizeConfig& config) {
  return config.max_drop || config.relative_drop || config.ranking_subset_size || config.max_iterations ||
         config.tune_hyperparams;
}

void parse_params(const Json& params, const std::string& source, QuantizeConfig& config) {
  check(params.is_object(), source, ": algorithm params must be a JSON object");
  bool default_estimator = false;
  for (const auto& [key, value] : params.items()) {
    try {
      if (parse_accuracy_aware_param(params, key, source, config)) continue;
      if (key == "preset") {
        config.preset = parse_preset(member_of_type(params, "preset", Json::value_t::string, "a string", source));
      } else if (key == "stat_subset_size") {
        const int64_t size = member_of_type(params, "stat_subset_size", Json::value_t::number_unsigned,
                                            "a positive integer", source).get<int64_t>();
        check(size > 0, source, ": \"stat_subset_size\" must be positive, got ", size);
        config.subset_size = size;
      } else if (key == "target_device") {
        const std::string device = member_of_type(params, "target_device", Json::value_t::string, "a string", source);
        check(device == "CPU" || device == "ANY", source, ": target_device \"", device,
              "\" is not supported (octet targets CPU)");
      } else if (key == "ignored") {
        parse_ignored(value, source, config);
      } else if (key == "range_estimator") {
        config.activation_estimator = parse_estimator(value, source);
        default_estimator = value.is_object() && value["preset"] == "default";
      } else if (key == "use_fast_bias") {
        config.fast_bias_correction =
            member_of_type(params, "use_fast_bias", Json::value_t::boolean, "true or false", source).get<bool>();
      } else if (key == "model_type") {
        const std::string type = member_of_type(params, "model_type", Json::value_t::string, "a string", source);
        check(type == "transformer", source, ": model_type \"", type, "\" is not supported (expected transformer)");
        config.model_type = type;
      } else {
        throw Error(concat(source, ": unknown key \"", key, "\" in algorithm params (expected preset, "
                           "stat_subset_size, target_device, ignored, range_estimator, use_fast_bias, model_type; "
                           "AccuracyAwareQuantization also maximal_drop, drop_type, ranking_subset_size, "
                           "max_iter_num, tune_hyperparams)"));
      }
    } catch (const Error& error) {
      if (std::string(error.what()).starts_with(source)) throw;
      throw Error(concat(source, ": \"", key, "\": ", error.what()));
    }
  }
  if (default_estimator) config.activation_estimator.reset();
}

void parse_algorithm(const Json& algorithm, const std::string& source, QuantizeConfig& config) {
  bool named = false;
  for (const auto& [key, value] : algorithm.items()) {
    if (key == "name") {
      check(value.is_string(), source, ": algorithm \"name\" must be a string");
      config.algorithm = value.get<std::string>();
      check(config.algorithm == kDefaultQuantizationName || config.algorithm == kAccuracyAwareQuantizationName,
            source, ": algorithm \"", config.algorithm, "\" is not supported here (expected ", kDefaultQuantizationName,
            " or ", kAccuracyAwareQuantizationName, ")");
      named = true;
    } else if (key == "params") {
      parse_params(value, source, config);
    } else {
      throw Error(concat(source, ": unknown key \"", key, "\" in the algorithm entry (expected name, params)"));
    }
  }
  check(!named || config.algorithm == kAccuracyAwareQuantizationName || !has_accuracy_aware_params(config), source,
        ": maximal_drop, drop_type, ranking_subset_size, max_iter_num and tune_hyperparams are "
        "AccuracyAwareQuantization parameters, but the algorithm is ", config.algorithm);
  if (!named && has_accuracy_aware_params(config)) config.algorithm = kAccuracyAwareQuantizationName;
}

}  // namespace

QuantizeConfig parse_quantize_config(const std::string& text, const std::string& source) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& error) {
    throw Error(concat(source, ": not valid JSON: ", error.what()));
  }
  check(root.is_object(), source, ": the configuration must be a JSON object");
  QuantizeConfig config;
  if (root.contains("compression")) {
    const Json& compression = root["compression"];
    check(compression.is_object() && compression.contains("algorithms") && compression["algorithms"].is_array() &&
              compression["algorithms"].size() == 1,
          source, ": \"compression.algorithms\" must be a list with one algorithm");
    parse_algorithm(compression["algorithms"][0], source, config);
  } else if (root.contains("name") || root.contains("params")) {
    parse_algorithm(root, source, config);
  } else {
    parse_params(root, source, config);
    if (has_accuracy_aware_params(config)) config.algorithm = kAccuracyAwareQuantizationName;
  }
  return config;
}

QuantizeConfig load_quantize_config(const std::string& path) {
  std::ifstream file(path);
  check(file.good(), "cannot read configuration file '", path, "'");
  std::stringstream text;
  text << file.rdbuf();
  return parse_quantize_config(text.str(), path);
}

}  // namespace octet
