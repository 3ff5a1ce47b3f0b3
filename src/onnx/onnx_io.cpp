#include "onnx/onnx_io.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace octet {
namespace {

std::string read_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw Error(concat(path, ": no such file"));
  if (std::filesystem::is_directory(path, error)) throw Error(concat(path, ": is a directory, not a file"));
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw Error(concat(path, ": cannot open for reading"));
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

// The checker's message on one line: its lines joined, blank lines and trailing spaces dropped
// (it names the node on the line after the complaint).
std::string one_line(const std::string& text) {
  std::string result;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) result += (result.empty() ? "" : " ") + line;
    start = end + 1;
  }
  constexpr size_t kMaxLength = 400;
  if (result.size() > kMaxLength) result = result.substr(0, kMaxLength) + "...";
  return result;
}

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& proto) {
  ValueInfo info;
  info.name = proto.name();
  if (proto.type().has_tensor_type()) {
    const auto& tensor_type = proto.type().tensor_type();
    info.dtype = static_cast<DataType>(tensor_type.elem_type());
    if (tensor_type.has_shape()) {
      info.has_shape = true;
      for (const auto& dim : tensor_type.shape().dim()) {
        Dimension dimension;
        if (dim.has_dim_value()) dimension.value = dim.dim_value();
        if (dim.has_dim_param()) dimension.symbol = dim.dim_param();
        info.dims.push_back(dimension);
      }
    }
  }
  return info;
}

void value_info_to_proto(const ValueInfo& info, onnx::ValueInfoProto& proto) {
  proto.set_name(info.name);
  if (info.dtype == DataType::kUndefined) return;
  auto* tensor_type = proto.mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(static_cast<int32_t>(info.dtype));
  if (!info.has_shape) return;
  auto* shape = tensor_type->mutable_shape();
  for (const auto& dimension : info.dims) {
    auto* dim = shape->add_dim();
    if (dimension.is_known()) {
      dim->set_dim_value(dimension.value);
    } else if (!dimension.symbol.empty()) {
      dim->set_dim_param(dimension.symbol);
    }
  }
}

