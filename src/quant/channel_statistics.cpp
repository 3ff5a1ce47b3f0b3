#include "quant/channel_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "octet/status.h"
#include "quant/range_math.h"
#include "runtime/session.h"

namespace octet {
namespace {

// A tensor's elements seen as [outer, channels, inner] in storage order.
struct ChannelView {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;
};

// Channels-last tensors store a logical [N, C, spatial...] as [N, spatial..., C]: the channel axis
// moves last and the spatial axes move one step forward.
ChannelView channel_view(const Tensor& tensor, int64_t axis) {
  const int64_t rank = tensor.rank();
  Shape storage_dims = tensor.shape();
  int64_t storage_axis = axis;
  if (tensor.layout() == Layout::kChannelsLast) {
    storage_dims.erase(storage_dims.begin() + 1);
    storage_dims.push_back(tensor.dim(1));
    storage_axis = axis == 0 ? 0 : (axis == 1 ? rank - 1 : axis - 1);
  }
  ChannelView view;
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t dim = storage_dims[static_cast<size_t>(d)];
    if (d < storage_axis)
      view.outer *= dim;
    else if (d == storage_axis)
      view.channels = dim;
    else
      view.inner *= dim;
  }
  return view;
}

}  // namespace

ChannelStatistics::ChannelStatistics(int64_t axis, int64_t bin_count) : axis_(axis), bin_count_(bin_count) {
  check(bin_count >= 0, "per-channel histogram bin count must not be negative, got ", bin_count);
}

void ChannelStatistics::update(const Tensor& tensor) {
  check(tensor.dtype() == DataType::kFloat, "per-channel statistics need a float tensor, got ",
        dtype_name(tensor.dtype()));
  check(tensor.element_count() > 0, "per-channel statistics need a non-empty tensor, got shape ",
        shape_to_string(tensor.shape()));
  const int64_t axis = axis_ < 0 ? axis_ + tensor.rank() : axis_;
  check(axis >= 0 && axis < tensor.rank(), "channel axis ", axis_, " is out of range for shape ",
        shape_to_string(tensor.shape()));
  const ChannelView view = channel_view(tensor, axis);
  if (sample_count_ == 0) {
    rank_ = tensor.rank();
    channels_.assign(static_cast<size_t>(view.channels), Channel{});
  }
  check(tensor.rank() == rank_ && view.channels == channel_count(), "shape ", shape_to_string(tensor.shape()),
        " changes the rank or channel count seen so far (rank ", rank_, ", ", channel_count(), " channels on axis ",
        axis_, ")");

  const float* values = tensor.data<float>();
  const int64_t channels = view.channels;
  std::vector<float> sample_min(static_cast<size_t>(channels), std::numeric_limits<float>::infinity());
  std::vector<float> sample_max(static_cast<size_t>(channels), -std::numeric_limits<float>::infinity());
  std::vector<double> sample_sum(static_cast<size_t>(channels), 0.0);
  bool all_finite = true;
  for (int64_t o = 0; o < view.outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const float* run = values + (o * channels + c) * view.inner;
      float low = sample_min[static_cast<size_t>(c)];
      float high = sample_max[static_cast<size_t>(c)];
      double sum = 0.0;
      for (int64_t i = 0; i < view.inner; ++i) {
        low = std::min(low, run[i]);
        high = std::max(high, run[i]);
        sum += run[i];
        all_finite &= std::isfinite(run[i]);
      }
      sample_min[static_cast<size_t>(c)] = low;
      sample_max[static_cast<size_t>(c)] = high;
      sample_sum[static_cast<size_t>(c)] += sum;
    }
  }
  check(all_finite, "tensor of shape ", shape_to_string(tensor.shape()), " contains NaN or Inf");

  for (int64_t c = 0; c < channels; ++c) {
    Channel& channel = channels_[static_cast<size_t>(c)];
    const float low = sample_min[static_cast<size_t>(c)];
    const float high = sample_max[static_cast<size_t>(c)];
    channel.min = sample_count_ ? std::min(channel.min, low) : low;
    channel.max = sample_count_ ? std::max(channel.max, high) : high;
    channel.sum += sample_sum[static_cast<size_t>(c)];
    if (bin_count_ == 0) continue;
    if (channel.bin_width == 0.0) {
      // Unlike the per-tensor histograms, the span need not include 0: alignment needs the
      // channel's own spread resolved, whatever its offset.
      channel.histogram.assign(static_cast<size_t>(bin_count_), 0.0);
      channel.histogram_low = low;
      channel.bin_width = high > low ? (static_cast<double>(high) - low) / static_cast<double>(bin_count_)
                                     : std::max(std::fabs(static_cast<double>(low)), 1.0) * kMinimumScale;
    } else {
      grow_histogram(channel, low, high);
    }
  }
  if (bin_count_ > 0) {
    for (int64_t o = 0; o < view.outer; ++o) {
      for (int64_t c = 0; c < channels; ++c) {
        Channel& channel = channels_[static_cast<size_t>(c)];
        const float* run = values + (o * channels + c) * view.inner;
        const double inverse_width = 1.0 / channel.bin_width;
        for (int64_t i = 0; i < view.inner; ++i) {
          // The clamp absorbs the top edge (x == high) and rounding at the edges.
          const auto bin = static_cast<int64_t>((run[i] - channel.histogram_low) * inverse_width);
          channel.histogram[static_cast<size_t>(std::clamp<int64_t>(bin, 0, bin_count_ - 1))] += 1.0;
        }
      }
    }
  }
  values_per_channel_ += view.outer * view.inner;
  ++sample_count_;
}

