// Streamed per-channel statistics of activations over calibration samples, for the FP32 transforms
// that rescale channels before quantization (ActivationChannelAlignment, SmoothQuant).
//
// Memory is constant in the number of samples: per channel a running min/max/abs-max, a sum, and
// optionally a fixed-size histogram; the tensors themselves are never kept.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "octet/tensor.h"
#include "quant/calibration.h"

namespace octet {

class ChannelStatistics {
 public:
  // Per-channel histograms are the costly part (channels x bins doubles per value), so they are far
  // coarser than the per-tensor ones: 256 bins put a 1e-4 quantile within 1/256 of the channel's
  // span (1/128 after growth), well below what the range equalization needs (its scales are ratios
  // of spans, clipped to [1e-2, 1e2]).
  static constexpr int64_t kDefaultBinCount = 256;

  // `axis` is the channel axis of the logical (ONNX) shape; negative counts from the end.
  // `bin_count` 0 keeps no histograms (min, max, abs-max and mean only; quantile() then throws).
  explicit ChannelStatistics(int64_t axis, int64_t bin_count = kDefaultBinCount);

  // Adds one sample: a float tensor, plain or channels-last (read in place, not converted). Every
  // sample must have the same rank and channel count. Throws Error on an empty or non-float tensor,
  // a rank or channel-count change, or a NaN/Inf element.
  void update(const Tensor& tensor);

  int64_t sample_count() const { return sample_count_; }
  int64_t channel_count() const { return static_cast<int64_t>(channels_.size()); }
  // Rank of the observed tensors (0 before the first update).
  int64_t rank() const { return rank_; }
  int64_t bin_count() const { return bin_count_; }

  // Over all samples. Throw Error before the first update or for a channel out of range.
  float min(int64_t channel) const;
  float max(int64_t channel) const;
  float abs_max(int64_t channel) const;
  double mean(int64_t channel) const;
  // The value below which `probability` of the channel's values lie (pooled over all samples,
  // interpolated within a bin, clamped to [min, max]). Needs histograms (bin_count > 0).
  double quantile(int64_t channel, double probability) const;

 private:
  struct Channel {
    float min = 0.0f;
    float max = 0.0f;
    double sum = 0.0;
    std::vector<double> histogram;  // empty when bin_count_ is 0
    double histogram_low = 0.0;
    double bin_width = 0.0;  // 0 until the first update
  };
  const Channel& channel_at(int64_t channel) const;
  void grow_histogram(Channel& channel, double data_low, double data_high) const;

  int64_t axis_;
  int64_t bin_count_;
  int64_t rank_ = 0;
  int64_t sample_count_ = 0;
  int64_t values_per_channel_ = 0;  // over all samples
  std::vector<Channel> channels_;
};

// Runs the model (unoptimized, so every value keeps its ONNX name) on every sample of `data` and
// returns the per-channel statistics of each value in `channel_axes` (value name -> channel axis),
// each with `bin_count` histogram bins (0: none). A value may be the graph input or a node output.
// Single-input models only. options.session is used for threads and implementation; its optimize
// and node_observer are replaced; options.progress is called after each sample. Throws Error for an
// unknown value or an initializer, several inputs, bad samples (naming the file), or values that
// are not float or hold NaN/Inf (naming the value and the file).
std::map<std::string, ChannelStatistics> collect_channel_statistics(const Model& model, const CalibrationData& data,
                                                                    const std::map<std::string, int64_t>& channel_axes,
                                                                    int64_t bin_count,
                                                                    const CalibrationOptions& options = {});

}  // namespace octet