Attribute attribute_from_proto(const onnx::AttributeProto& proto, const std::string& base_directory,
                               const std::string& node_description) {
  Attribute attribute;
  attribute.name = proto.name();
  switch (proto.type()) {
    case onnx::AttributeProto::FLOAT:
      attribute.type = AttributeType::kFloat;
      attribute.f = proto.f();
      break;
    case onnx::AttributeProto::INT:
      attribute.type = AttributeType::kInt;
      attribute.i = proto.i();
      break;
    case onnx::AttributeProto::STRING:
      attribute.type = AttributeType::kString;
      attribute.s = proto.s();
      break;
    case onnx::AttributeProto::TENSOR:
      attribute.type = AttributeType::kTensor;
      attribute.tensor = std::make_shared<const Tensor>(tensor_from_proto(
          proto.t(), base_directory, concat("attribute '", proto.name(), "' of node ", node_description)));
      break;
    case onnx::AttributeProto::FLOATS:
      attribute.type = AttributeType::kFloats;
      attribute.floats.assign(proto.floats().begin(), proto.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      attribute.type = AttributeType::kInts;
      attribute.ints.assign(proto.ints().begin(), proto.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      attribute.type = AttributeType::kStrings;
      attribute.strings.assign(proto.strings().begin(), proto.strings().end());
      break;
    case onnx::AttributeProto::GRAPH: attribute.type = AttributeType::kGraph; break;
    case onnx::AttributeProto::GRAPHS: attribute.type = AttributeType::kGraphs; break;
    case onnx::AttributeProto::TENSORS: attribute.type = AttributeType::kTensors; break;
    case onnx::AttributeProto::SPARSE_TENSOR: attribute.type = AttributeType::kSparseTensor; break;
    case onnx::AttributeProto::TYPE_PROTO: attribute.type = AttributeType::kTypeProto; break;
    default: attribute.type = AttributeType::kUnsupported; break;
  }
  return attribute;
}

void attribute_to_proto(const Attribute& attribute, onnx::AttributeProto& proto) {
  proto.set_name(attribute.name);
  switch (attribute.type) {
    case AttributeType::kFloat:
      proto.set_type(onnx::AttributeProto::FLOAT);
      proto.set_f(attribute.f);
      break;
    case AttributeType::kInt:
      proto.set_type(onnx::AttributeProto::INT);
      proto.set_i(attribute.i);
      break;
    case AttributeType::kString:
      proto.set_type(onnx::AttributeProto::STRING);
      proto.set_s(attribute.s);
      break;
    case AttributeType::kTensor:
      proto.set_type(onnx::AttributeProto::TENSOR);
      tensor_to_proto(*attribute.tensor, *proto.mutable_t());
      break;
    case AttributeType::kFloats:
      proto.set_type(onnx::AttributeProto::FLOATS);
      for (float value : attribute.floats) proto.add_floats(value);
      break;
    case AttributeType::kInts:
      proto.set_type(onnx::AttributeProto::INTS);
      for (int64_t value : attribute.ints) proto.add_ints(value);
      break;
    case AttributeType::kStrings:
      proto.set_type(onnx::AttributeProto::STRINGS);
      for (const auto& value : attribute.strings) proto.add_strings(value);
      break;
    default: throw UnsupportedError(concat("cannot save attribute '", attribute.name, "': unsupported type"));
  }
}

// Copies `count` values of a repeated proto field into the tensor buffer, converting each to T.
template <typename T, typename Field>
void copy_field(const Field& field, Tensor& tensor, const std::string& what) {
  check(field.size() == tensor.element_count(), what, ": ", field.size(), " values for shape ",
        shape_to_string(tensor.shape()));
  T* destination = static_cast<T*>(tensor.raw_data());
  for (int i = 0; i < field.size(); ++i) destination[i] = static_cast<T>(field.Get(i));
}

std::string read_external_data(const onnx::TensorProto& proto, const std::string& base_directory,
                               const std::string& what) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location") location = entry.value();
    if (entry.key() == "offset") offset = std::stoll(entry.value());
    if (entry.key() == "length") length = std::stoll(entry.value());
  }
  check(!location.empty(), what, ": external data without a location");
  std::filesystem::path relative(location);
  check(relative.is_relative(), what, ": external data location '", location, "' must be relative to the model");
  for (const auto& part : relative) check(part != "..", what, ": external data location '", location, "' leaves the model's folder");
  const std::string path = (std::filesystem::path(base_directory) / relative).string();
  std::ifstream stream(path, std::ios::binary);
  check(static_cast<bool>(stream), what, ": cannot open external data file ", path);
  stream.seekg(0, std::ios::end);
  const int64_t file_size = stream.tellg();
  if (length < 0) length = file_size - offset;
  check(offset >= 0 && length >= 0 && offset + length <= file_size, what, ": external data range [", offset, ", ",
        offset + length, ") exceeds ", path, " (", file_size, " bytes)");
  std::string bytes(static_cast<size_t>(length), '\0');
  stream.seekg(offset);
  stream.read(bytes.data(), length);
  return bytes;
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string temporary = concat(path, ".tmp.", ::getpid());
  {
    std::ofstream stream(temporary, std::ios::binary | std::ios::trunc);
    check(static_cast<bool>(stream), path, ": cannot open for writing");
    stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    stream.close();
    if (!stream) {
      std::filesystem::remove(temporary);
      throw Error(concat(path, ": write failed"));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary);
    throw Error(concat(path, ": cannot rename temporary file: ", error.message()));
  }
}

}  // namespace

int64_t onnx_library_max_opset() {
  const auto& map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto found = map.find(onnx::ONNX_DOMAIN);
  return found == map.end() ? 0 : found->second.second;
}

Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_directory, const std::string& what) {
  const auto dtype = static_cast<DataType>(proto.data_type());
  if (dtype == DataType::kString) throw UnsupportedError(concat(what, ": string tensors are not supported"));
  if (dtype_size(dtype) == 0 || dtype_name(dtype).starts_with("dtype("))
    throw UnsupportedError(concat(what, ": unsupported data type ", proto.data_type()));
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t dim : shape) check(dim >= 0, what, ": negative dimension in shape ", shape_to_string(shape));
  Tensor tensor;
  try {
    tensor = Tensor(dtype, shape);
  } catch (const Error& error) {
    throw Error(concat(what, ": ", error.what()));
  }
  const size_t expected_bytes = tensor.byte_size();

  const bool external = proto.data_location() == onnx::TensorProto::EXTERNAL;
  if (external || proto.has_raw_data()) {
    const std::string external_bytes = external ? read_external_data(proto, base_directory, what) : std::string();
    const std::string& bytes = external ? external_bytes : proto.raw_data();
    check(bytes.size() == expected_bytes, what, ": ", bytes.size(), " bytes of data for shape ",
          shape_to_string(shape), " of ", dtype_name(dtype), " (", expected_bytes, " expected)");
    if (expected_bytes) std::memcpy(tensor.raw_data(), bytes.data(), expected_bytes);
    return tensor;
  }
  switch (dtype) {
    case DataType::kFloat: copy_field<float>(proto.float_data(), tensor, what); break;
    case DataType::kDouble: copy_field<double>(proto.double_data(), tensor, what); break;
    case DataType::kInt64: copy_field<int64_t>(proto.int64_data(), tensor, what); break;
    case DataType::kUint32: copy_field<uint32_t>(proto.uint64_data(), tensor, what); break;
    case DataType::kUint64: copy_field<uint64_t>(proto.uint64_data(), tensor, what); break;
    case DataType::kInt32: copy_field<int32_t>(proto.int32_data(), tensor, what); break;
    case DataType::kInt16: copy_field<int16_t>(proto.int32_data(), tensor, what); break;
    case DataType::kUint16: copy_field<uint16_t>(proto.int32_data(), tensor, what); break;
    case DataType::kInt8: copy_field<int8_t>(proto.int32_data(), tensor, what); break;
    case DataType::kUint8: copy_field<uint8_t>(proto.int32_data(), tensor, what); break;
    case DataType::kBool: copy_field<bool>(proto.int32_data(), tensor, what); break;
    case DataType::kFloat16:
    case DataType::kBfloat16: copy_field<uint16_t>(proto.int32_data(), tensor, what); break;
    default: throw UnsupportedError(concat(what, ": unsupported data type ", dtype_name(dtype)));
  }
  return tensor;
}

