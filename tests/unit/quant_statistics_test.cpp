// Tests of src/quant/tensor_statistics.h against brute force over the same data kept in full:
// per-sample estimators by loops, quantiles by sorting, MSE by quantizing every value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "../kernels/kernel_test_util.h"
#include "octet/status.h"
#include "quant/tensor_statistics.h"

namespace octet {
namespace {

using testing::random_tensor;

std::vector<float> values_of(const Tensor& tensor) {
  const float* data = tensor.data<float>();
  return std::vector<float>(data, data + tensor.element_count());
}

// Mean squared error of quantizing then dequantizing every value with the range's parameters.
double brute_force_mse(const std::vector<float>& values, const FloatRange& range, QuantizedType type, RangeMode mode) {
  const QuantizationParameters parameters = compute_quantization_parameters(range.min, range.max, type, mode);
  double error = 0.0;
  for (float x : values) {
    const double difference = dequantize_value(quantize_value(x, parameters), parameters) - x;
    error += difference * difference;
  }
  return error / static_cast<double>(values.size());
}

// Samples of different spreads, so that the histogram must grow several times.
std::vector<Tensor> growing_samples(int count, uint32_t seed) {
  std::vector<Tensor> samples;
  for (int i = 0; i < count; ++i) {
    const float spread = 0.5f + static_cast<float>(i % 7);
    samples.push_back(random_tensor({2, 3, 5, 7}, seed + static_cast<uint32_t>(i), -spread * 0.7f, spread));
  }
  return samples;
}

TEST(QuantStatistics, PerSampleEstimatorsMatchLoops) {
  const std::vector<Tensor> samples = growing_samples(9, 11);
  TensorStatistics statistics;
  float min = INFINITY, max = -INFINITY;
  double sum_min = 0, sum_max = 0, sum_abs_max = 0;
  for (const Tensor& sample : samples) {
    statistics.update(sample);
    const std::vector<float> values = values_of(sample);
    const float sample_min = *std::min_element(values.begin(), values.end());
    const float sample_max = *std::max_element(values.begin(), values.end());
    min = std::min(min, sample_min);
    max = std::max(max, sample_max);
    sum_min += sample_min;
    sum_max += sample_max;
    sum_abs_max += std::max(std::fabs(sample_min), std::fabs(sample_max));
  }
  const double count = static_cast<double>(samples.size());
  ASSERT_EQ(statistics.sample_count(), 9);
  ASSERT_EQ(statistics.min(), min);
  ASSERT_EQ(statistics.max(), max);
  EXPECT_DOUBLE_EQ(statistics.mean_sample_min(), sum_min / count);
  EXPECT_DOUBLE_EQ(statistics.mean_sample_max(), sum_max / count);
  EXPECT_DOUBLE_EQ(statistics.mean_sample_abs_max(), sum_abs_max / count);

  const FloatRange min_max = statistics.range(RangeEstimator::kMinMax);
  EXPECT_EQ(min_max.min, min);
  EXPECT_EQ(min_max.max, max);
  const FloatRange mean_min_max = statistics.range(RangeEstimator::kMeanMinMax);
  EXPECT_FLOAT_EQ(mean_min_max.min, static_cast<float>(sum_min / count));
  EXPECT_FLOAT_EQ(mean_min_max.max, static_cast<float>(sum_max / count));
  const FloatRange performance = statistics.range(RangeEstimator::kPerformance);
  EXPECT_FLOAT_EQ(performance.max, static_cast<float>(sum_abs_max / count));
  EXPECT_FLOAT_EQ(performance.min, -performance.max);  // signed data: symmetric threshold

  TensorStatistics non_negative;
  non_negative.update(random_tensor({100}, 3, 0.0f, 4.0f));
  EXPECT_EQ(non_negative.range(RangeEstimator::kPerformance).min, 0.0f);
}

TEST(QuantStatistics, HistogramKeepsEveryCountThroughGrowth) {
  const std::vector<Tensor> samples = growing_samples(20, 23);
  TensorStatistics statistics;
  int64_t elements = 0;
  for (const Tensor& sample : samples) {
    statistics.update(sample);
    elements += sample.element_count();
    double total = 0;
    for (double count : statistics.histogram()) total += count;
    ASSERT_EQ(total, static_cast<double>(elements));
    ASSERT_LE(statistics.histogram_low(), statistics.min());
    ASSERT_GE(statistics.histogram_low() + statistics.bin_count() * statistics.bin_width(), statistics.max());
  }
}

TEST(QuantStatistics, QuantileWithinOneBinOfSortedData) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<Tensor> samples = growing_samples(15, seed * 100);
    TensorStatistics statistics;
    std::vector<float> all;
    for (const Tensor& sample : samples) {
      statistics.update(sample);
      const std::vector<float> values = values_of(sample);
      all.insert(all.end(), values.begin(), values.end());
    }
    std::sort(all.begin(), all.end());
    for (double probability : {0.0, 1e-3, 0.01, 0.25, 0.5, 0.9, 0.999, 1.0}) {
      const auto index = static_cast<size_t>(std::llround(probability * static_cast<double>(all.size() - 1)));
      EXPECT_NEAR(statistics.histogram_quantile(probability), all[index], statistics.bin_width())
          << "seed " << seed << " probability " << probability << " bin width " << statistics.bin_width();
    }
    RangeEstimatorOptions options;
    options.outlier_probability = 0.01;
    const FloatRange quantile = statistics.range(RangeEstimator::kQuantile, options);
    EXPECT_NEAR(quantile.min, all[static_cast<size_t>(std::llround(0.01 * (all.size() - 1)))], statistics.bin_width());
    EXPECT_NEAR(quantile.max, all[static_cast<size_t>(std::llround(0.99 * (all.size() - 1)))], statistics.bin_width());
  }
}

