// Tests of the FP32 transforms DefaultQuantization runs before inserting quantizers:
// src/quant/activation_channel_alignment.h, src/quant/smooth_quant.h and the streamed per-channel
// statistics they share (src/quant/channel_statistics.h).
//
// Small models built in code with deliberately unbalanced channels, calibrated on .npy samples in a
// temporary folder: the rewritten model must compute the same function, its channels must be more
// even, and a per-tensor uint8 quantize/dequantize of the rewritten activation must lose less. The
// patterns that must not be touched are left exactly as they were. Then both transforms run on the
// PP-OCR models (opset-upgraded and optimized as the quantizer will do) with rendered OCR samples.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>

#include "../kernels/kernel_test_util.h"
#include "core/npy.h"
#include "onnx/onnx_io.h"
#include "onnx/opset_upgrade.h"
#include "passes/optimize.h"
#include "quant/activation_channel_alignment.h"
#include "quant/calibration.h"
#include "quant/channel_statistics.h"
#include "quant/range_math.h"
#include "quant/smooth_quant.h"
#include "runtime/builtin_kernels.h"
#include "runtime/session.h"

namespace octet {
namespace {

namespace fs = std::filesystem;
using testing::int_attribute;
using testing::ints_attribute;
using testing::random_tensor;

constexpr int64_t kTestOpset = 17;
constexpr int kCalibrationSamples = 8;

// The rewrites divide and multiply weights by per-channel factors of up to 100 and move the
// channel midpoints through the biases: each output is the same sum computed with operands rounded
// differently, so outputs move by a few float ulps of the largest partial sum. Relative to the
// largest output, 1e-5 is well above that (accumulation depths here are below 100) and far below
// any wrongly scaled channel, which moves outputs by whole percents.
constexpr double kSyntheticRelativeTolerance = 1e-5;
// PP-OCR models chain tens of layers after the rewritten ones; see passes_test's model tolerance.
constexpr double kModelRelativeTolerance = 1e-4;

// ---------------------------------------------------------------- building blocks

ValueInfo float_value(const std::string& name, const Shape& dims) {
  ValueInfo info;
  info.name = name;
  info.dtype = DataType::kFloat;
  info.has_shape = true;
  for (int64_t dim : dims) info.dims.push_back({dim, ""});
  return info;
}

Node& add_node(Graph& graph, const std::string& op_type, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<Attribute> attributes = {}) {
  Node node;
  node.name = op_type + "_" + std::to_string(graph.nodes.size());
  node.op_type = op_type;
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  node.attributes = std::move(attributes);
  graph.nodes.push_back(std::move(node));
  return graph.nodes.back();
}

void add_initializer(Graph& graph, const std::string& name, Tensor tensor) {
  graph.initializers[name] = std::make_shared<const Tensor>(std::move(tensor));
}

// Multiplies slice c of `tensor` along `axis` by gain[c] and adds offset[c] (offsets may be empty).
Tensor with_channel_gains(Tensor tensor, int64_t axis, const std::vector<float>& gain,
                          const std::vector<float>& offset = {}) {
  if (axis < 0) axis += tensor.rank();
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < tensor.rank(); ++d) inner *= tensor.dim(d);
  const int64_t channels = tensor.dim(axis);
  float* values = tensor.data<float>();
  for (int64_t i = 0; i < tensor.element_count(); ++i) {
    const auto c = static_cast<size_t>((i / inner) % channels);
    values[i] = values[i] * gain[c] + (offset.empty() ? 0.0f : offset[c]);
  }
  return tensor;
}

// A folder of .npy calibration samples, removed with the test.
class SampleFolder {
 public:
  explicit SampleFolder(const std::string& tag) {
    static int counter = 0;
    path_ = fs::temp_directory_path() / concat("octet_quant_alignment_", getpid(), "_", tag, "_", counter++);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~SampleFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  SampleFolder(const SampleFolder&) = delete;
  SampleFolder& operator=(const SampleFolder&) = delete;

  std::string path() const { return path_.string(); }
  void write(int index, const Tensor& tensor) const {
    char name[16];
    std::snprintf(name, sizeof(name), "%04d.npy", index);
    save_npy(tensor, (path_ / name).string());
  }

 private:
  fs::path path_;
};

SessionOptions test_session_options() {
  SessionOptions options;
  options.threads = 1;
  return options;
}

CalibrationOptions test_calibration_options() {
  CalibrationOptions options;
  options.session = test_session_options();
  return options;
}

std::vector<Tensor> run_model(const Model& model, const Tensor& input) {
  Session session(model, test_session_options());
  return session.run({{model.graph.inputs[0].name, &input}});
}

// Largest |a - b| over all outputs, divided by the largest |b|.
double max_relative_difference(const std::vector<Tensor>& actual, const std::vector<Tensor>& expected) {
  EXPECT_EQ(actual.size(), expected.size());
  double largest = 0.0, worst = 0.0;
  for (size_t o = 0; o < expected.size() && o < actual.size(); ++o) {
    EXPECT_EQ(actual[o].shape(), expected[o].shape()) << "output " << o;
    for (int64_t i = 0; i < expected[o].element_count(); ++i) {
      const double reference = expected[o].value_as_double(i);
      largest = std::max(largest, std::fabs(reference));
      worst = std::max(worst, std::fabs(actual[o].value_as_double(i) - reference));
    }
  }
  EXPECT_GT(largest, 0.0) << "outputs are all zeros: the comparison would prove nothing";
  return largest > 0.0 ? worst / largest : worst;
}

// Expects the two models to agree on every calibration sample and on one fresh input.
void expect_same_function(const Model& transformed, const Model& original, const CalibrationData& data,
                          const Tensor& fresh_input, double tolerance = kSyntheticRelativeTolerance) {
  const ValueInfo& input = original.graph.inputs[0];
  for (size_t i = 0; i <= data.size(); ++i) {
    const Tensor sample = i < data.size() ? data.load(i, input) : fresh_input.clone();
    const double difference = max_relative_difference(run_model(transformed, sample), run_model(original, sample));
    EXPECT_LE(difference, tolerance) << (i < data.size() ? data.files()[i] : std::string("fresh input"));
  }
}

// max/min over channels of the robust span (the alignment's own estimator) of `value`.
double channel_span_ratio(const Model& model, const std::string& value, const CalibrationData& data) {
  const auto statistics = collect_channel_statistics(model, data, {{value, 1}}, ChannelStatistics::kDefaultBinCount,
                                                     test_calibration_options());
  const ChannelStatistics& channels = statistics.at(value);
  double smallest = 0.0, largest = 0.0;
  for (int64_t c = 0; c < channels.channel_count(); ++c) {
    const double span =
        channels.quantile(c, 1.0 - kAlignmentOutlierProbability) - channels.quantile(c, kAlignmentOutlierProbability);
    smallest = c == 0 ? span : std::min(smallest, span);
    largest = std::max(largest, span);
  }
  return largest / smallest;
}

// Per-channel abs-max of `value` (channels on the last axis) over the calibration data.
std::vector<double> channel_abs_max(const Model& model, const std::string& value, const CalibrationData& data) {
  const auto statistics = collect_channel_statistics(model, data, {{value, -1}}, 0, test_calibration_options());
  const ChannelStatistics& channels = statistics.at(value);
  std::vector<double> result;
  for (int64_t c = 0; c < channels.channel_count(); ++c) result.push_back(channels.abs_max(c));
  return result;
}

double max_over_min(const std::vector<double>& values) {
  return *std::max_element(values.begin(), values.end()) / *std::min_element(values.begin(), values.end());
}

// `model` with a per-tensor uint8 QuantizeLinear -> DequantizeLinear on `value`, its range the
// min/max of `value` over the calibration data (asymmetric, widened to include 0).
Model with_fake_quantized_value(const Model& model, const std::string& value, const CalibrationData& data) {
  const auto statistics = collect_statistics(model, data, {value}, test_calibration_options());
  const FloatRange range = statistics.at(value).range(RangeEstimator::kMinMax);
  const QuantizationParameters parameters =
      compute_quantization_parameters(range.min, range.max, QuantizedType::kUint8, RangeMode::kAsymmetric);
  Model result = model;
  Graph& graph = result.graph;
  for (Node& node : graph.nodes)
    for (std::string& input : node.inputs)
      if (input == value) input = value + "_dequantized";
  add_initializer(graph, value + "_scale", Tensor::scalar<float>(parameters.scale));
  add_initializer(graph, value + "_zero_point", Tensor::scalar<uint8_t>(static_cast<uint8_t>(parameters.zero_point)));
  add_node(graph, "QuantizeLinear", {value, value + "_scale", value + "_zero_point"}, {value + "_quantized"});
  add_node(graph, "DequantizeLinear", {value + "_quantized", value + "_scale", value + "_zero_point"},
           {value + "_dequantized"});
  graph.topological_sort();
  return result;
}

// Mean squared difference of the outputs of `candidate` and `reference` over the calibration data.
double output_mse(const Model& candidate, const Model& reference, const CalibrationData& data) {
  double sum = 0.0;
  int64_t count = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    const Tensor sample = data.load(i, reference.graph.inputs[0]);
    const std::vector<Tensor> actual = run_model(candidate, sample);
    const std::vector<Tensor> expected = run_model(reference, sample);
    for (size_t o = 0; o < expected.size(); ++o)
      for (int64_t e = 0; e < expected[o].element_count(); ++e) {
        const double difference = actual[o].value_as_double(e) - expected[o].value_as_double(e);
        sum += difference * difference;
        ++count;
      }
  }
  return sum / static_cast<double>(count);
}

// The graph's initializer tensors and node inputs: equal when nothing was rewritten.
struct GraphSnapshot {
  std::map<std::string, const Tensor*> initializers;
  std::vector<std::vector<std::string>> node_inputs;

