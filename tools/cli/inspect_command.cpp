// `octet inspect MODEL [--json] [--shape NAME=DIMS ...]`: what a model contains and costs.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "onnx/onnx_io.h"
#include "runtime/model_stats.h"

namespace octet::cli {
namespace {

std::string domain_name(const std::string& domain) { return domain.empty() ? "ai.onnx" : domain; }

// Dimensions as JSON: numbers when known, the symbol ("batch") when symbolic, null otherwise.
nlohmann::ordered_json dims_json(const ValueInfo& value) {
  if (!value.has_shape) return nullptr;
  nlohmann::ordered_json dims = nlohmann::ordered_json::array();
  for (const Dimension& dim : value.dims) {
    if (dim.is_known()) {
      dims.push_back(dim.value);
    } else if (!dim.symbol.empty()) {
      dims.push_back(dim.symbol);
    } else {
      dims.push_back(nullptr);
    }
  }
  return dims;
}

nlohmann::ordered_json values_json(const std::vector<ValueInfo>& values) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ValueInfo& value : values)
    list.push_back({{"name", value.name}, {"dtype", dtype_name(value.dtype)}, {"shape", dims_json(value)},
                    {"shape_string", value.shape_string()}});
  return list;
}

nlohmann::ordered_json stats_json(const std::string& path, const Model& model, const ModelStats& stats) {
  nlohmann::ordered_json json;
  json["model"] = path;
  json["ir_version"] = model.ir_version;
  json["producer"] = model.producer_name + (model.producer_version.empty() ? "" : " " + model.producer_version);
  nlohmann::ordered_json opsets = nlohmann::ordered_json::object();
  for (const auto& [domain, version] : stats.opset_imports) opsets[domain_name(domain)] = version;
  json["opset_imports"] = opsets;
  json["inputs"] = values_json(stats.inputs);
  json["outputs"] = values_json(stats.outputs);
  json["node_count"] = stats.node_count;
  json["op_histogram"] = stats.op_histogram;
  json["parameters"] = {{"initializers", stats.initializer_count},
                        {"constant_nodes", stats.constant_node_count},
                        {"count", stats.parameter_count},
                        {"bytes", stats.parameter_bytes}};

  nlohmann::ordered_json macs;
  nlohmann::ordered_json input_shapes = nlohmann::ordered_json::object();
  for (const auto& [name, shape] : stats.mac_input_shapes) input_shapes[name] = shape;
  macs["input_shapes"] = input_shapes;
  macs["complete"] = stats.macs_complete;
  macs["total"] = stats.total_macs;
  macs["by_op"] = stats.macs_by_op;
  macs["shape_source"] = stats.shape_source;
  macs["note"] = stats.macs_note;
  nlohmann::ordered_json per_node = nlohmann::ordered_json::array();
  for (const NodeMacs& node : stats.node_macs)
    per_node.push_back({{"node", node.node_name}, {"op_type", node.op_type}, {"macs", node.macs}});
  macs["nodes"] = per_node;
  json["macs"] = macs;
  if (stats.peak_activation_bytes >= 0) json["peak_activation_bytes"] = stats.peak_activation_bytes;

  nlohmann::ordered_json quantizable = nlohmann::ordered_json::array();
  for (const QuantizableNode& node : stats.quantizable_nodes)
    quantizable.push_back({{"node", node.node_name}, {"op_type", node.op_type}, {"weight", node.weight_name}});
  json["quantizable_nodes"] = quantizable;
  nlohmann::ordered_json unsupported = nlohmann::ordered_json::array();
  for (const UnsupportedOp& op : stats.unsupported_ops)
    unsupported.push_back({{"domain", domain_name(op.domain)}, {"op_type", op.op_type}, {"nodes", op.node_names},
                           {"reason", op.reason}});
  json["unsupported_ops"] = unsupported;
  json["implementations"] = stats.implementation_histogram;
  return json;
}

// A list of names on one line, shortened after `limit` entries.
std::string name_list(const std::vector<std::string>& names, size_t limit) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < limit; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > limit) text += concat(", ... (", names.size() - limit, " more)");
  return text;
}

// "25530472 (25.53 M)"; small counts plainly.
std::string count_with_si(int64_t count) {
  const std::string short_form = format_count(count);
  return short_form == std::to_string(count) ? short_form : concat(count, " (", short_form, ")");
}

constexpr size_t kNamesShown = 8;  // keeps the text report readable for models with many nodes

