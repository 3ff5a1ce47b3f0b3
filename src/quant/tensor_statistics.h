// Streamed statistics of one tensor (an activation) over calibration samples, and the range
// estimators DefaultQuantization picks a quantization range from.
//
// Memory is constant: running min/max, per-sample sums and a fixed-size histogram; the tensors
// themselves are never kept (ONNX Runtime's histogram calibrators keep them and run out of memory
// on large models). Each update() is one sample, as in POT.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "octet/tensor.h"
#include "quant/range_math.h"

namespace octet {

// How a quantization range is chosen from the statistics (POT's names in parentheses).
enum class RangeEstimator {
  kMinMax,      // global min and max over all samples
  kMeanMinMax,  // mean of per-sample min, mean of per-sample max (POT "mixed"/asymmetric default)
  kPerformance, // symmetric: threshold = mean of per-sample abs-max (POT "performance" default)
  kQuantile,    // histogram quantiles outlier_probability and 1 - outlier_probability
  kMse,         // clipping range minimizing the quantization error over the histogram
};

std::string range_estimator_name(RangeEstimator estimator);

struct FloatRange {
  float min = 0.0f;
  float max = 0.0f;
};

struct RangeEstimatorOptions {
  // kQuantile: fraction of values allowed outside the range at each end (POT's default).
  double outlier_probability = 1e-4;
  // kMse: the type and mode the range is searched for (the error depends on the integer grid).
  // Symmetric uint8 needs non-negative data, as in compute_quantization_parameters.
  QuantizedType type = QuantizedType::kUint8;
  RangeMode mode = RangeMode::kAsymmetric;
};

class TensorStatistics {
 public:
  // Enough resolution that a bin is far narrower than one uint8 step of any range derived from it.
  static constexpr int64_t kDefaultBinCount = 2048;

  explicit TensorStatistics(int64_t bin_count = kDefaultBinCount);

  // Adds one sample. Float tensors only, any layout (per-tensor statistics ignore element order).
  // Throws Error on an empty tensor, another dtype, or a NaN/Inf element.
  void update(const Tensor& tensor);

  int64_t sample_count() const { return sample_count_; }
  int64_t element_count() const { return element_count_; }
  float min() const { return min_; }
  float max() const { return max_; }
  double mean_sample_min() const;
  double mean_sample_max() const;
  double mean_sample_abs_max() const;

  // Histogram over [histogram_low(), histogram_low() + bin_count * bin_width()); counts per bin.
  const std::vector<double>& histogram() const { return histogram_; }
  int64_t bin_count() const { return static_cast<int64_t>(histogram_.size()); }
  double histogram_low() const { return histogram_low_; }
  double bin_width() const { return bin_width_; }

  // The range an estimator picks. Throws Error before the first update.
  // kPerformance returns [-t, t] for signed data and [0, t] for non-negative data (t = mean
  // per-sample abs-max): POT uses the min only to choose between signed and unsigned, so the range
  // is returned already in the form the symmetric mapping of compute_quantization_parameters takes.
  FloatRange range(RangeEstimator estimator, const RangeEstimatorOptions& options = {}) const;

  // The value below which `probability` of all observed values lie, interpolated within a bin.
  double histogram_quantile(double probability) const;
  // Expected squared quantization error per value of the histogram's data under `parameters`.
  double histogram_quantization_mse(const QuantizationParameters& parameters) const;

  // Per-channel min and max of a constant tensor (weights) along `axis` (negative counts from the
  // end). Plain layout, float. One entry per channel.
  static std::vector<FloatRange> per_channel_min_max(const Tensor& weights, int64_t axis);

 private:
  void grow_histogram(double data_low, double data_high);
  FloatRange mse_range(const RangeEstimatorOptions& options) const;

  int64_t sample_count_ = 0;
  int64_t element_count_ = 0;
  float min_ = 0.0f;
  float max_ = 0.0f;
  double sum_sample_min_ = 0.0;
  double sum_sample_max_ = 0.0;
  double sum_sample_abs_max_ = 0.0;
  std::vector<double> histogram_;
  double histogram_low_ = 0.0;
  double bin_width_ = 0.0;  // 0 until the first update
};

}  // namespace octet
