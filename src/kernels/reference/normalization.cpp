// Normalization ops: BatchNormalization (inference), InstanceNormalization, LayerNormalization,
// LRN and MeanVarianceNormalization.
//
// Statistics are accumulated in double whatever the tensor type, so the reference stays accurate
// on long rows; results are rounded once, to the output type.
#include <algorithm>
#include <cmath>

#include "kernels/reference/kernel_util.h"
#include "kernels/reference/reference_kernels.h"

namespace octet {
namespace {

// Planes (or rows) are handed to threads in chunks of at least this many elements, so small
// tensors stay on one thread.
constexpr int64_t kMinElementsPerTask = int64_t{1} << 14;
constexpr float kDefaultEpsilon = 1e-5f;
// Input layout of BatchNormalization, InstanceNormalization and LRN: batch, channels, then the rest.
constexpr int64_t kChannelAxis = 1;

int64_t min_rows_per_task(int64_t row_size) {
  return std::max<int64_t>(1, kMinElementsPerTask / std::max<int64_t>(1, row_size));
}


// All elements of a small parameter tensor (scale, bias, statistics) as doubles.
std::vector<double> values_of(const Tensor& tensor) {
  std::vector<double> values(static_cast<size_t>(tensor.element_count()));
  for (int64_t i = 0; i < tensor.element_count(); ++i) values[static_cast<size_t>(i)] = tensor.value_as_double(i);
  return values;
}

// Splits a [N, C, ...] shape into planes (N * C) and plane size (the product of the rest).
struct ChannelLayout {
  int64_t batch = 0;
  int64_t channels = 0;
  int64_t plane_size = 0;
};

ChannelLayout channel_layout(const Tensor& src) {
  check(src.rank() >= 2, "input of shape ", shape_to_string(src.shape()), " has no channel axis");
  ChannelLayout layout;
  layout.batch = src.dim(0);
  layout.channels = src.dim(kChannelAxis);
  layout.plane_size = 1;
  for (int64_t axis = 2; axis < src.rank(); ++axis) layout.plane_size *= src.dim(axis);
  return layout;
}

// Y = (X - mean) / sqrt(var + epsilon) * scale + B with the given running statistics.
class BatchNormalizationKernel : public Kernel {
 public:
  explicit BatchNormalizationKernel(const KernelCreateInfo& info)
      : epsilon_(info.node.attr_float("epsilon", kDefaultEpsilon)),
        // Before opset 9, spatial = 0 gave every element of a channel plane its own statistics.
        per_element_statistics_(info.opset < 9 && info.node.attr_int("spatial", 1) == 0) {
    if (info.node.attr_int("training_mode", 0) != 0)
      throw UnsupportedError("BatchNormalization with training_mode = 1 is not supported (inference only)");
    size_t requested_outputs = 0;
    for (const std::string& output : info.node.outputs) requested_outputs += output.empty() ? 0 : 1;
    if (requested_outputs > 1)
      throw UnsupportedError("BatchNormalization training outputs (running and saved statistics) are not supported");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const ChannelLayout layout = channel_layout(src);
    const int64_t statistics_count = per_element_statistics_ ? layout.channels * layout.plane_size : layout.channels;
    const std::vector<double> scale = parameter(context, kScaleInput, "scale", statistics_count);
    const std::vector<double> bias = parameter(context, kBiasInput, "B", statistics_count);
    const std::vector<double> mean = parameter(context, kMeanInput, "input_mean", statistics_count);
    const std::vector<double> variance = parameter(context, kVarianceInput, "input_var", statistics_count);
    // Folded to y = x * multiplier + offset per statistics entry.
    std::vector<double> multiplier(static_cast<size_t>(statistics_count));
    std::vector<double> offset(static_cast<size_t>(statistics_count));
    for (size_t i = 0; i < multiplier.size(); ++i) {
      multiplier[i] = scale[i] / std::sqrt(variance[i] + static_cast<double>(epsilon_));
      offset[i] = bias[i] - mean[i] * multiplier[i];
    }
    Tensor& dst = context.allocate_output(0, src.dtype(), src.shape());
    dispatch_floating(src.dtype(), "BatchNormalization", [&]<typename T>() {
      const T* src_data = src.data<T>();
      T* dst_data = dst.data<T>();
      context.threads().parallel_for(
          layout.batch * layout.channels,
          [&](int64_t begin, int64_t end) {
            for (int64_t plane = begin; plane < end; ++plane) {
              const int64_t channel = plane % layout.channels;
              const int64_t base = plane * layout.plane_size;
              for (int64_t i = 0; i < layout.plane_size; ++i) {
                const size_t entry =
                    static_cast<size_t>(per_element_statistics_ ? channel * layout.plane_size + i : channel);
                dst_data[base + i] = static_cast<T>(src_data[base + i] * multiplier[entry] + offset[entry]);
              }
            }
          },
          min_rows_per_task(layout.plane_size));
    });
  }

