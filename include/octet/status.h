// Errors raised by octet.
//
// Octet reports failures by throwing. Every error message is one line that names the culprit
// (file, node, input, option) so that a command-line tool can print it as is and exit with code 1.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace octet {

// A user-facing error: bad model, bad data, bad option. Tools print what() and exit with code 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// The model or data is valid ONNX but uses something octet does not implement (an op, a type, an
// attribute value). `octet verify` counts these as skipped rather than failed.
class UnsupportedError : public Error {
 public:
  explicit UnsupportedError(const std::string& message) : Error(message) {}
};

// Joins the arguments with operator<< into one string: concat("node '", name, "' has ", n, " inputs").
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream stream;
  (stream << ... << parts);
  return stream.str();
}

// Throws Error(concat(parts...)) unless `condition` holds.
template <typename... Parts>
void check(bool condition, const Parts&... parts) {
  if (!condition) throw Error(concat(parts...));
}

}  // namespace octet
