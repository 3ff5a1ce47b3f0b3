#include "quant/tensor_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "octet/status.h"

namespace octet {
namespace {

// kMse searches clipping ranges [f_low * min, f_high * max] with f on this many evenly spaced
// fractions in (0, 1] per end (f = 1 is the min/max range, so the search never does worse than it
// under the histogram's error model). 50 x 50 candidates cost ~100 us each over 2048 bins.
constexpr int kMseCandidatesPerEnd = 50;

// Rounding error of a value uniformly placed between two grid points: variance of U(-s/2, s/2).
constexpr double kUniformRoundingVarianceFactor = 1.0 / 12.0;

// Integral of (edge - x)^2 for x in [from, to]: the squared clipping error of a uniform stretch.
double squared_distance_integral(double edge, double from, double to) {
  const double a = edge - from;
  const double b = edge - to;
  return std::fabs(a * a * a - b * b * b) / 3.0;
}

}  // namespace

std::string range_estimator_name(RangeEstimator estimator) {
  switch (estimator) {
    case RangeEstimator::kMinMax: return "min_max";
    case RangeEstimator::kMeanMinMax: return "mean_min_max";
    case RangeEstimator::kPerformance: return "performance";
    case RangeEstimator::kQuantile: return "quantile";
    case RangeEstimator::kMse: return "mse";
  }
  return "unknown";
}

TensorStatistics::TensorStatistics(int64_t bin_count) {
  check(bin_count > 0, "histogram bin count must be positive, got ", bin_count);
  histogram_.assign(static_cast<size_t>(bin_count), 0.0);
}

double TensorStatistics::mean_sample_min() const {
  return sample_count_ ? sum_sample_min_ / static_cast<double>(sample_count_) : 0.0;
}
double TensorStatistics::mean_sample_max() const {
  return sample_count_ ? sum_sample_max_ / static_cast<double>(sample_count_) : 0.0;
}
double TensorStatistics::mean_sample_abs_max() const {
  return sample_count_ ? sum_sample_abs_max_ / static_cast<double>(sample_count_) : 0.0;
}

void TensorStatistics::update(const Tensor& tensor) {
  check(tensor.dtype() == DataType::kFloat, "statistics need a float tensor, got ", dtype_name(tensor.dtype()));
  check(tensor.element_count() > 0, "statistics need a non-empty tensor, got shape ",
        shape_to_string(tensor.shape()));
  const float* values = tensor.data<float>();
  const int64_t count = tensor.element_count();
  float sample_min = std::numeric_limits<float>::infinity();
  float sample_max = -std::numeric_limits<float>::infinity();
  bool all_finite = true;
  for (int64_t i = 0; i < count; ++i) {
    sample_min = std::min(sample_min, values[i]);
    sample_max = std::max(sample_max, values[i]);
    all_finite &= std::isfinite(values[i]);
  }
  check(all_finite, "tensor of shape ", shape_to_string(tensor.shape()), " contains NaN or Inf");

  min_ = sample_count_ ? std::min(min_, sample_min) : sample_min;
  max_ = sample_count_ ? std::max(max_, sample_max) : sample_max;
  sum_sample_min_ += sample_min;
  sum_sample_max_ += sample_max;
  sum_sample_abs_max_ += std::max(std::fabs(sample_min), std::fabs(sample_max));
  ++sample_count_;
  element_count_ += count;

  const int64_t bins = bin_count();
  if (bin_width_ == 0.0) {
    // Quantization ranges always include 0, so the histogram does too; that also gives data of a
    // single value a non-empty range. An all-zero first sample gets the narrowest meaningful range.
    histogram_low_ = std::min(static_cast<double>(sample_min), 0.0);
    const double high = std::max(static_cast<double>(sample_max), 0.0);
    bin_width_ = high > histogram_low_ ? (high - histogram_low_) / static_cast<double>(bins) : kMinimumScale;
  } else {
    grow_histogram(sample_min, sample_max);
  }
  const double inverse_width = 1.0 / bin_width_;
  for (int64_t i = 0; i < count; ++i) {
    // The clamp absorbs the top edge (x == high) and rounding at the edges.
    const auto bin = static_cast<int64_t>((values[i] - histogram_low_) * inverse_width);
    histogram_[static_cast<size_t>(std::clamp<int64_t>(bin, 0, bins - 1))] += 1.0;
  }
}

// Growth keeps memory constant and counts exact: the new bin width is the old one times a power of
// two, and the new origin is the old one shifted by a whole number of old bins, so every old bin
// lies entirely inside one new bin and its count moves there without interpolation. The price is
// coarser bins after growth (at worst a factor of 2 more than the data span needs).
void TensorStatistics::grow_histogram(double data_low, double data_high) {
  const int64_t bins = bin_count();
  const double old_high = histogram_low_ + static_cast<double>(bins) * bin_width_;
  if (data_low >= histogram_low_ && data_high <= old_high) return;

  const double shift = data_low < histogram_low_ ? std::ceil((histogram_low_ - data_low) / bin_width_) : 0.0;
  const double new_low = histogram_low_ - shift * bin_width_;
  double factor = 1.0;  // old bins per new bin
  do {
    factor *= 2.0;
  } while (new_low + static_cast<double>(bins) * factor * bin_width_ < data_high ||
           shift > static_cast<double>(bins) * (factor - 1.0));

  std::vector<double> regrouped(histogram_.size(), 0.0);
  for (int64_t i = 0; i < bins; ++i) {
    const auto target = static_cast<int64_t>(std::floor((static_cast<double>(i) + shift) / factor));
    regrouped[static_cast<size_t>(std::clamp<int64_t>(target, 0, bins - 1))] += histogram_[static_cast<size_t>(i)];
  }
  histogram_.swap(regrouped);
  histogram_low_ = new_low;
  bin_width_ *= factor;
}

double TensorStatistics::histogram_quantile(double probability) const {
  check(sample_count_ > 0, "no statistics collected");
  check(probability >= 0.0 && probability <= 1.0, "quantile probability ", probability, " is outside [0, 1]");
  double total = 0.0;
  for (double count : histogram_) total += count;
  const double target = probability * total;
  double below = 0.0;
  double result = max_;
  for (size_t bin = 0; bin < histogram_.size(); ++bin) {
    const double count = histogram_[bin];
    if (count > 0.0 && below + count >= target) {
      // Values are assumed spread evenly inside the bin.
      const double fraction = (target - below) / count;
      result = histogram_low_ + (static_cast<double>(bin) + fraction) * bin_width_;
      break;
    }
    below += count;
  }
  return std::clamp(result, static_cast<double>(min_), static_cast<double>(max_));
}

double TensorStatistics::histogram_quantization_mse(const QuantizationParameters& parameters) const {
  check(sample_count_ > 0, "no statistics collected");
  const double real_min = parameters.real_min();
  const double real_max = parameters.real_max();
  const double rounding_variance = static_cast<double>(parameters.scale) * parameters.scale *
                                   kUniformRoundingVarianceFactor;
  double error = 0.0;
  double total = 0.0;
  for (size_t bin = 0; bin < histogram_.size(); ++bin) {
    const double count = histogram_[bin];
    if (count == 0.0) continue;
    total += count;
    // Each bin's values are modelled as uniform over the bin: the part below real_min clips to it,
    // the part above real_max clips to it, the part inside carries the rounding error.
    const double low = histogram_low_ + static_cast<double>(bin) * bin_width_;
    const double high = low + bin_width_;
    double integral = 0.0;
    if (low < real_min) integral += squared_distance_integral(real_min, low, std::min(high, real_min));
    if (high > real_max) integral += squared_distance_integral(real_max, std::max(low, real_max), high);
    const double inside = std::max(0.0, std::min(high, real_max) - std::max(low, real_min));
    integral += inside * rounding_variance;
    error += count * integral / bin_width_;
  }
  return total > 0.0 ? error / total : 0.0;
}

FloatRange TensorStatistics::mse_range(const RangeEstimatorOptions& options) const {
  const bool one_dimensional = options.mode == RangeMode::kSymmetric;
  FloatRange best{min_, max_};
  double best_error = std::numeric_limits<double>::infinity();
  for (int low_step = kMseCandidatesPerEnd; low_step >= 1; --low_step) {
    for (int high_step = kMseCandidatesPerEnd; high_step >= 1; --high_step) {
      // Symmetric ranges have one threshold: both ends scale together.
      if (one_dimensional && high_step != low_step) continue;
      const float low_fraction = static_cast<float>(low_step) / kMseCandidatesPerEnd;
      const float high_fraction = static_cast<float>(high_step) / kMseCandidatesPerEnd;
      const FloatRange candidate{min_ * low_fraction, max_ * high_fraction};
      const double error = histogram_quantization_mse(
          compute_quantization_parameters(candidate.min, candidate.max, options.type, options.mode));
      // Strictly better only: ties keep the wider range found first (starting from min/max).
      if (error < best_error) {
        best_error = error;
        best = candidate;
      }
    }
  }
  return best;
}

FloatRange TensorStatistics::range(RangeEstimator estimator, const RangeEstimatorOptions& options) const {
  check(sample_count_ > 0, "no statistics collected for range estimator ", range_estimator_name(estimator));
  switch (estimator) {
    case RangeEstimator::kMinMax:
      return {min_, max_};
    case RangeEstimator::kMeanMinMax:
      return {static_cast<float>(mean_sample_min()), static_cast<float>(mean_sample_max())};
    case RangeEstimator::kPerformance: {
      const auto threshold = static_cast<float>(mean_sample_abs_max());
      return {min_ >= 0.0f ? 0.0f : -threshold, threshold};
    }
    case RangeEstimator::kQuantile:
      return {static_cast<float>(histogram_quantile(options.outlier_probability)),
              static_cast<float>(histogram_quantile(1.0 - options.outlier_probability))};
    case RangeEstimator::kMse:
      return mse_range(options);
  }
  throw Error("unknown range estimator");
}

std::vector<FloatRange> TensorStatistics::per_channel_min_max(const Tensor& weights, int64_t axis) {
  check(weights.dtype() == DataType::kFloat, "per-channel statistics need a float tensor, got ",
        dtype_name(weights.dtype()));
  check(weights.layout() == Layout::kPlain, "per-channel statistics need a plain-layout tensor");
  check(weights.element_count() > 0, "per-channel statistics need a non-empty tensor");
  const int64_t rank = weights.rank();
  check(axis >= -rank && axis < rank, "axis ", axis, " is out of range for shape ", shape_to_string(weights.shape()));
  if (axis < 0) axis += rank;
  const int64_t channels = weights.dim(axis);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= weights.dim(d);
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= weights.dim(d);

  const float* values = weights.data<float>();
  std::vector<FloatRange> ranges(static_cast<size_t>(channels),
                                 FloatRange{std::numeric_limits<float>::infinity(),
                                            -std::numeric_limits<float>::infinity()});
  bool all_finite = true;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      FloatRange& range = ranges[static_cast<size_t>(c)];
      const float* row = values + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        range.min = std::min(range.min, row[i]);
        range.max = std::max(range.max, row[i]);
        all_finite &= std::isfinite(row[i]);
      }
    }
  }
  check(all_finite, "tensor of shape ", shape_to_string(weights.shape()), " contains NaN or Inf");
  return ranges;
}

}  // namespace octet