 private:
  static constexpr size_t kScaleInput = 1;
  static constexpr size_t kBiasInput = 2;
  static constexpr size_t kMeanInput = 3;
  static constexpr size_t kVarianceInput = 4;

  static std::vector<double> parameter(const KernelContext& context, size_t index, const char* name, int64_t count) {
    const Tensor& tensor = context.input(index);
    check(tensor.element_count() == count, "input ", name, " of shape ", shape_to_string(tensor.shape()),
          " does not have ", count, " elements");
    return values_of(tensor);
  }

  float epsilon_;
  bool per_element_statistics_;
};

// Mean and population variance of `count` values, accumulated in double.
template <typename T>
std::pair<double, double> mean_and_variance(const T* values, int64_t count, int64_t stride = 1) {
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += values[i * stride];
  const double mean = sum / static_cast<double>(count);
  double squares = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double deviation = values[i * stride] - mean;
    squares += deviation * deviation;
  }
  return {mean, squares / static_cast<double>(count)};
}

// Each (batch, channel) plane normalized by its own statistics, then scaled per channel.
class InstanceNormalizationKernel : public Kernel {
 public:
  explicit InstanceNormalizationKernel(const KernelCreateInfo& info)
      : epsilon_(info.node.attr_float("epsilon", kDefaultEpsilon)) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const ChannelLayout layout = channel_layout(src);
    const std::vector<double> scale = values_of(context.input(1));
    const std::vector<double> bias = values_of(context.input(2));
    check(static_cast<int64_t>(scale.size()) == layout.channels && static_cast<int64_t>(bias.size()) == layout.channels,
          "scale and B must have one value per channel (", layout.channels, ")");
    Tensor& dst = context.allocate_output(0, src.dtype(), src.shape());
    dispatch_floating(src.dtype(), "InstanceNormalization", [&]<typename T>() {
      const T* src_data = src.data<T>();
      T* dst_data = dst.data<T>();
      context.threads().parallel_for(
          layout.batch * layout.channels,
          [&](int64_t begin, int64_t end) {
            for (int64_t plane = begin; plane < end; ++plane) {
              const size_t channel = static_cast<size_t>(plane % layout.channels);
              const T* plane_src = src_data + plane * layout.plane_size;
              T* plane_dst = dst_data + plane * layout.plane_size;
              const auto [mean, variance] = mean_and_variance(plane_src, layout.plane_size);
              const double multiplier = scale[channel] / std::sqrt(variance + static_cast<double>(epsilon_));
              for (int64_t i = 0; i < layout.plane_size; ++i)
                plane_dst[i] = static_cast<T>((plane_src[i] - mean) * multiplier + bias[channel]);
            }
          },
          min_rows_per_task(layout.plane_size));
    });
  }

 private:
  float epsilon_;
};