  explicit GraphSnapshot(const Graph& graph) {
    for (const auto& [name, tensor] : graph.initializers) initializers[name] = tensor.get();
    for (const Node& node : graph.nodes) node_inputs.push_back(node.inputs);
  }
  bool operator==(const GraphSnapshot&) const = default;
};

// ---------------------------------------------------------------- per-channel statistics

TEST(QuantChannelStatistics, MatchesDirectComputationInBothLayouts) {
  const Tensor plain = with_channel_gains(random_tensor({2, 3, 4, 5}, 1), 1, {1.0f, 10.0f, 0.1f}, {0.0f, 5.0f, -2.0f});
  // The same logical tensor stored channels-last (N, H, W, C).
  Tensor channels_last(DataType::kFloat, plain.shape());
  channels_last.set_layout(Layout::kChannelsLast);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t s = 0; s < 20; ++s)
        channels_last.data<float>()[(n * 20 + s) * 3 + c] = plain.data<float>()[(n * 3 + c) * 20 + s];

  ChannelStatistics from_plain(1), from_channels_last(1);
  from_plain.update(plain);
  from_channels_last.update(channels_last);
  ASSERT_EQ(from_plain.channel_count(), 3);
  for (int64_t c = 0; c < 3; ++c) {
    float low = INFINITY, high = -INFINITY;
    double sum = 0.0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t s = 0; s < 20; ++s) {
        const float value = plain.data<float>()[(n * 3 + c) * 20 + s];
        low = std::min(low, value);
        high = std::max(high, value);
        sum += value;
      }
    for (const ChannelStatistics* statistics : {&from_plain, &from_channels_last}) {
      EXPECT_EQ(statistics->min(c), low) << "channel " << c;
      EXPECT_EQ(statistics->max(c), high) << "channel " << c;
      EXPECT_NEAR(statistics->mean(c), sum / 40.0, 1e-6) << "channel " << c;
      EXPECT_EQ(statistics->quantile(c, 0.0), low);
      EXPECT_EQ(statistics->quantile(c, 1.0), high);
    }
  }
}

