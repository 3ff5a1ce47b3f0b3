#include "quant/calibration.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/layout.h"
#include "core/npy.h"
#include "onnx/onnx_io.h"
#include "octet/status.h"

namespace octet {
namespace {

constexpr const char* kSampleExtension = ".npy";

// Updates `statistics` with `tensor`, naming the value and the sample file on failure.
void observe(TensorStatistics& statistics, const Tensor& tensor, const std::string& value_name,
             const std::string& file) {
  try {
    statistics.update(tensor);
  } catch (const Error& error) {
    throw Error(concat("value '", value_name, "' on sample ", file, ": ", error.what()));
  }
}

// Streamed per-channel sums of one value (plain layout), in double.
class ChannelMeans {
 public:
  explicit ChannelMeans(int64_t axis) : axis_(axis) {}

  void update(const Tensor& tensor, const std::string& value_name, const std::string& file) {
    check(tensor.dtype() == DataType::kFloat, "value '", value_name, "' on sample ", file, ": channel means need float data");
    const int64_t axis = axis_ < 0 ? axis_ + tensor.rank() : axis_;
    check(axis >= 0 && axis < tensor.rank(), "value '", value_name, "' on sample ", file, ": channel axis ", axis_,
          " out of range for shape ", shape_to_string(tensor.shape()));
    const int64_t channels = tensor.dim(axis);
    if (sums_.empty()) sums_.assign(static_cast<size_t>(channels), 0.0);
    check(static_cast<int64_t>(sums_.size()) == channels, "value '", value_name, "' on sample ", file, ": ",
          channels, " channels, earlier samples had ", sums_.size());
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < tensor.rank(); ++d) inner *= tensor.dim(d);
    const float* values = tensor.data<float>();
    const int64_t count = tensor.element_count();
    for (int64_t start = 0; start < count; start += inner) {
      const size_t channel = static_cast<size_t>((start / inner) % channels);
      double sum = 0.0;
      for (int64_t i = 0; i < inner; ++i) sum += values[start + i];
      sums_[channel] += sum;
    }
    positions_ += count / channels;
  }

  std::vector<double> means() const {
    std::vector<double> result(sums_.size());
    for (size_t c = 0; c < sums_.size(); ++c) result[c] = positions_ ? sums_[c] / static_cast<double>(positions_) : 0.0;
    return result;
  }

 private:
  int64_t axis_;
  std::vector<double> sums_;
  int64_t positions_ = 0;
};

}  // namespace

CalibrationData::CalibrationData(const std::string& directory, int64_t subset_size) : directory_(directory) {
  namespace fs = std::filesystem;
  check(subset_size > 0, "calibration subset size must be positive, got ", subset_size);
  std::error_code status;
  check(fs::is_directory(directory, status), "calibration directory '", directory, "' does not exist");
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, status)) {
    if (entry.is_regular_file() && entry.path().extension() == kSampleExtension)
      files_.push_back(entry.path().string());
  }
  check(!status, "cannot list calibration directory '", directory, "': ", status.message());
  check(!files_.empty(), "calibration directory '", directory, "' holds no ", kSampleExtension, " files");
  std::sort(files_.begin(), files_.end());
  if (static_cast<int64_t>(files_.size()) > subset_size) files_.resize(static_cast<size_t>(subset_size));
}

CalibrationData::CalibrationData(const std::string& directory, int64_t subset_size, const std::string& preprocess)
    : directory_(directory) {
  check(subset_size > 0, "calibration subset size must be positive, got ", subset_size);
  preprocess_ = std::make_shared<const PreprocessSpec>(parse_preprocess_spec(preprocess));
  files_ = list_sample_files(directory, SampleFormat::kImage);
  check(!files_.empty(), "calibration directory '", directory, "' holds no images");
  if (static_cast<int64_t>(files_.size()) > subset_size) files_.resize(static_cast<size_t>(subset_size));
}

Tensor CalibrationData::load(size_t index, const ValueInfo& input) const {
  check(index < files_.size(), "calibration sample ", index, " is out of range (", files_.size(), " samples)");
  const std::string& file = files_[index];
  if (input.dtype != DataType::kFloat) {
    throw UnsupportedError(concat("calibration supports float inputs only; input '", input.name, "' is ",
                                  dtype_name(input.dtype)));
  }
  Tensor tensor = preprocess_ ? load_image_sample(file, *preprocess_) : load_npy(file);
  check(tensor.dtype() == DataType::kFloat, file, ": expected float data for input '", input.name, "', got ",
        dtype_name(tensor.dtype()));
  if (input.has_shape) {
    const auto expected_rank = static_cast<int64_t>(input.dims.size());
    const bool batch_omitted = tensor.rank() + 1 == expected_rank &&
                               (!input.dims[0].is_known() || input.dims[0].value == 1);
    if (batch_omitted) {
      Shape with_batch = tensor.shape();
      with_batch.insert(with_batch.begin(), 1);
      tensor.reshape(std::move(with_batch));
    }
    bool matches = tensor.rank() == expected_rank;
    for (int64_t d = 0; matches && d < expected_rank; ++d) {
      const Dimension& dim = input.dims[static_cast<size_t>(d)];
      matches = !dim.is_known() || dim.value == tensor.dim(d);
    }
    check(matches, file, ": shape ", shape_to_string(tensor.shape()), " does not match input '", input.name,
          "' (expected ", input.shape_string(), ")");
  }
  const float* values = tensor.data<float>();
  for (int64_t i = 0; i < tensor.element_count(); ++i) {
    check(std::isfinite(values[i]), file, ": element ", i, " is ", values[i], " (calibration data must be finite)");
  }
  return tensor;
}