// Normalizes over the axes [axis, rank): Y = (X - mean) * inv_std_dev * Scale + B, Scale and B
// broadcast to the normalized shape. Optional outputs Mean and InvStdDev keep the normalized axes
// as size 1 and have the stash type.
class LayerNormalizationKernel : public Kernel {
 public:
  explicit LayerNormalizationKernel(const KernelCreateInfo& info)
      : axis_(info.node.attr_int("axis", -1)), epsilon_(info.node.attr_float("epsilon", kDefaultEpsilon)) {
    const int64_t stash_type = info.node.attr_int("stash_type", static_cast<int64_t>(DataType::kFloat));
    stash_dtype_ = static_cast<DataType>(stash_type);
    if (stash_dtype_ != DataType::kFloat && stash_dtype_ != DataType::kDouble)
      throw UnsupportedError(concat("attribute stash_type: type ", stash_type, " is not supported (float or double)"));
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const int64_t axis = normalize_axis(axis_, src.rank(), "attribute axis");
    const Shape normalized_shape(src.shape().begin() + axis, src.shape().end());
    const int64_t row_size = element_count(normalized_shape);
    const int64_t rows = row_size == 0 ? 0 : src.element_count() / row_size;
    const std::vector<double> scale = broadcast_to_row(context.input(1), normalized_shape, "Scale");
    const std::vector<double> bias = context.optional_input(2)
                                         ? broadcast_to_row(*context.optional_input(2), normalized_shape, "B")
                                         : std::vector<double>(static_cast<size_t>(row_size), 0.0);
    Shape statistics_shape(src.shape().begin(), src.shape().begin() + axis);
    statistics_shape.resize(src.shape().size(), 1);
    Tensor& dst = context.allocate_output(0, src.dtype(), src.shape());
    Tensor* mean_output =
        context.output_requested(1) ? &context.allocate_output(1, stash_dtype_, statistics_shape) : nullptr;
    Tensor* inv_std_dev_output =
        context.output_requested(2) ? &context.allocate_output(2, stash_dtype_, statistics_shape) : nullptr;
    dispatch_floating(src.dtype(), "LayerNormalization", [&]<typename T>() {
      const T* src_data = src.data<T>();
      T* dst_data = dst.data<T>();
      context.threads().parallel_for(
          rows,
          [&](int64_t begin, int64_t end) {
            for (int64_t row = begin; row < end; ++row) {
              const T* row_src = src_data + row * row_size;
              T* row_dst = dst_data + row * row_size;
              const auto [mean, variance] = mean_and_variance(row_src, row_size);
              const double inv_std_dev = 1.0 / std::sqrt(variance + static_cast<double>(epsilon_));
              for (int64_t i = 0; i < row_size; ++i) {
                const size_t index = static_cast<size_t>(i);
                row_dst[i] = static_cast<T>((row_src[i] - mean) * inv_std_dev * scale[index] + bias[index]);
              }
              if (mean_output) store_statistic(*mean_output, row, mean);
              if (inv_std_dev_output) store_statistic(*inv_std_dev_output, row, inv_std_dev);
            }
          },
          min_rows_per_task(row_size));
    });
  }

 private:
  // The parameter's values for every position of one normalized row (unidirectional broadcast).
  static std::vector<double> broadcast_to_row(const Tensor& parameter, const Shape& normalized_shape,
                                              const std::string& name) {
    check(parameter.shape().size() <= normalized_shape.size() &&
              broadcast_shapes(parameter.shape(), normalized_shape) == normalized_shape,
          "input ", name, " of shape ", shape_to_string(parameter.shape()),
          " does not broadcast to the normalized shape ", shape_to_string(normalized_shape));
    const std::vector<double> values = values_of(parameter);
    const std::vector<int64_t> source_strides = broadcast_strides(parameter.shape(), normalized_shape);
    const std::vector<int64_t> row_strides = strides_of(normalized_shape);
    std::vector<double> row(static_cast<size_t>(element_count(normalized_shape)));
    for (size_t i = 0; i < row.size(); ++i) {
      int64_t remainder = static_cast<int64_t>(i);
      int64_t source = 0;
      for (size_t axis = 0; axis < normalized_shape.size(); ++axis) {
        source += remainder / row_strides[axis] * source_strides[axis];
        remainder %= row_strides[axis];
      }
      row[i] = values[static_cast<size_t>(source)];
    }
    return row;
  }

  static void store_statistic(Tensor& statistics, int64_t row, double value) {
    if (statistics.dtype() == DataType::kFloat)
      statistics.data<float>()[row] = static_cast<float>(value);
    else
      statistics.data<double>()[row] = value;
  }

  int64_t axis_;
  float epsilon_;
  DataType stash_dtype_;
};

// Local response normalization across channels:
// y = x / (bias + alpha / size * sum of x^2 over the `size` channels around c) ^ beta.
class LrnKernel : public Kernel {
 public:
  explicit LrnKernel(const KernelCreateInfo& info)
      : size_(info.node.attr_int("size")),
        alpha_(info.node.attr_float("alpha", 1e-4f)),
        beta_(info.node.attr_float("beta", 0.75f)),
        bias_(info.node.attr_float("bias", 1.0f)) {
    check(size_ >= 1, "attribute size: value ", size_, " must be positive");
  }

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const ChannelLayout layout = channel_layout(src);
    // The window covers channels [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)].
    const int64_t before = (size_ - 1) / 2;
    const int64_t after = size_ - 1 - before;
    const double alpha_over_size = static_cast<double>(alpha_) / static_cast<double>(size_);
    Tensor& dst = context.allocate_output(0, src.dtype(), src.shape());
    dispatch_floating(src.dtype(), "LRN", [&]<typename T>() {
      const T* src_data = src.data<T>();
      T* dst_data = dst.data<T>();
      context.threads().parallel_for(
          layout.batch * layout.channels,
          [&](int64_t begin, int64_t end) {
            for (int64_t plane = begin; plane < end; ++plane) {
              const int64_t channel = plane % layout.channels;
              const int64_t batch_base = (plane - channel) * layout.plane_size;
              const int64_t first = std::max<int64_t>(0, channel - before);
              const int64_t last = std::min(layout.channels - 1, channel + after);
              for (int64_t i = 0; i < layout.plane_size; ++i) {
                double square_sum = 0;
                for (int64_t c = first; c <= last; ++c) {
                  const double value = src_data[batch_base + c * layout.plane_size + i];
                  square_sum += value * value;
                }
                const int64_t index = plane * layout.plane_size + i;
                dst_data[index] = static_cast<T>(
                    src_data[index] / std::pow(static_cast<double>(bias_) + alpha_over_size * square_sum, beta_));
              }
            }
          },
          min_rows_per_task(layout.plane_size * size_));
    });
  }

 private:
  int64_t size_;
  float alpha_;
  float beta_;
  float bias_;
};