TEST(QuantChannelStatistics, QuantilesSurviveHistogramGrowth) {
  // Uniform samples in a range that widens on every update: the histogram regroups each time.
  ChannelStatistics statistics(-1, ChannelStatistics::kDefaultBinCount);
  std::mt19937 generator(7);
  std::vector<float> all;
  for (int sample = 0; sample < 6; ++sample) {
    const float width = static_cast<float>(1 << sample);
    std::uniform_real_distribution<float> distribution(-width, 3.0f * width);
    std::vector<float> values(2000);
    for (float& value : values) value = distribution(generator);
    all.insert(all.end(), values.begin(), values.end());
    statistics.update(Tensor::from_vector<float>({2000, 1}, values));
  }
  std::sort(all.begin(), all.end());
  const double span = all.back() - all.front();
  for (double probability : {0.01, 0.25, 0.5, 0.9}) {
    const double exact = all[static_cast<size_t>(probability * static_cast<double>(all.size()))];
    // Bins are at most 2x the span / bin count wide after growth.
    EXPECT_NEAR(statistics.quantile(0, probability), exact, 2.0 * span / ChannelStatistics::kDefaultBinCount)
        << "probability " << probability;
  }
  EXPECT_EQ(statistics.sample_count(), 6);
}

TEST(QuantChannelStatistics, RejectsChangingChannelCountAndMissingHistograms) {
  ChannelStatistics statistics(1, 0);
  statistics.update(random_tensor({1, 4, 2}, 1));
  EXPECT_THROW(statistics.update(random_tensor({1, 5, 2}, 2)), Error);
  EXPECT_THROW(statistics.quantile(0, 0.5), Error);
  EXPECT_THROW(statistics.min(4), Error);
}