TEST(QuantStatistics, ChannelsLastGivesSameStatistics) {
  const Tensor plain = random_tensor({1, 4, 3, 5}, 5);
  Tensor channels_last = plain.clone();
  channels_last.set_layout(Layout::kChannelsLast);  // same elements, other declared order
  TensorStatistics a, b;
  a.update(plain);
  b.update(channels_last);
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  EXPECT_EQ(a.histogram(), b.histogram());
}

TEST(QuantStatistics, MemoryStaysConstant) {
  TensorStatistics statistics;
  statistics.update(random_tensor({64}, 1));
  const int64_t bins_after_one = statistics.bin_count();
  const size_t capacity_after_one = statistics.histogram().capacity();
  for (uint32_t i = 0; i < 1000; ++i) {
    const float spread = 1.0f + static_cast<float>(i);
    statistics.update(random_tensor({64}, i + 2, -spread, spread));
  }
  EXPECT_EQ(statistics.bin_count(), bins_after_one);
  EXPECT_EQ(statistics.bin_count(), TensorStatistics::kDefaultBinCount);
  EXPECT_EQ(statistics.histogram().capacity(), capacity_after_one);
  EXPECT_EQ(statistics.sample_count(), 1001);
}

TEST(QuantStatistics, MseRangeBeatsMinMaxWithOutliers) {
  std::mt19937 generator(42);
  std::normal_distribution<float> normal(0.5f, 1.0f);
  struct Case {
    QuantizedType type;
    RangeMode mode;
  };
  for (const Case& test_case : {Case{QuantizedType::kUint8, RangeMode::kAsymmetric},
                                Case{QuantizedType::kInt8, RangeMode::kSymmetric},
                                Case{QuantizedType::kInt8, RangeMode::kAsymmetric}}) {
    TensorStatistics statistics;
    std::vector<float> all;
    // Squared error punishes clipping hard: with 8 bits, clipping only pays off for rare outliers,
    // here one value at 30 sigma among 400000 (the optimum clips it to about 18).
    constexpr size_t kValuesPerSample = 40000;
    for (int sample = 0; sample < 10; ++sample) {
      std::vector<float> values(kValuesPerSample);
      for (float& value : values) value = normal(generator);
      if (sample == 3) values[17] = 30.0f;
      statistics.update(Tensor::from_vector<float>({static_cast<int64_t>(kValuesPerSample)}, values));
      all.insert(all.end(), values.begin(), values.end());
    }
    RangeEstimatorOptions options;
    options.type = test_case.type;
    options.mode = test_case.mode;
    const FloatRange mse = statistics.range(RangeEstimator::kMse, options);
    const FloatRange min_max = statistics.range(RangeEstimator::kMinMax);
    const double mse_error = brute_force_mse(all, mse, test_case.type, test_case.mode);
    const double min_max_error = brute_force_mse(all, min_max, test_case.type, test_case.mode);
    EXPECT_LE(mse_error, min_max_error) << quantized_type_name(test_case.type) << " range [" << mse.min << ", "
                                        << mse.max << "]";
    EXPECT_LT(mse.max, min_max.max);  // the outliers are clipped
  }
}