// Y = (X - mean) / (sqrt(variance) + epsilon) with statistics over `axes`, as in the op's ONNX
// function body (which adds epsilon = 1e-9 to the standard deviation).
class MeanVarianceNormalizationKernel : public Kernel {
 public:
  explicit MeanVarianceNormalizationKernel(const KernelCreateInfo& info)
      : axes_(info.node.attr_ints("axes", kDefaultAxes)) {}

  void run(KernelContext& context) override {
    const Tensor& src = context.input(0);
    const Shape& shape = src.shape();
    Shape statistics_shape = shape;
    for (int64_t axis : axes_)
      statistics_shape[static_cast<size_t>(normalize_axis(axis, src.rank(), "attribute axes"))] = 1;
    const int64_t group_count = element_count(statistics_shape);
    const int64_t group_size = group_count == 0 ? 0 : src.element_count() / group_count;
    // Offset of each element's statistics group; 0 strides along the reduced axes.
    const std::vector<int64_t> group_strides = broadcast_strides(statistics_shape, shape);
    std::vector<int64_t> group_of(static_cast<size_t>(src.element_count()));
    {
      std::vector<int64_t> coordinates(shape.size(), 0);
      int64_t group = 0;
      for (size_t i = 0; i < group_of.size(); ++i) {
        group_of[i] = group;
        for (size_t axis = shape.size(); axis-- > 0;) {
          group += group_strides[axis];
          if (++coordinates[axis] < shape[axis]) break;
          group -= group_strides[axis] * shape[axis];
          coordinates[axis] = 0;
        }
      }
    }
    Tensor& dst = context.allocate_output(0, src.dtype(), shape);
    // The reduced axes may include the batch axis, so elements of one group are scattered over
    // the tensor: this reference runs on one thread.
    dispatch_floating(src.dtype(), "MeanVarianceNormalization", [&]<typename T>() {
      const T* src_data = src.data<T>();
      T* dst_data = dst.data<T>();
      std::vector<double> mean(static_cast<size_t>(group_count), 0.0);
      std::vector<double> variance(static_cast<size_t>(group_count), 0.0);
      for (size_t i = 0; i < group_of.size(); ++i) mean[static_cast<size_t>(group_of[i])] += src_data[i];
      for (double& value : mean) value /= static_cast<double>(group_size);
      for (size_t i = 0; i < group_of.size(); ++i) {
        const double deviation = src_data[i] - mean[static_cast<size_t>(group_of[i])];
        variance[static_cast<size_t>(group_of[i])] += deviation * deviation;
      }
      for (double& value : variance) value /= static_cast<double>(group_size);
      for (size_t i = 0; i < group_of.size(); ++i) {
        const size_t group = static_cast<size_t>(group_of[i]);
        dst_data[i] = static_cast<T>((src_data[i] - mean[group]) / (std::sqrt(variance[group]) + kStdDevEpsilon));
      }
    });
  }

 private:
  static inline const std::vector<int64_t> kDefaultAxes = {0, 2, 3};
  static constexpr double kStdDevEpsilon = 1e-9;
  std::vector<int64_t> axes_;
};

}  // namespace

void register_normalization_kernels(KernelRegistry& registry) {
  register_reference<BatchNormalizationKernel>(registry, "BatchNormalization");
  register_reference<InstanceNormalizationKernel>(registry, "InstanceNormalization");
  register_reference<LayerNormalizationKernel>(registry, "LayerNormalization");
  register_reference<LrnKernel>(registry, "LRN");
  register_reference<MeanVarianceNormalizationKernel>(registry, "MeanVarianceNormalization");
}

}  // namespace octet