// ---------------------------------------------------------------- ActivationChannelAlignment

const Shape kConvInputShape = {1, 4, 6, 6};
// Channels of the producer's output differ in span by 2000x and sit far off zero.
const std::vector<float> kUnbalancedGains = {0.02f, 0.3f, 1.0f, 6.0f, 0.05f, 2.0f, 40.0f, 0.5f};
const std::vector<float> kUnbalancedOffsets = {3.0f, -2.0f, 0.5f, 10.0f, -0.1f, 0.0f, 25.0f, 1.0f};

struct ConvPairVariant {
  std::vector<int64_t> consumer_pads = {0, 0, 0, 0};
  std::vector<int64_t> consumer_strides = {1, 1};
  int64_t consumer_kernel = 1;
  bool second_reader = false;  // v also feeds a Relu whose output is a graph output
  bool value_is_output = false;
  bool consumer_bias = true;
};

// x[1,4,6,6] -> Conv(W1[8,4,3,3], b1, pads 1) -> v[1,8,6,6] -> Conv(W2[5,8,k,k], b2) -> y
Model conv_pair_model(const ConvPairVariant& variant = {}) {
  Model model;
  model.opset_imports[""] = kTestOpset;
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", kConvInputShape)};
  graph.outputs = {float_value("y", {})};
  graph.outputs[0].has_shape = false;
  add_initializer(graph, "W1", with_channel_gains(random_tensor({8, 4, 3, 3}, 11), 0, kUnbalancedGains));
  add_initializer(graph, "b1", with_channel_gains(random_tensor({8}, 12), 0, kUnbalancedGains, kUnbalancedOffsets));
  const int64_t k = variant.consumer_kernel;
  add_initializer(graph, "W2", random_tensor({5, 8, k, k}, 13));
  add_initializer(graph, "b2", random_tensor({5}, 14));
  add_node(graph, "Conv", {"x", "W1", "b1"}, {"v"}, {ints_attribute("pads", {1, 1, 1, 1})});
  std::vector<std::string> consumer_inputs = {"v", "W2"};
  if (variant.consumer_bias) consumer_inputs.push_back("b2");
  add_node(graph, "Conv", consumer_inputs, {"y"},
           {ints_attribute("pads", variant.consumer_pads), ints_attribute("strides", variant.consumer_strides)});
  if (variant.second_reader) {
    add_node(graph, "Relu", {"v"}, {"r"});
    graph.outputs.push_back(float_value("r", {1, 8, 6, 6}));
  }
  if (variant.value_is_output) graph.outputs.push_back(float_value("v", {1, 8, 6, 6}));
  return model;
}

void write_conv_samples(const SampleFolder& folder) {
  for (int i = 0; i < kCalibrationSamples; ++i) folder.write(i, random_tensor(kConvInputShape, 100 + i));
}

