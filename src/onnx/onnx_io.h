// Reading and writing ONNX files: protobuf <-> octet IR.
#pragma once

#include <string>

#include "ir/graph.h"

namespace onnx {
class ModelProto;
class TensorProto;
}  // namespace onnx

namespace octet {

struct LoadOptions {
  // Run the ONNX checker and reject models that fail it.
  bool check = true;
  // Run ONNX shape inference and record inferred types/shapes in Graph::value_infos.
  bool infer_shapes = true;
};

// Loads an ONNX file (external data files are resolved next to it). Throws Error naming the file
// and the culprit (node, initializer) on any problem: missing or empty file, bytes that are not an
// ONNX model, checker failures, data of the wrong size, absurd dimensions.
Model load_model(const std::string& path, const LoadOptions& options = {});

// Converts a parsed ModelProto. `base_directory` resolves external data; `source` names the model in errors.
Model model_from_proto(onnx::ModelProto& proto, const std::string& base_directory, const std::string& source,
                       const LoadOptions& options = {});

// Converts back to protobuf, initializers as raw_data.
void model_to_proto(const Model& model, onnx::ModelProto& proto);

// Writes the model atomically: a temporary file next to `path`, renamed into place when complete.
void save_model(const Model& model, const std::string& path);

// Tensor conversion; `base_directory` resolves external data, `what` names the tensor in errors.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_directory, const std::string& what);
void tensor_to_proto(const Tensor& tensor, onnx::TensorProto& proto);

// Reads a serialized TensorProto file (the ONNX test-data `input_0.pb` format).
Tensor load_tensor_file(const std::string& path);

// Highest ai.onnx opset the linked ONNX library knows (the checker and shape inference stop there).
int64_t onnx_library_max_opset();

}  // namespace octet
