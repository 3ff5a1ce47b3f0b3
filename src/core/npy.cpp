#include "core/npy.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace octet {
namespace {

struct NpyType {
  const char* descr;
  DataType dtype;
};
constexpr NpyType kNpyTypes[] = {
    {"<f4", DataType::kFloat},  {"<f8", DataType::kDouble}, {"<f2", DataType::kFloat16}, {"|u1", DataType::kUint8},
    {"|i1", DataType::kInt8},   {"<u2", DataType::kUint16}, {"<i2", DataType::kInt16},   {"<u4", DataType::kUint32},
    {"<i4", DataType::kInt32},  {"<u8", DataType::kUint64}, {"<i8", DataType::kInt64},   {"|b1", DataType::kBool},
};

// Value of `key` in the header dict, e.g. 'descr': '<f4' -> <f4 ; 'shape': (1, 3) -> (1, 3)
std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
  const auto key_position = header.find("'" + key + "'");
  check(key_position != std::string::npos, path, ": .npy header has no '", key, "'");
  auto position = header.find(':', key_position);
  check(position != std::string::npos, path, ": malformed .npy header");
  ++position;
  while (position < header.size() && header[position] == ' ') ++position;
  check(position < header.size(), path, ": malformed .npy header");
  if (header[position] == '\'') {
    const auto end = header.find('\'', position + 1);
    check(end != std::string::npos, path, ": malformed .npy header");
    return header.substr(position + 1, end - position - 1);
  }
  if (header[position] == '(') {
    const auto end = header.find(')', position);
    check(end != std::string::npos, path, ": malformed .npy header");
    return header.substr(position, end - position + 1);
  }
  const auto end = header.find_first_of(",}", position);
  check(end != std::string::npos, path, ": malformed .npy header");
  return header.substr(position, end - position);
}

Shape parse_shape(const std::string& text, const std::string& path) {
  Shape shape;
  std::string number;
  for (char c : text.substr(1)) {
    if (c >= '0' && c <= '9') {
      number += c;
    } else if (c == ',' || c == ')') {
      if (!number.empty()) {
        check(number.size() < 18, path, ": absurd dimension ", number, " in .npy shape");
        shape.push_back(std::stoll(number));
        number.clear();
      }
    } else if (c != ' ' && c != 'L') {
      throw Error(concat(path, ": malformed .npy shape ", text));
    }
  }
  return shape;
}

}  // namespace

Tensor load_npy(const std::string& path) {
  std::error_code error;
  check(std::filesystem::is_regular_file(path, error), path, ": no such file");
  std::ifstream stream(path, std::ios::binary);
  check(static_cast<bool>(stream), path, ": cannot open for reading");
  char magic[8] = {};
  stream.read(magic, 8);
  check(stream.gcount() == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0, path, ": not a .npy file");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_length = 0;
  if (major == 1) {
    unsigned char bytes[2] = {};
    stream.read(reinterpret_cast<char*>(bytes), 2);
    header_length = bytes[0] | (bytes[1] << 8);
  } else {
    check(major == 2 || major == 3, path, ": unsupported .npy version ", major);
    unsigned char bytes[4] = {};
    stream.read(reinterpret_cast<char*>(bytes), 4);
    header_length = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (static_cast<uint32_t>(bytes[3]) << 24);
  }
  check(static_cast<bool>(stream) && header_length < (1u << 20), path, ": truncated .npy header");
  std::string header(header_length, '\0');
  stream.read(header.data(), header_length);
  check(static_cast<size_t>(stream.gcount()) == header_length, path, ": truncated .npy header");

  const std::string descr = header_value(header, "descr", path);
  check(header_value(header, "fortran_order", path) == "False", path, ": Fortran-order .npy is not supported");
  DataType dtype = DataType::kUndefined;
  for (const auto& type : kNpyTypes)
    if (descr == type.descr) dtype = type.dtype;
  check(dtype != DataType::kUndefined, path, ": unsupported .npy dtype '", descr, "'");
  const Shape shape = parse_shape(header_value(header, "shape", path), path);

  Tensor tensor(dtype, shape);
  stream.read(static_cast<char*>(tensor.raw_data()), static_cast<std::streamsize>(tensor.byte_size()));
  check(static_cast<size_t>(stream.gcount()) == tensor.byte_size(), path, ": file holds less data than its shape ",
        shape_to_string(shape), " needs");
  return tensor;
}

void save_npy(const Tensor& tensor, const std::string& path) {
  const char* descr = nullptr;
  for (const auto& type : kNpyTypes)
    if (type.dtype == tensor.dtype()) descr = type.descr;
  if (tensor.dtype() == DataType::kBfloat16) throw Error(concat(path, ": bfloat16 cannot be written as .npy"));
  check(descr != nullptr, path, ": cannot write ", dtype_name(tensor.dtype()), " as .npy");
  std::string shape = "(";
  for (size_t i = 0; i < tensor.shape().size(); ++i) shape += std::to_string(tensor.shape()[i]) + ", ";
  if (tensor.shape().size() > 1) shape.resize(shape.size() - 2);
  if (tensor.shape().size() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = concat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  // Magic (6) + version (2) + length (2) + header + newline is padded to a multiple of 64.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  const std::string temporary = concat(path, ".tmp.", ::getpid());
  {
    std::ofstream stream(temporary, std::ios::binary | std::ios::trunc);
    check(static_cast<bool>(stream), path, ": cannot open for writing");
    const unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                      static_cast<unsigned char>(header.size() & 0xff),
                                      static_cast<unsigned char>(header.size() >> 8)};
    stream.write(reinterpret_cast<const char*>(prefix), 10);
    stream.write(header.data(), static_cast<std::streamsize>(header.size()));
    stream.write(static_cast<const char*>(tensor.raw_data()), static_cast<std::streamsize>(tensor.byte_size()));
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

}  // namespace octet