TEST(QuantActivationChannelAlignment, PreservesTheFunctionAndEvensTheChannels) {
  SampleFolder folder("align");
  write_conv_samples(folder);
  const CalibrationData data(folder.path());
  const Model original = conv_pair_model();
  const Tensor original_w1 = original.graph.find_initializer("W1")->clone();
  Model aligned = original;

  const std::vector<std::string> lines = align_activation_channels(aligned, data, test_calibration_options());
  ASSERT_EQ(lines.size(), 1u);
  std::cout << "[ ALIGN    ] " << lines[0] << "\n";
  aligned.graph.verify();

  // (a) the same function, on the calibration samples and on an input never seen.
  expect_same_function(aligned, original, data, random_tensor(kConvInputShape, 999, -2.0f, 2.0f));

  // (b) channel spans more equal: 2000x before, within the median-relative clip after.
  const double ratio_before = channel_span_ratio(original, "v", data);
  const double ratio_after = channel_span_ratio(aligned, "v", data);
  std::cout << "[ ALIGN    ] channel span max/min " << ratio_before << " -> " << ratio_after << "\n";
  EXPECT_GT(ratio_before, 100.0);
  EXPECT_LT(ratio_after, 1.1) << "every span is within [1e-2, 1e2] of the median, so alignment equalizes them all";

  // (c) per-tensor uint8 quantization of v hurts the output less. The output error is dominated by
  // the widest channel, whose own error alignment cannot shrink much (its step becomes span/255
  // instead of (span + offsets)/255); the narrow channels, quantized to a handful of levels before,
  // gain the most. Measured here: about 5x lower; 2x leaves room for other random weights.
  const double mse_before = output_mse(with_fake_quantized_value(original, "v", data), original, data);
  const double mse_after = output_mse(with_fake_quantized_value(aligned, "v", data), original, data);
  std::cout << "[ ALIGN    ] output MSE of a uint8 per-tensor v " << mse_before << " -> " << mse_after << "\n";
  EXPECT_LT(mse_after, mse_before / 2.0);

  // Old tensors untouched (they may be shared), replaced ones no longer in the graph.
  testing::expect_near(*original.graph.find_initializer("W1"), original_w1, 0.0, "original W1");
  EXPECT_FALSE(aligned.graph.find_initializer("W1"));
  EXPECT_FALSE(aligned.graph.find_initializer("W2"));
  EXPECT_EQ(aligned.graph.initializers.size(), original.graph.initializers.size());
}

TEST(QuantActivationChannelAlignment, CreatesAMissingConsumerBias) {
  SampleFolder folder("align_bias");
  write_conv_samples(folder);
  const CalibrationData data(folder.path());
  ConvPairVariant variant;
  variant.consumer_bias = false;
  const Model original = conv_pair_model(variant);
  Model aligned = original;
  ASSERT_EQ(align_activation_channels(aligned, data, test_calibration_options()).size(), 1u);
  EXPECT_EQ(aligned.graph.nodes[1].inputs.size(), 3u) << "the shift needs a consumer bias";
  expect_same_function(aligned, original, data, random_tensor(kConvInputShape, 998));
}

TEST(QuantActivationChannelAlignment, LeavesUnsafePatternsAlone) {
  SampleFolder folder("align_untouched");
  write_conv_samples(folder);
  const CalibrationData data(folder.path());
  ConvPairVariant padded;
  padded.consumer_pads = {1, 1, 1, 1};
  padded.consumer_kernel = 3;
  ConvPairVariant strided;
  strided.consumer_strides = {2, 2};
  ConvPairVariant two_readers;
  two_readers.second_reader = true;
  ConvPairVariant graph_output;
  graph_output.value_is_output = true;
  const std::pair<const char*, ConvPairVariant> variants[] = {
      {"consumer with padding", padded},
      {"consumer with stride 2", strided},
      {"producer output with two readers", two_readers},
      {"producer output is a graph output", graph_output},
  };
  for (const auto& [description, variant] : variants) {
    Model model = conv_pair_model(variant);
    const GraphSnapshot before(model.graph);
    EXPECT_TRUE(align_activation_channels(model, data, test_calibration_options()).empty()) << description;
    EXPECT_TRUE(GraphSnapshot(model.graph) == before) << description << ": the graph changed";
  }
}

TEST(QuantActivationChannelAlignment, ChainsThroughDepthwiseAndPointwiseConvs) {
  // x -> depthwise Conv(group 4) -> a -> Conv 1x1 (8) -> b -> Conv 1x1 (5) -> y: two chained pairs,
  // the middle Conv is the consumer of one and the producer of the other.
  Model original;
  original.opset_imports[""] = kTestOpset;
  Graph& graph = original.graph;
  graph.inputs = {float_value("x", kConvInputShape)};
  graph.outputs = {float_value("y", {1, 5, 6, 6})};
  add_initializer(graph, "Wd", with_channel_gains(random_tensor({4, 1, 3, 3}, 21), 0, {0.05f, 1.0f, 8.0f, 0.3f}));
  add_initializer(graph, "bd", Tensor::from_vector<float>({4}, {2.0f, -1.0f, 0.0f, 4.0f}));
  add_initializer(graph, "Wp", with_channel_gains(random_tensor({8, 4, 1, 1}, 22), 0, kUnbalancedGains));
  add_initializer(graph, "bp", Tensor::from_vector<float>({8}, kUnbalancedOffsets));
  add_initializer(graph, "Wo", random_tensor({5, 8, 1, 1}, 23));
  add_node(graph, "Conv", {"x", "Wd", "bd"}, {"a"}, {int_attribute("group", 4), ints_attribute("pads", {1, 1, 1, 1})});
  add_node(graph, "Conv", {"a", "Wp", "bp"}, {"b"});
  add_node(graph, "Conv", {"b", "Wo"}, {"y"});

  SampleFolder folder("align_chain");
  write_conv_samples(folder);
  const CalibrationData data(folder.path());
  Model aligned = original;
  const std::vector<std::string> lines = align_activation_channels(aligned, data, test_calibration_options());
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) std::cout << "[ ALIGN    ] " << line << "\n";
  EXPECT_EQ(aligned.graph.nodes[0].inputs.size(), 3u);
  EXPECT_EQ(aligned.graph.nodes[2].inputs.size(), 3u) << "the last Conv needs a bias for the shift";
  expect_same_function(aligned, original, data, random_tensor(kConvInputShape, 997));
  EXPECT_LT(channel_span_ratio(aligned, "a", data), channel_span_ratio(original, "a", data));
  EXPECT_LT(channel_span_ratio(aligned, "b", data), channel_span_ratio(original, "b", data));
}