void tensor_to_proto(const Tensor& tensor, onnx::TensorProto& proto) {
  proto.set_data_type(static_cast<int32_t>(tensor.dtype()));
  for (int64_t dim : tensor.shape()) proto.add_dims(dim);
  proto.set_raw_data(static_cast<const char*>(tensor.raw_data()), tensor.byte_size());
}

Tensor load_tensor_file(const std::string& path) {
  const std::string bytes = read_file(path);
  onnx::TensorProto proto;
  check(proto.ParseFromString(bytes), path, ": not a serialized ONNX TensorProto");
  return tensor_from_proto(proto, std::filesystem::path(path).parent_path().string(), path);
}

Model model_from_proto(onnx::ModelProto& proto, const std::string& base_directory, const std::string& source,
                       const LoadOptions& options) {
  check(proto.has_graph(), source, ": the model has no graph");
  Model model;
  model.ir_version = proto.ir_version();
  model.producer_name = proto.producer_name();
  model.producer_version = proto.producer_version();
  model.domain = proto.domain();
  model.model_version = proto.model_version();
  model.doc_string = proto.doc_string();
  int64_t default_opset = 0;
  for (const auto& opset : proto.opset_import()) {
    const std::string domain = opset.domain() == "ai.onnx" ? "" : opset.domain();
    model.opset_imports[domain] = opset.version();
    if (domain.empty()) default_opset = opset.version();
  }
  check(default_opset > 0 || proto.opset_import_size() > 0, source, ": the model imports no opset");
  for (const auto& entry : proto.metadata_props()) model.metadata_props.emplace_back(entry.key(), entry.value());

  // External data must stay inside the model's folder: checked before the ONNX checker, which
  // would only report a missing file.
  bool uses_external_data = false;
  for (const auto& initializer : proto.graph().initializer()) {
    if (initializer.data_location() != onnx::TensorProto::EXTERNAL) continue;
    uses_external_data = true;
    for (const auto& entry : initializer.external_data()) {
      if (entry.key() != "location") continue;
      const std::filesystem::path location(entry.value());
      const std::string what = concat(source, ": initializer '", initializer.name(), "'");
      check(location.is_relative(), what, ": external data location '", entry.value(),
            "' must be relative to the model");
      for (const auto& part : location)
        check(part != "..", what, ": external data location '", entry.value(), "' leaves the model's folder");
    }
  }
  if (options.check) {
    // The linked ONNX library knows opsets up to onnx_library_max_opset(); newer models are loaded
    // without the checker rather than rejected for the library's age.
    if (default_opset <= onnx_library_max_opset()) {
      try {
        // The in-memory checker resolves external data against the working directory; the
        // file-based one against the model's folder, which is what the file means.
        if (uses_external_data && std::filesystem::is_regular_file(source)) {
          onnx::checker::check_model(source);
        } else {
          onnx::checker::check_model(proto);
        }
      } catch (const std::exception& error) {
        throw Error(concat(source, ": invalid model: ", one_line(error.what())));
      }
    }
  }
  if (options.infer_shapes) {
    try {
      onnx::ShapeInferenceOptions inference_options(/*check_type=*/false, /*strict_mode=*/0, /*data_prop=*/true);
      onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), inference_options);
    } catch (const std::exception& error) {
      // Shape inference is advisory: the runtime computes shapes itself. Keep what was declared.
    }
  }

  const auto& graph_proto = proto.graph();
  Graph& graph = model.graph;
  graph.name = graph_proto.name();
  for (const auto& initializer : graph_proto.initializer()) {
    check(!initializer.name().empty(), source, ": an initializer has no name");
    graph.initializers[initializer.name()] = std::make_shared<const Tensor>(
        tensor_from_proto(initializer, base_directory, concat(source, ": initializer '", initializer.name(), "'")));
  }
  if (graph_proto.sparse_initializer_size() > 0)
    throw UnsupportedError(concat(source, ": sparse initializers are not supported"));
  for (const auto& input : graph_proto.input()) {
    // Before IR version 4, initializers were also listed as inputs; they stay initializers here.
    if (graph.initializers.count(input.name())) continue;
    if (input.has_type() && !input.type().has_tensor_type())
      throw UnsupportedError(concat(source, ": input '", input.name(), "' is not a tensor (sequence, map and optional inputs are not supported)"));
    graph.inputs.push_back(value_info_from_proto(input));
  }
  for (const auto& output : graph_proto.output()) graph.outputs.push_back(value_info_from_proto(output));
  for (const auto& value_info : graph_proto.value_info())
    graph.value_infos[value_info.name()] = value_info_from_proto(value_info);

  for (const auto& node_proto : graph_proto.node()) {
    Node node;
    node.name = node_proto.name();
    node.op_type = node_proto.op_type();
    node.domain = node_proto.domain() == "ai.onnx" ? "" : node_proto.domain();
    node.inputs.assign(node_proto.input().begin(), node_proto.input().end());
    node.outputs.assign(node_proto.output().begin(), node_proto.output().end());
    const std::string description = node.describe();
    for (const auto& attribute : node_proto.attribute())
      node.attributes.push_back(attribute_from_proto(attribute, base_directory, description));
    graph.nodes.push_back(std::move(node));
  }
  try {
    graph.topological_sort();
    graph.verify();
  } catch (const Error& error) {
    throw Error(concat(source, ": ", error.what()));
  }
  return model;
}

