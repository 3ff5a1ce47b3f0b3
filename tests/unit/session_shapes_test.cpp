// Sessions run the same model on new input shapes without being rebuilt: oneDNN primitives are
// prepared per shape and cached. Each run must match a reference-only session on the same input.
#include <gtest/gtest.h>

#include <filesystem>

#include "../kernels/kernel_test_util.h"
#include "onnx/onnx_io.h"
#include "runtime/session.h"

namespace octet {
namespace {

// Float results of the optimized oneDNN session and the reference session differ by summation
// order and Winograd/fused arithmetic: relative to the output's largest magnitude.
constexpr double kRelativeTolerance = 1e-4;

void expect_close(const Tensor& actual, const Tensor& expected, const std::string& context) {
  ASSERT_EQ(actual.shape(), expected.shape()) << context;
  double largest = 0;
  for (int64_t i = 0; i < expected.element_count(); ++i) largest = std::max(largest, std::fabs(expected.value_as_double(i)));
  for (int64_t i = 0; i < expected.element_count(); ++i)
    ASSERT_NEAR(actual.value_as_double(i), expected.value_as_double(i), kRelativeTolerance * std::max(largest, 1e-6))
        << context << " element " << i;
}

TEST(SessionShapes, NewInputShapesAfterTheFirstRun) {
  const std::string path = std::string(OCTET_SOURCE_DIR) + "/models/ppocr/ch_PP-OCRv4_det_infer.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing (scripts/fetch_models.sh)";
  Session fast(load_model(path));
  SessionOptions reference_options;
  reference_options.implementation = "reference";
  reference_options.optimize = false;
  Session reference(load_model(path), reference_options);
  const std::vector<Shape> shapes = {{1, 3, 96, 128}, {1, 3, 64, 64}, {2, 3, 32, 96}, {1, 3, 96, 128}};
  uint32_t seed = 1;
  for (const Shape& shape : shapes) {
    const Tensor input = testing::random_tensor(shape, seed++, 0.0f, 1.0f);
    const std::map<std::string, const Tensor*> feeds{{"x", &input}};
    const std::vector<Tensor> expected = reference.run(feeds);
    const std::vector<Tensor> actual = fast.run(feeds);
    expect_close(actual[0], expected[0], "det at " + shape_to_string(shape));
  }
}

}  // namespace
}  // namespace octet