// ---------------------------------------------------------------- SmoothQuant

const Shape kTokenInputShape = {1, 6, 8};
// Activation channels with outliers: two channels 30-50x the others.
const std::vector<float> kOutlierGains = {1.0f, 0.5f, 30.0f, 1.0f, 0.2f, 1.0f, 50.0f, 0.8f,
                                          1.0f, 2.0f, 1.0f,  0.5f, 1.0f, 1.0f, 0.3f,  1.0f};

// x[1,6,8] -> MatMul(W0[8,16]) -> Add(b0) -> h[1,6,16] -> MatMul(W1[16,4]) -> y
Model matmul_chain_model() {
  Model model;
  model.opset_imports[""] = kTestOpset;
  Graph& graph = model.graph;
  graph.inputs = {float_value("x", kTokenInputShape)};
  graph.outputs = {float_value("y", {1, 6, 4})};
  add_initializer(graph, "W0", with_channel_gains(random_tensor({8, 16}, 31), 1, kOutlierGains));
  add_initializer(graph, "b0", with_channel_gains(random_tensor({16}, 32), 0, kOutlierGains));
  add_initializer(graph, "W1", random_tensor({16, 4}, 33));
  add_node(graph, "MatMul", {"x", "W0"}, {"m"});
  add_node(graph, "Add", {"m", "b0"}, {"h"});
  add_node(graph, "MatMul", {"h", "W1"}, {"y"});
  return model;
}

TEST(QuantSmoothQuant, FoldsIntoMatMulAndBiasAndScalesTheWeightRows) {
  SampleFolder folder("smooth");
  for (int i = 0; i < kCalibrationSamples; ++i) folder.write(i, random_tensor(kTokenInputShape, 200 + i));
  const CalibrationData data(folder.path());
  const Model original = matmul_chain_model();
  Model smoothed = original;

  const std::vector<std::string> lines =
      apply_smooth_quant(smoothed, data, kDefaultSmoothQuantAlpha, test_calibration_options());
  for (const std::string& line : lines) std::cout << "[ SMOOTH   ] " << line << "\n";
  // Two targets: MatMul(x, W0) reads the graph input (a Mul is inserted), MatMul(h, W1) folds.
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("inserted Mul"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("folded into"), std::string::npos) << lines[1];
  smoothed.graph.verify();
  EXPECT_EQ(smoothed.graph.nodes.size(), original.graph.nodes.size() + 1);

  expect_same_function(smoothed, original, data, random_tensor(kTokenInputShape, 998, -2.0f, 2.0f));

  // The activation's channel maxima are more even.
  const std::vector<double> before = channel_abs_max(original, "h", data);
  const std::vector<double> after = channel_abs_max(smoothed, "h", data);
  std::cout << "[ SMOOTH   ] abs-max max/min of h " << max_over_min(before) << " -> " << max_over_min(after) << "\n";
  EXPECT_LT(max_over_min(after), max_over_min(before) / 5.0);

  // Row k of W1 is multiplied by s_k = before_k / after_k, the factor h's channel k was divided by.
  const Node& consumer = smoothed.graph.nodes.back();
  ASSERT_EQ(consumer.input(0), "h");
  const Tensor& w1 = *original.graph.find_initializer("W1");
  const Tensor& w1_smoothed = *smoothed.graph.find_initializer(consumer.input(1));
  ASSERT_EQ(w1_smoothed.shape(), w1.shape());
  for (int64_t k = 0; k < 16; ++k) {
    const double scale = before[static_cast<size_t>(k)] / after[static_cast<size_t>(k)];
    for (int64_t n = 0; n < 4; ++n) {
      const double expected = w1.data<float>()[k * 4 + n] * scale;
      EXPECT_NEAR(w1_smoothed.data<float>()[k * 4 + n], expected, 1e-5 * std::fabs(expected) + 1e-7)
          << "row " << k << " column " << n;
    }
  }
  EXPECT_FALSE(smoothed.graph.find_initializer("W1")) << "replaced weights should be dropped";
  EXPECT_TRUE(original.graph.find_initializer("W1")) << "the original model keeps its own";
}