CalibrationResult calibrate(Model model, const CalibrationData& data, const CalibrationRequest& request,
                            const CalibrationOptions& options) {
  const Graph& graph = model.graph;
  if (graph.inputs.size() != 1) {
    throw UnsupportedError(concat("calibration supports single-input models only; this model has ",
                                  graph.inputs.size(), " inputs"));
  }
  const ValueInfo input = graph.inputs[0];
  std::set<std::string> node_outputs;
  for (const Node& node : graph.nodes) node_outputs.insert(node.outputs.begin(), node.outputs.end());
  auto check_value = [&](const std::string& name) {
    check(!graph.find_initializer(name), "value '", name,
          "' is an initializer: use per-channel statistics for constants");
    check(name == input.name || node_outputs.count(name), "value '", name, "' is not produced by the model");
  };
  CalibrationResult result;
  for (const std::string& name : request.values) {
    check_value(name);
    result.statistics.try_emplace(name, options.histogram_bins);
  }
  std::map<std::string, ChannelMeans> channel_means;
  for (const auto& [name, axis] : request.channel_mean_axes) {
    check_value(name);
    channel_means.try_emplace(name, axis);
  }

  std::string current_file;
  ThreadPool layout_threads(1);
  auto observe_value = [&](const std::string& name, const Tensor& tensor) {
    const auto statistics = result.statistics.find(name);
    if (statistics != result.statistics.end()) observe(statistics->second, tensor, name, current_file);
    const auto means = channel_means.find(name);
    if (means != channel_means.end()) {
      if (tensor.layout() == Layout::kChannelsLast) {
        means->second.update(to_plain(tensor, layout_threads), name, current_file);
      } else {
        means->second.update(tensor, name, current_file);
      }
    }
  };
  SessionOptions session_options = options.session;
  // Unoptimized, so that every original value exists under its ONNX name (no fused-away values).
  session_options.optimize = false;
  session_options.node_observer = [&](const Node& node, std::span<const Tensor* const>,
                                      std::span<const Tensor> outputs) {
    for (size_t o = 0; o < node.outputs.size() && o < outputs.size(); ++o) observe_value(node.outputs[o], outputs[o]);
  };
  Session session(std::move(model), session_options);

  for (size_t index = 0; index < data.size(); ++index) {
    current_file = data.files()[index];
    Tensor sample = data.load(index, input);
    observe_value(input.name, sample);
    try {
      session.run({{input.name, &sample}});
    } catch (const UnsupportedError& error) {
      throw UnsupportedError(concat("sample ", current_file, ": ", error.what()));
    } catch (const Error& error) {
      const std::string message = error.what();
      // Observer errors already name the sample.
      if (message.find(current_file) != std::string::npos) throw;
      throw Error(concat("sample ", current_file, ": ", message));
    }
    if (options.progress) options.progress(index + 1, data.size());
  }
  for (const auto& [name, value_statistics] : result.statistics) {
    check(value_statistics.sample_count() == static_cast<int64_t>(data.size()), "value '", name,
          "' was not computed on every sample (", value_statistics.sample_count(), " of ", data.size(), ")");
  }
  for (auto& [name, means] : channel_means) result.channel_means[name] = means.means();
  return result;
}

std::map<std::string, TensorStatistics> collect_statistics(Model model, const CalibrationData& data,
                                                          const std::set<std::string>& value_names,
                                                          const CalibrationOptions& options) {
  CalibrationRequest request;
  request.values = value_names;
  return calibrate(std::move(model), data, request, options).statistics;
}

std::map<std::string, TensorStatistics> collect_statistics(const std::string& model_path, const CalibrationData& data,
                                                          const std::set<std::string>& value_names,
                                                          const CalibrationOptions& options) {
  Model model = load_model(model_path);
  try {
    return collect_statistics(std::move(model), data, value_names, options);
  } catch (const UnsupportedError& error) {
    throw UnsupportedError(concat(model_path, ": ", error.what()));
  } catch (const Error& error) {
    throw Error(concat(model_path, ": ", error.what()));
  }
}

}  // namespace octet
