#include "runtime/test_case.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "onnx/onnx_io.h"
#include "runtime/session.h"

namespace octet {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> numbered_files(const fs::path& directory, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int index = 0;; ++index) {
    fs::path file = directory / concat(prefix, index, ".pb");
    if (!fs::exists(file)) break;
    files.push_back(file);
  }
  return files;
}

// Empty when equal within tolerance, else a description of the first mismatch.
std::string compare(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  if (actual.dtype() != expected.dtype())
    return concat("type ", dtype_name(actual.dtype()), ", expected ", dtype_name(expected.dtype()));
  if (actual.shape() != expected.shape())
    return concat("shape ", shape_to_string(actual.shape()), ", expected ", shape_to_string(expected.shape()));
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    const double a = actual.value_as_double(i);
    const double e = expected.value_as_double(i);
    if (std::isnan(a) && std::isnan(e)) continue;
    if (a == e) continue;  // also equal infinities
    if (!(std::fabs(a - e) <= atol + rtol * std::fabs(e)))
      return concat("element ", i, " is ", a, ", expected ", e);
  }
  return "";
}

// ONNX 1.12's test data stores bfloat16 tensors as uint16 (the same bits): read them as declared.
Tensor as_declared_type(Tensor tensor, DataType declared) {
  if (tensor.dtype() != DataType::kUint16 || declared != DataType::kBfloat16) return tensor;
  Tensor converted(DataType::kBfloat16, tensor.shape());
  std::memcpy(converted.raw_data(), tensor.raw_data(), tensor.byte_size());
  return converted;
}

}  // namespace

TestCaseResult run_test_case(const std::string& directory, double rtol, double atol, int threads,
                             const std::string& implementation) {
  TestCaseResult result;
  try {
    SessionOptions options;
    options.threads = threads;
    options.implementation = implementation;
    auto session = Session::from_file((fs::path(directory) / "model.onnx").string(), options);
    std::vector<fs::path> data_sets;
    for (const auto& entry : fs::directory_iterator(directory))
      if (entry.is_directory() && entry.path().filename().string().starts_with("test_data_set_"))
        data_sets.push_back(entry.path());
    std::sort(data_sets.begin(), data_sets.end());
    for (const auto& data_set : data_sets) {
      std::vector<Tensor> inputs;
      for (const auto& file : numbered_files(data_set, "input_")) {
        const size_t index = inputs.size();
        const DataType declared =
            index < session->inputs().size() ? session->inputs()[index].dtype : DataType::kUndefined;
        inputs.push_back(as_declared_type(load_tensor_file(file.string()), declared));
      }
      std::map<std::string, const Tensor*> feeds;
      // Inputs are matched to graph inputs by position, as the ONNX test runner does.
      for (size_t i = 0; i < inputs.size() && i < session->inputs().size(); ++i)
        feeds[session->inputs()[i].name] = &inputs[i];
      std::vector<Tensor> outputs = session->run(feeds);
      std::vector<fs::path> expected_files = numbered_files(data_set, "output_");
      for (size_t i = 0; i < expected_files.size(); ++i) {
        check(i < outputs.size(), "output ", i, " missing");
        const Tensor expected = as_declared_type(load_tensor_file(expected_files[i].string()), outputs[i].dtype());
        const std::string mismatch = compare(outputs[i], expected, rtol, atol);
        if (!mismatch.empty()) {
          result.status = TestCaseStatus::kFailed;
          result.message = concat(data_set.filename().string(), " output '", session->outputs()[i].name, "': ", mismatch);
          return result;
        }
      }
      ++result.data_sets;
    }
  } catch (const UnsupportedError& error) {
    result.status = TestCaseStatus::kSkipped;
    result.message = error.what();
  } catch (const std::exception& error) {
    result.status = TestCaseStatus::kFailed;
    result.message = error.what();
  }
  return result;
}

}  // namespace octet