TEST(QuantSmoothQuant, SharesOneScaleOverMatMulsReadingOneLayerNorm) {
  // x -> LayerNormalization(gamma with outliers) -> n -> MatMul(Wq) -> q, n -> Gemm(Wk^T, transB) -> k,
  // y = q + k: both read n, so they share one scale, folded into gamma and beta.
  Model original;
  original.opset_imports[""] = kTestOpset;
  Graph& graph = original.graph;
  graph.inputs = {float_value("x", {6, 16})};
  graph.outputs = {float_value("y", {6, 4})};
  add_initializer(graph, "gamma", with_channel_gains(random_tensor({16}, 41, 0.5f, 1.5f), 0, kOutlierGains));
  add_initializer(graph, "beta", with_channel_gains(random_tensor({16}, 42), 0, kOutlierGains));
  add_initializer(graph, "Wq", random_tensor({16, 4}, 43));
  add_initializer(graph, "WkT", random_tensor({4, 16}, 44));
  add_node(graph, "LayerNormalization", {"x", "gamma", "beta"}, {"n"}, {int_attribute("axis", -1)});
  add_node(graph, "MatMul", {"n", "Wq"}, {"q"});
  add_node(graph, "Gemm", {"n", "WkT"}, {"k"}, {int_attribute("transB", 1)});
  add_node(graph, "Add", {"q", "k"}, {"y"});

  SampleFolder folder("smooth_layer_norm");
  for (int i = 0; i < kCalibrationSamples; ++i) folder.write(i, random_tensor({6, 16}, 300 + i, -3.0f, 3.0f));
  const CalibrationData data(folder.path());
  Model smoothed = original;
  const std::vector<std::string> lines =
      apply_smooth_quant(smoothed, data, kDefaultSmoothQuantAlpha, test_calibration_options());
  ASSERT_EQ(lines.size(), 1u);
  std::cout << "[ SMOOTH   ] " << lines[0] << "\n";
  EXPECT_NE(lines[0].find("(2 nodes)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("LayerNormalization"), std::string::npos) << lines[0];
  EXPECT_EQ(smoothed.graph.nodes.size(), original.graph.nodes.size()) << "folding adds no node";
  expect_same_function(smoothed, original, data, random_tensor({6, 16}, 997, -3.0f, 3.0f));
  EXPECT_LT(max_over_min(channel_abs_max(smoothed, "n", data)), max_over_min(channel_abs_max(original, "n", data)));
}

TEST(QuantSmoothQuant, InsertsAMulWhenTheActivationHasOtherReaders) {
  // h = Add(MatMul(x, W0), b0) feeds MatMul(W1) and a Relu output: folding into W0/b0 would change
  // the Relu's input, so a Mul is inserted in front of the MatMul only.
  Model original = matmul_chain_model();
  add_node(original.graph, "Relu", {"h"}, {"r"});
  original.graph.outputs.push_back(float_value("r", {1, 6, 16}));
  SampleFolder folder("smooth_readers");
  for (int i = 0; i < kCalibrationSamples; ++i) folder.write(i, random_tensor(kTokenInputShape, 400 + i));
  const CalibrationData data(folder.path());
  Model smoothed = original;
  const std::vector<std::string> lines =
      apply_smooth_quant(smoothed, data, kDefaultSmoothQuantAlpha, test_calibration_options());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("inserted Mul"), std::string::npos) << lines[1];
  smoothed.graph.verify();
  expect_same_function(smoothed, original, data, random_tensor(kTokenInputShape, 996));
}

TEST(QuantSmoothQuant, ShapeReadersDoNotBlockFolding) {
  // A Shape node reading h (as PP-OCR's attention blocks have) sees the same shape after folding.
  Model original = matmul_chain_model();
  add_node(original.graph, "Shape", {"h"}, {"h_shape"});
  ValueInfo shape_output = float_value("h_shape", {3});
  shape_output.dtype = DataType::kInt64;
  original.graph.outputs.push_back(shape_output);
  SampleFolder folder("smooth_shape");
  for (int i = 0; i < kCalibrationSamples; ++i) folder.write(i, random_tensor(kTokenInputShape, 500 + i));
  const CalibrationData data(folder.path());
  Model smoothed = original;
  const std::vector<std::string> lines =
      apply_smooth_quant(smoothed, data, kDefaultSmoothQuantAlpha, test_calibration_options());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("folded into"), std::string::npos) << lines[1];
  expect_same_function(smoothed, original, data, random_tensor(kTokenInputShape, 995));
}

