// Calibration: a folder of input samples, and one pass of the model over them that feeds the
// statistics of the values to be quantized.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "eval/preprocess.h"
#include "ir/graph.h"
#include "octet/tensor.h"
#include "quant/tensor_statistics.h"
#include "runtime/session.h"

namespace octet {

// POT's stat_subset_size default: enough samples for stable ranges, few enough to stay quick.
inline constexpr int64_t kDefaultCalibrationSubsetSize = 300;

// The `.npy` files of a directory, one sample each, in sorted file-name order (deterministic across
// file systems), limited to the first `subset_size`. Files are loaded one at a time on request:
// the reader never holds more than the sample being returned.
class CalibrationData {
 public:
  // Lists the directory. Throws Error naming it when it is missing or holds no .npy file, or when
  // subset_size <= 0.
  explicit CalibrationData(const std::string& directory, int64_t subset_size = kDefaultCalibrationSubsetSize);
  // Image samples (.png/.jpg/.bmp) turned into tensors by `preprocess` (eval/preprocess.h syntax,
  // e.g. "ppocr-rec"). Throws Error naming the directory or the bad spec item.
  CalibrationData(const std::string& directory, int64_t subset_size, const std::string& preprocess);

  const std::string& directory() const { return directory_; }
  // Full paths of the selected files, sorted.
  const std::vector<std::string>& files() const { return files_; }
  size_t size() const { return files_.size(); }
  // The same data limited to its first `count` samples (at least 1).
  CalibrationData first(size_t count) const {
    CalibrationData subset = *this;
    subset.files_.resize(std::clamp<size_t>(count, 1, files_.size()));
    return subset;
  }

  // Loads sample `index` as a value for the model input `input`. Throws Error naming the file when
  // it cannot be read, contains NaN or Inf, or does not match the input's type, rank or known
  // dimensions (expected vs got). A file without the batch dimension (rank one less, input's first
  // dimension 1 or symbolic) gets a leading 1.
  Tensor load(size_t index, const ValueInfo& input) const;

 private:
  std::string directory_;
  std::vector<std::string> files_;
  std::shared_ptr<const PreprocessSpec> preprocess_;  // null for .npy samples
};

// Called after each sample with the number done and the total.
using CalibrationProgress = std::function<void(size_t done, size_t total)>;

struct CalibrationOptions {
  // Session settings (threads, implementation). optimize is forced off and node_observer is
  // replaced: the statistics must see every value of the original graph under its ONNX name.
  SessionOptions session;
  int64_t histogram_bins = TensorStatistics::kDefaultBinCount;
  CalibrationProgress progress;  // optional
};

// What one calibration pass collects.
struct CalibrationRequest {
  // Values (node outputs or the graph input) to collect TensorStatistics for.
  std::set<std::string> values;
  // Values to collect per-channel means for, with their channel axis (of the logical shape; negative
  // counts from the end): FastBiasCorrection's input means.
  std::map<std::string, int64_t> channel_mean_axes;
};

struct CalibrationResult {
  std::map<std::string, TensorStatistics> statistics;
  // Mean over samples and positions, one entry per channel.
  std::map<std::string, std::vector<double>> channel_means;
};

// Runs the model once over `data` and collects what `request` asks for (errors as collect_statistics).
CalibrationResult calibrate(Model model, const CalibrationData& data, const CalibrationRequest& request,
                            const CalibrationOptions& options = {});

// Runs the model on every sample of `data` and returns the statistics of each value in
// `value_names` (node outputs or the graph input), keyed by name. Single-input models only.
// Throws Error for an unknown value name, an initializer (use TensorStatistics::per_channel_min_max),
// a model with several inputs, bad samples (naming the file), or a value that is not float or
// contains NaN/Inf (naming the value and the file).
std::map<std::string, TensorStatistics> collect_statistics(Model model, const CalibrationData& data,
                                                          const std::set<std::string>& value_names,
                                                          const CalibrationOptions& options = {});
// Same, loading the model from a file.
std::map<std::string, TensorStatistics> collect_statistics(const std::string& model_path, const CalibrationData& data,
                                                          const std::set<std::string>& value_names,
                                                          const CalibrationOptions& options = {});

}  // namespace octet