Model load_model(const std::string& path, const LoadOptions& options) {
  const std::string bytes = read_file(path);
  check(!bytes.empty(), path, ": file is empty");
  onnx::ModelProto proto;
  if (!proto.ParseFromString(bytes) || !proto.has_graph())
    throw Error(concat(path, ": not a valid ONNX model (protobuf parse failed)"));
  const std::string base_directory = std::filesystem::absolute(path).parent_path().string();
  return model_from_proto(proto, base_directory, path, options);
}

void model_to_proto(const Model& model, onnx::ModelProto& proto) {
  proto.Clear();
  proto.set_ir_version(model.ir_version);
  if (!model.producer_name.empty()) proto.set_producer_name(model.producer_name);
  if (!model.producer_version.empty()) proto.set_producer_version(model.producer_version);
  if (!model.domain.empty()) proto.set_domain(model.domain);
  if (model.model_version) proto.set_model_version(model.model_version);
  if (!model.doc_string.empty()) proto.set_doc_string(model.doc_string);
  for (const auto& [domain, version] : model.opset_imports) {
    auto* opset = proto.add_opset_import();
    opset->set_domain(domain);
    opset->set_version(version);
  }
  for (const auto& [key, value] : model.metadata_props) {
    auto* entry = proto.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  const Graph& graph = model.graph;
  auto* graph_proto = proto.mutable_graph();
  graph_proto->set_name(graph.name.empty() ? "octet" : graph.name);
  for (const auto& [name, tensor] : graph.initializers) {
    auto* initializer = graph_proto->add_initializer();
    tensor_to_proto(*tensor, *initializer);
    initializer->set_name(name);
  }
  for (const auto& input : graph.inputs) value_info_to_proto(input, *graph_proto->add_input());
  for (const auto& output : graph.outputs) value_info_to_proto(output, *graph_proto->add_output());
  for (const auto& [name, info] : graph.value_infos) {
    if (info.dtype == DataType::kUndefined) continue;
    value_info_to_proto(info, *graph_proto->add_value_info());
  }
  for (const auto& node : graph.nodes) {
    auto* node_proto = graph_proto->add_node();
    if (!node.name.empty()) node_proto->set_name(node.name);
    node_proto->set_op_type(node.op_type);
    if (!node.domain.empty()) node_proto->set_domain(node.domain);
    for (const auto& input : node.inputs) node_proto->add_input(input);
    for (const auto& output : node.outputs) node_proto->add_output(output);
    for (const auto& attribute : node.attributes) attribute_to_proto(attribute, *node_proto->add_attribute());
  }
}

void save_model(const Model& model, const std::string& path) {
  onnx::ModelProto proto;
  model_to_proto(model, proto);
  std::string bytes;
  // Deterministic serialization keeps map ordering stable: the same model gives the same bytes.
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    check(proto.SerializeToCodedStream(&coded), path, ": cannot serialize the model");
  }
  write_file_atomically(path, bytes);
}

}  // namespace octet