TEST(QuantSmoothQuant, RejectsAlphaOutsideZeroToOne) {
  SampleFolder folder("smooth_alpha");
  folder.write(0, random_tensor(kTokenInputShape, 1));
  const CalibrationData data(folder.path());
  Model model = matmul_chain_model();
  EXPECT_THROW(apply_smooth_quant(model, data, 1.5f), Error);
}

// ---------------------------------------------------------------- the PP-OCR models

// Loads models/ppocr/`file`, prepares it as the quantizer does (opset 13, standard passes), renders
// `count` samples of `kind` with scripts/gen_ocr_data.py, runs both transforms, and expects the
// outputs to agree with the prepared model on every sample.
void expect_transforms_preserve_ppocr_model(const std::string& file, const std::string& kind, int count) {
  const fs::path path = fs::path(OCTET_SOURCE_DIR) / "models/ppocr" / file;
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent (scripts/fetch_models.sh fetches it)";
  SampleFolder folder(kind);
  const std::string command = concat("/usr/bin/python3 ", OCTET_SOURCE_DIR, "/scripts/gen_ocr_data.py --kind ", kind,
                                     " --count ", count, " --seed 5 --out ", folder.path(), " > /dev/null");
  if (std::system(command.c_str()) != 0) GTEST_SKIP() << "cannot render samples: " << command;
  const CalibrationData data(folder.path());

  Model prepared = load_model(path.string());
  upgrade_opset(prepared, 13);
  optimize_model(prepared, builtin_kernel_registry(), OptimizationLevel::kStandard);
  Model transformed = prepared;
  const std::vector<std::string> aligned = align_activation_channels(transformed, data, test_calibration_options());
  const std::vector<std::string> smoothed =
      apply_smooth_quant(transformed, data, kDefaultSmoothQuantAlpha, test_calibration_options());
  transformed.graph.verify();
  size_t inserted = 0;
  for (const std::string& line : smoothed) inserted += line.find("inserted Mul") != std::string::npos;
  std::cout << "[ PPOCR    ] " << file << ": " << aligned.size() << " aligned Conv pairs, " << smoothed.size()
            << " smoothed MatMul groups (" << smoothed.size() - inserted << " folded, " << inserted
            << " with an inserted Mul)\n";
  for (const std::string& line : aligned) std::cout << "[ PPOCR    ]   " << line << "\n";
  for (const std::string& line : smoothed) std::cout << "[ PPOCR    ]   " << line << "\n";

  Session reference(prepared);
  Session candidate(transformed);
  const ValueInfo& input = prepared.graph.inputs[0];
  for (size_t i = 0; i < data.size(); ++i) {
    const Tensor sample = data.load(i, input);
    const double difference =
        max_relative_difference(candidate.run({{input.name, &sample}}), reference.run({{input.name, &sample}}));
    std::cout << "[ PPOCR    ]   " << data.files()[i] << ": max |difference| / max |value| " << difference << "\n";
    EXPECT_LE(difference, kModelRelativeTolerance) << data.files()[i];
  }
}

TEST(QuantAlignmentPpocrModel, Recognition) {
  expect_transforms_preserve_ppocr_model("ch_PP-OCRv4_rec_infer.onnx", "rec", 4);
}
TEST(QuantAlignmentPpocrModel, Classification) {
  expect_transforms_preserve_ppocr_model("ch_ppocr_mobile_v2.0_cls_infer.onnx", "cls", 4);
}
// 640x640 pages: two samples keep the test short.
TEST(QuantAlignmentPpocrModel, Detection) {
  expect_transforms_preserve_ppocr_model("ch_PP-OCRv4_det_infer.onnx", "det", 2);
}

}  // namespace
}  // namespace octet
