// Tests of src/quant/calibration.h: a one-node model built in code (and the ONNX Relu test model)
// over .npy samples written to a temporary folder; statistics compared with loops over the same
// files; every error names the folder or the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <unistd.h>

#include "../kernels/kernel_test_util.h"
#include "core/npy.h"
#include "octet/status.h"
#include "quant/calibration.h"

namespace octet {
namespace {

namespace fs = std::filesystem;
using testing::random_tensor;

const Shape kInputShape = {1, 3, 4, 4};

Model relu_model() {
  Model model;
  model.opset_imports[""] = 13;
  ValueInfo input;
  input.name = "x";
  input.dtype = DataType::kFloat;
  input.has_shape = true;
  for (int64_t dim : kInputShape) input.dims.push_back({dim, ""});
  ValueInfo output = input;
  output.name = "y";
  model.graph.inputs.push_back(input);
  model.graph.outputs.push_back(output);
  Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"x"};
  relu.outputs = {"y"};
  model.graph.nodes.push_back(relu);
  return model;
}

// Expects `action` to throw Error whose message contains `fragment`.
template <typename Action>
void expect_error_naming(Action action, const std::string& fragment) {
  try {
    action();
    ADD_FAILURE() << "no error; expected one naming " << fragment;
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)
        << "message '" << error.what() << "' does not name " << fragment;
  }
}

class QuantCalibration : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("octet_quant_calibration_" + std::to_string(getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(directory_);
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }

  std::string write_sample(const std::string& name, const Tensor& tensor) {
    const std::string path = (directory_ / name).string();
    save_npy(tensor, path);
    return path;
  }

  fs::path directory_;
};

TEST_F(QuantCalibration, StatisticsMatchLoopsOverFirstSortedFiles) {
  // Written out of order, with spreads that tell the files apart; only the first 3 sorted count.
  const std::vector<std::string> names = {"sample_3.npy", "sample_0.npy", "sample_4.npy", "sample_1.npy", "sample_2.npy"};
  for (size_t i = 0; i < names.size(); ++i) {
    const float spread = 1.0f + static_cast<float>(names[i][7] - '0');
    write_sample(names[i], random_tensor(kInputShape, 40 + static_cast<uint32_t>(i), -spread, spread));
  }
  write_sample("ignored.txt.bak", random_tensor({2}, 1));  // not .npy: skipped
  const CalibrationData data(directory_.string(), 3);
  ASSERT_EQ(data.size(), 3u);
  EXPECT_EQ(fs::path(data.files()[0]).filename(), "sample_0.npy");
  EXPECT_EQ(fs::path(data.files()[2]).filename(), "sample_2.npy");

  std::vector<size_t> progress;
  CalibrationOptions options;
  options.progress = [&](size_t done, size_t total) {
    EXPECT_EQ(total, 3u);
    progress.push_back(done);
  };
  const auto statistics = collect_statistics(relu_model(), data, {"x", "y"}, options);
  EXPECT_EQ(progress, (std::vector<size_t>{1, 2, 3}));
  ASSERT_EQ(statistics.size(), 2u);

  float x_min = INFINITY, x_max = -INFINITY;
  double sum_y_max = 0;
  for (const std::string& file : data.files()) {
    const Tensor sample = load_npy(file);
    const float* values = sample.data<float>();
    float sample_max = -INFINITY;
    for (int64_t i = 0; i < sample.element_count(); ++i) {
      x_min = std::min(x_min, values[i]);
      x_max = std::max(x_max, values[i]);
      sample_max = std::max(sample_max, values[i]);
    }
    sum_y_max += std::max(sample_max, 0.0f);  // Relu
  }
  const TensorStatistics& x = statistics.at("x");
  const TensorStatistics& y = statistics.at("y");
  EXPECT_EQ(x.sample_count(), 3);
  EXPECT_EQ(x.min(), x_min);
  EXPECT_EQ(x.max(), x_max);
  EXPECT_EQ(y.min(), 0.0f);
  EXPECT_EQ(y.max(), x_max);
  EXPECT_DOUBLE_EQ(y.mean_sample_max(), sum_y_max / 3.0);
  EXPECT_EQ(y.range(RangeEstimator::kPerformance).min, 0.0f);
}

TEST_F(QuantCalibration, SampleWithoutBatchDimensionGetsOne) {
  write_sample("a.npy", random_tensor({3, 4, 4}, 1));
  const CalibrationData data(directory_.string());
  const Tensor loaded = data.load(0, relu_model().graph.inputs[0]);
  EXPECT_EQ(loaded.shape(), kInputShape);
}

TEST_F(QuantCalibration, ModelFromFile) {
  const std::string model_path = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";
  if (!fs::exists(model_path)) GTEST_SKIP() << "ONNX test data not installed: " << model_path;
  write_sample("a.npy", random_tensor({3, 4, 5}, 2, -2.0f, 1.0f));
  const auto statistics = collect_statistics(model_path, CalibrationData(directory_.string()), {"y"});
  EXPECT_EQ(statistics.at("y").min(), 0.0f);
  EXPECT_GT(statistics.at("y").max(), 0.0f);
}

TEST_F(QuantCalibration, EmptyDirectoryIsNamed) {
  write_sample("not_a_sample.bin", random_tensor({2}, 1));
  expect_error_naming([&] { CalibrationData data(directory_.string()); }, directory_.string());
  expect_error_naming([&] { CalibrationData data((directory_ / "missing").string()); }, "missing");
}

TEST_F(QuantCalibration, NonFiniteFileIsNamed) {
  write_sample("a_good.npy", random_tensor(kInputShape, 1));
  Tensor bad = random_tensor(kInputShape, 2);
  bad.data<float>()[5] = NAN;
  write_sample("b_nan.npy", bad);
  const CalibrationData data(directory_.string());
  expect_error_naming([&] { collect_statistics(relu_model(), data, {"y"}); }, "b_nan.npy");
}

TEST_F(QuantCalibration, WrongShapeFileIsNamedWithExpectedAndGot) {
  write_sample("wrong.npy", random_tensor({1, 3, 5, 4}, 1));
  const CalibrationData data(directory_.string());
  expect_error_naming([&] { collect_statistics(relu_model(), data, {"y"}); }, "wrong.npy");
  expect_error_naming([&] { collect_statistics(relu_model(), data, {"y"}); }, "1x3x5x4");
  expect_error_naming([&] { collect_statistics(relu_model(), data, {"y"}); }, "1x3x4x4");
}

TEST_F(QuantCalibration, UnknownValueAndBadOptionsAreErrors) {
  write_sample("a.npy", random_tensor(kInputShape, 1));
  const CalibrationData data(directory_.string());
  expect_error_naming([&] { collect_statistics(relu_model(), data, {"nope"}); }, "nope");
  expect_error_naming([&] { CalibrationData subset(directory_.string(), 0); }, "subset");
  Model two_inputs = relu_model();
  two_inputs.graph.inputs.push_back(two_inputs.graph.inputs[0]);
  two_inputs.graph.inputs.back().name = "x2";
  EXPECT_THROW(collect_statistics(std::move(two_inputs), data, {"y"}), UnsupportedError);
}

}  // namespace
}  // namespace octet