TEST(QuantStatistics, PerChannelMinMaxMatchesLoops) {
  const Tensor weights = random_tensor({4, 3, 2, 5}, 9);
  const float* data = weights.data<float>();
  for (int64_t axis : {0, 1, -1}) {
    const int64_t normalized = axis < 0 ? axis + 4 : axis;
    const std::vector<FloatRange> ranges = TensorStatistics::per_channel_min_max(weights, axis);
    ASSERT_EQ(static_cast<int64_t>(ranges.size()), weights.dim(normalized));
    std::vector<FloatRange> expected(ranges.size(), FloatRange{INFINITY, -INFINITY});
    for (int64_t a = 0; a < 4; ++a)
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t c = 0; c < 2; ++c)
          for (int64_t d = 0; d < 5; ++d) {
            const int64_t index[] = {a, b, c, d};
            const float value = data[((a * 3 + b) * 2 + c) * 5 + d];
            FloatRange& range = expected[static_cast<size_t>(index[normalized])];
            range.min = std::min(range.min, value);
            range.max = std::max(range.max, value);
          }
    for (size_t channel = 0; channel < ranges.size(); ++channel) {
      EXPECT_EQ(ranges[channel].min, expected[channel].min) << "axis " << axis << " channel " << channel;
      EXPECT_EQ(ranges[channel].max, expected[channel].max) << "axis " << axis << " channel " << channel;
    }
  }
  EXPECT_THROW(TensorStatistics::per_channel_min_max(weights, 4), Error);
}

TEST(QuantStatistics, RejectsBadTensors) {
  TensorStatistics statistics;
  EXPECT_THROW(statistics.range(RangeEstimator::kMinMax), Error);
  EXPECT_THROW(statistics.update(Tensor::from_vector<float>({3}, {1.0f, NAN, 2.0f})), Error);
  EXPECT_THROW(statistics.update(Tensor::from_vector<float>({2}, {1.0f, INFINITY})), Error);
  EXPECT_THROW(statistics.update(Tensor::from_vector<int32_t>({2}, {1, 2})), Error);
  EXPECT_EQ(statistics.sample_count(), 0);
}

TEST(QuantStatistics, AllZeroSampleThenRealData) {
  TensorStatistics statistics;
  statistics.update(Tensor(DataType::kFloat, {16}));
  statistics.update(random_tensor({256}, 4, -3.0f, 7.0f));
  double total = 0;
  for (double count : statistics.histogram()) total += count;
  EXPECT_EQ(total, 16.0 + 256.0);
  EXPECT_NEAR(statistics.histogram_quantile(1.0), statistics.max(), 1e-6);
  EXPECT_LE(statistics.bin_width() * statistics.bin_count(), 2 * (7.0 + 3.0) + 1e-3);
}

}  // namespace
}  // namespace octet
