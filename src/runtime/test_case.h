// Running ONNX test-data folders: `model.onnx` with `test_data_set_N/input_K.pb` and `output_K.pb`.
#pragma once

#include <string>

namespace octet {

enum class TestCaseStatus { kPassed, kFailed, kSkipped };

struct TestCaseResult {
  TestCaseStatus status = TestCaseStatus::kPassed;
  std::string message;  // why it failed or was skipped; empty when passed
  int data_sets = 0;    // number of test_data_set_N folders compared
};

// Loads the folder's model, runs every data set and compares outputs with the expected ones:
// |actual - expected| <= atol + rtol * |expected| elementwise (NaN equals NaN), same type and shape.
// Unsupported ops and types give kSkipped with the reason; anything else that goes wrong, kFailed.
// `implementation` restricts kernels as SessionOptions::implementation does ("" = best available).
TestCaseResult run_test_case(const std::string& directory, double rtol = 1e-3, double atol = 1e-5, int threads = 1,
                             const std::string& implementation = "");

}  // namespace octet
