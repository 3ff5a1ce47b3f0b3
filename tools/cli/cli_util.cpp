#include "cli_util.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "octet/status.h"
#include "runtime/input_shape_text.h"

namespace octet::cli {
namespace {

constexpr double kDecimalStep = 1000.0;
constexpr double kBinaryStep = 1024.0;

}  // namespace

namespace {

// A validator accepting numbers for which `accept` holds; `description` completes "is not ...",
// `label` is what --help shows after the type.
CLI::Validator number_validator(bool integer, bool (*accept)(double), const std::string& description,
                                const std::string& label) {
  return CLI::Validator(
      [integer, accept, description](std::string& text) -> std::string {
        size_t parsed = 0;
        double value = 0;
        try {
          value = std::stod(text, &parsed);
        } catch (const std::exception&) {
          parsed = 0;
        }
        const bool whole = parsed == text.size() && parsed > 0;
        const bool integral = text.find_first_not_of("+-0123456789") == std::string::npos;
        if (!whole || (integer && !integral) || !accept(value)) return "'" + text + "' is not " + description;
        return "";
      },
      label);
}

}  // namespace

CLI::Validator positive_integer() {
  return number_validator(true, [](double value) { return value >= 1 && value <= INT32_MAX; }, "a positive integer", "POSITIVE");
}
CLI::Validator positive_number() {
  return number_validator(false, [](double value) { return value > 0 && std::isfinite(value); }, "a positive number", "POSITIVE");
}
CLI::Validator non_negative_number() {
  return number_validator(false, [](double value) { return value >= 0 && std::isfinite(value); },
                          "a non-negative number", "NONNEGATIVE");
}

Shape parse_dims(const std::string& text, const std::string& option) { return octet::parse_dims(text, option); }

std::map<std::string, Shape> parse_shape_options(const std::vector<std::string>& values) {
  return parse_shape_assignments(values, "--shape");
}

std::string file_name_for(const std::string& value_name) {
  std::string name = value_name;
  for (char& c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '-' || c == '_';
    if (!plain) c = '_';
  }
  // "." and ".." are not file names; an empty name is not either.
  if (name.empty() || name.find_first_not_of('.') == std::string::npos) name = "_" + name;
  return name;
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = concat(path, ".tmp.", getpid());
  {
    std::ofstream stream(temporary, std::ios::binary | std::ios::trunc);
    check(static_cast<bool>(stream), path, ": cannot open for writing");
    stream << text;
    stream.flush();
    if (!stream) {
      stream.close();
      std::remove(temporary.c_str());
      throw Error(concat(path, ": write failed"));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::remove(temporary.c_str());
    throw Error(concat(path, ": cannot write: ", error.message()));
  }
}

std::string single_line(const std::string& message) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::string format_count(int64_t count) {
  static const char* const kSuffixes[] = {"", " K", " M", " G", " T", " P"};
  double value = static_cast<double>(count);
  size_t suffix = 0;
  while (value >= kDecimalStep && suffix + 1 < std::size(kSuffixes)) {
    value /= kDecimalStep;
    ++suffix;
  }
  char buffer[64];
  if (suffix == 0) {
    std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(count));
  } else {
    std::snprintf(buffer, sizeof buffer, "%.2f%s", value, kSuffixes[suffix]);
  }
  return buffer;
}

std::string format_bytes(int64_t bytes) {
  static const char* const kSuffixes[] = {" B", " KiB", " MiB", " GiB", " TiB"};
  double value = static_cast<double>(bytes);
  size_t suffix = 0;
  while (value >= kBinaryStep && suffix + 1 < std::size(kSuffixes)) {
    value /= kBinaryStep;
    ++suffix;
  }
  char buffer[64];
  if (suffix == 0) {
    std::snprintf(buffer, sizeof buffer, "%lld B", static_cast<long long>(bytes));
  } else {
    std::snprintf(buffer, sizeof buffer, "%.2f%s", value, kSuffixes[suffix]);
  }
  return buffer;
}

std::string format_shapes(const std::map<std::string, Shape>& shapes) {
  std::string text;
  for (const auto& [name, shape] : shapes) text += concat(text.empty() ? "" : ", ", name, "=", shape_to_string(shape));
  return text;
}

}  // namespace octet::cli