void print_text(const std::string& path, const Model& model, const ModelStats& stats) {
  std::ostream& out = std::cout;
  out << "model: " << path << " (IR version " << model.ir_version;
  if (!model.producer_name.empty()) {
    out << ", produced by " << model.producer_name;
    if (!model.producer_version.empty()) out << " " << model.producer_version;
  }
  out << ")\n";
  out << "opset imports:";
  for (const auto& [domain, version] : stats.opset_imports) out << " " << domain_name(domain) << " " << version;
  out << "\n";
  out << "inputs:\n";
  for (const ValueInfo& value : stats.inputs)
    out << "  " << value.name << "  " << dtype_name(value.dtype) << "  " << value.shape_string() << "\n";
  out << "outputs:\n";
  for (const ValueInfo& value : stats.outputs)
    out << "  " << value.name << "  " << dtype_name(value.dtype) << "  " << value.shape_string() << "\n";
  out << "parameters: " << count_with_si(stats.parameter_count) << " in " << stats.initializer_count << " initializers";
  if (stats.constant_node_count > 0) out << " and " << stats.constant_node_count << " Constant nodes";
  out << ", " << format_bytes(stats.parameter_bytes) << "\n";

  // Most frequent ops first.
  std::vector<std::pair<std::string, int64_t>> ops(stats.op_histogram.begin(), stats.op_histogram.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  out << "ops (" << stats.node_count << " nodes):";
  for (const auto& [op, count] : ops) out << " " << op << " " << count << (op == ops.back().first ? "" : ",");
  out << "\n";

  out << "MACs: ";
  if (stats.macs_complete) {
    out << count_with_si(stats.total_macs);
  } else {
    out << "incomplete: " << count_with_si(stats.total_macs) << " counted on " << stats.node_macs.size() << " nodes";
  }
  if (!stats.mac_input_shapes.empty()) out << " at " << format_shapes(stats.mac_input_shapes);
  if (!stats.shape_source.empty()) out << " (shapes from " << stats.shape_source << ")";
  out << "\n";
  for (const auto& [op, macs] : stats.macs_by_op) out << "  " << op << ": " << format_count(macs) << "\n";
  if (!stats.macs_note.empty()) out << "  note: " << stats.macs_note << "\n";
  if (stats.peak_activation_bytes >= 0)
    out << "peak activation memory: " << format_bytes(stats.peak_activation_bytes) << " (one optimized inference at those shapes)\n";

  std::vector<std::string> quantizable;
  for (const QuantizableNode& node : stats.quantizable_nodes) quantizable.push_back(node.node_name);
  out << "quantizable nodes: " << quantizable.size();
  if (!quantizable.empty()) out << " (" << name_list(quantizable, kNamesShown) << ")";
  out << "\n";

  out << "kernels:";
  for (const auto& [implementation, count] : stats.implementation_histogram)
    out << " " << implementation << " " << count;
  out << "\n";
  if (stats.unsupported_ops.empty()) {
    out << "unsupported ops: none\n";
  } else {
    out << "unsupported ops: " << stats.unsupported_ops.size() << " (the model cannot run)\n";
    for (const UnsupportedOp& op : stats.unsupported_ops) {
      out << "  " << (op.domain.empty() ? "" : op.domain + ".") << op.op_type << " on " << op.node_names.size()
          << " node(s): " << name_list(op.node_names, kNamesShown) << "\n    " << op.reason << "\n";
    }
  }
}

class InspectCommand : public Command {
 public:
  explicit InspectCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("inspect", "Show a model's inputs, outputs, ops, parameters, MACs, "
                                            "quantizable nodes and unsupported ops");
    app_->add_option("model", model_path_, "ONNX model file")->required();
    app_->add_flag("--json", json_, "Print one JSON object instead of text");
    app_->add_option("--shape", shape_values_,
                     "Input shape for the MAC count, NAME=1x3x224x224 (repeatable; needed for dynamic dims)")
        ->allow_extra_args(false);
    app_->add_option("--threads", threads_, "Threads for the shape-recording run (default: all cores)")
        ->check(positive_integer());
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    ModelStatsOptions options;
    options.input_shapes = parse_shape_options(shape_values_);
    options.threads = threads_;
    const Model model = with_file_context(model_path_, [&] { return load_model(model_path_); });
    const ModelStats stats = with_file_context(model_path_, [&] { return compute_model_stats(model, options); });
    if (json_) {
      std::cout << stats_json(model_path_, model, stats).dump(2) << "\n";
    } else {
      print_text(model_path_, model, stats);
    }
    return kExitSuccess;
  }

 private:
  CLI::App* app_ = nullptr;
  std::string model_path_;
  bool json_ = false;
  std::vector<std::string> shape_values_;
  int threads_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_inspect_command(CLI::App& parent) { return std::make_unique<InspectCommand>(parent); }

}  // namespace octet::cli