// The same exact regrouping as TensorStatistics::grow_histogram (which is private to the per-tensor
// class): the width grows by a power of two and the origin moves by whole old bins, so every old bin
// falls inside one new bin and counts move without interpolation.
void ChannelStatistics::grow_histogram(Channel& channel, double data_low, double data_high) const {
  const double old_high = channel.histogram_low + static_cast<double>(bin_count_) * channel.bin_width;
  if (data_low >= channel.histogram_low && data_high <= old_high) return;

  const double shift =
      data_low < channel.histogram_low ? std::ceil((channel.histogram_low - data_low) / channel.bin_width) : 0.0;
  const double new_low = channel.histogram_low - shift * channel.bin_width;
  double factor = 1.0;  // old bins per new bin
  do {
    factor *= 2.0;
  } while (new_low + static_cast<double>(bin_count_) * factor * channel.bin_width < data_high ||
           shift > static_cast<double>(bin_count_) * (factor - 1.0));

  std::vector<double> regrouped(channel.histogram.size(), 0.0);
  for (int64_t i = 0; i < bin_count_; ++i) {
    const auto target = static_cast<int64_t>(std::floor((static_cast<double>(i) + shift) / factor));
    regrouped[static_cast<size_t>(std::clamp<int64_t>(target, 0, bin_count_ - 1))] +=
        channel.histogram[static_cast<size_t>(i)];
  }
  channel.histogram.swap(regrouped);
  channel.histogram_low = new_low;
  channel.bin_width *= factor;
}

const ChannelStatistics::Channel& ChannelStatistics::channel_at(int64_t channel) const {
  check(sample_count_ > 0, "no per-channel statistics collected");
  check(channel >= 0 && channel < channel_count(), "channel ", channel, " is out of range (", channel_count(),
        " channels)");
  return channels_[static_cast<size_t>(channel)];
}

float ChannelStatistics::min(int64_t channel) const { return channel_at(channel).min; }
float ChannelStatistics::max(int64_t channel) const { return channel_at(channel).max; }
float ChannelStatistics::abs_max(int64_t channel) const {
  const Channel& found = channel_at(channel);
  return std::max(std::fabs(found.min), std::fabs(found.max));
}
double ChannelStatistics::mean(int64_t channel) const {
  return channel_at(channel).sum / static_cast<double>(values_per_channel_);
}

double ChannelStatistics::quantile(int64_t channel, double probability) const {
  const Channel& found = channel_at(channel);
  check(bin_count_ > 0, "per-channel quantiles need histograms (collected with 0 bins)");
  check(probability >= 0.0 && probability <= 1.0, "quantile probability ", probability, " is outside [0, 1]");
  const double target = probability * static_cast<double>(values_per_channel_);
  double below = 0.0;
  double result = found.max;
  for (size_t bin = 0; bin < found.histogram.size(); ++bin) {
    const double count = found.histogram[bin];
    if (count > 0.0 && below + count >= target) {
      // Values are assumed spread evenly inside the bin.
      const double fraction = (target - below) / count;
      result = found.histogram_low + (static_cast<double>(bin) + fraction) * found.bin_width;
      break;
    }
    below += count;
  }
  return std::clamp(result, static_cast<double>(found.min), static_cast<double>(found.max));
}

std::map<std::string, ChannelStatistics> collect_channel_statistics(const Model& model, const CalibrationData& data,
                                                                    const std::map<std::string, int64_t>& channel_axes,
                                                                    int64_t bin_count,
                                                                    const CalibrationOptions& options) {
  const Graph& graph = model.graph;
  if (graph.inputs.size() != 1) {
    throw UnsupportedError(
        concat("calibration supports single-input models only; this model has ", graph.inputs.size(), " inputs"));
  }
  const ValueInfo input = graph.inputs[0];
  std::set<std::string> node_outputs;
  for (const Node& node : graph.nodes) node_outputs.insert(node.outputs.begin(), node.outputs.end());
  std::map<std::string, ChannelStatistics> statistics;
  for (const auto& [name, axis] : channel_axes) {
    check(!graph.find_initializer(name), "value '", name, "' is an initializer, not an activation");
    check(name == input.name || node_outputs.count(name), "value '", name, "' is not produced by the model");
    statistics.try_emplace(name, axis, bin_count);
  }
  if (statistics.empty()) return statistics;

  std::string current_file;
  const auto observe = [&](ChannelStatistics& value_statistics, const Tensor& tensor, const std::string& name) {
    try {
      value_statistics.update(tensor);
    } catch (const Error& error) {
      throw Error(concat("value '", name, "' on sample ", current_file, ": ", error.what()));
    }
  };
  SessionOptions session_options = options.session;
  // Unoptimized, so that every original value exists under its ONNX name (no fused-away values).
  session_options.optimize = false;
  session_options.node_observer = [&](const Node& node, std::span<const Tensor* const>,
                                      std::span<const Tensor> outputs) {
    for (size_t o = 0; o < node.outputs.size() && o < outputs.size(); ++o) {
      const auto found = statistics.find(node.outputs[o]);
      if (found != statistics.end()) observe(found->second, outputs[o], found->first);
    }
  };
  Session session(model, session_options);

  for (size_t index = 0; index < data.size(); ++index) {
    current_file = data.files()[index];
    Tensor sample = data.load(index, input);
    const auto input_statistics = statistics.find(input.name);
    if (input_statistics != statistics.end()) observe(input_statistics->second, sample, input.name);
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
  for (const auto& [name, value_statistics] : statistics) {
    check(value_statistics.sample_count() == static_cast<int64_t>(data.size()), "value '", name,
          "' was not computed on every sample (", value_statistics.sample_count(), " of ", data.size(), ")");
  }
  return statistics;
}

}  // namespace octet
