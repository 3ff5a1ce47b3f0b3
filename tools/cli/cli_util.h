// Small helpers shared by the `octet` subcommands: option parsing, formatting, file writing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "octet/status.h"
#include "octet/tensor.h"

namespace octet::cli {

// The exit codes of every command (SPEC.md "Command line").
constexpr int kExitSuccess = 0;
constexpr int kExitUserError = 1;

// Option validators with plain messages ("--threads: '0' is not a positive integer").
CLI::Validator positive_integer();
CLI::Validator positive_number();
CLI::Validator non_negative_number();

// Parses "1x3x224x224" (dimensions >= 0, 'x'-separated). `option` names the option in errors.
Shape parse_dims(const std::string& text, const std::string& option);
// Parses repeated "--shape NAME=1x3x224x224" values into a map. Throws Error naming the option and
// value for bad syntax or a repeated name.
std::map<std::string, Shape> parse_shape_options(const std::vector<std::string>& values);

// Makes an output name usable as a file name: characters other than letters, digits, '.', '-'
// and '_' become '_' (ONNX names such as "logits:0" or "model/dense/out" are common).
std::string file_name_for(const std::string& value_name);

// Writes `text` to `path` atomically (temporary file in the same folder, then rename), so a reader
// never sees a half-written file and an error leaves no file behind. Throws Error naming the path.
void write_text_file_atomically(const std::string& path, const std::string& text);

// Runs body(); an Error whose message does not already name `path` is rethrown prefixed with it, so
// that every message names the file at fault (the type, Error or UnsupportedError, is kept).
template <typename Body>
auto with_file_context(const std::string& path, Body&& body) {
  try {
    return body();
  } catch (const UnsupportedError& error) {
    if (std::string(error.what()).starts_with(path)) throw;
    throw UnsupportedError(path + ": " + error.what());
  } catch (const Error& error) {
    if (std::string(error.what()).starts_with(path)) throw;
    throw Error(path + ": " + error.what());
  }
}

// Makes an error message a single line (the CLI contract: one line on stderr per error).
std::string single_line(const std::string& message);

// "25.56 M", "4.09 G": a count with a decimal SI suffix.
std::string format_count(int64_t count);
// "97.49 MiB": a byte size with a binary suffix.
std::string format_bytes(int64_t bytes);
// "x=1x3x224x224, mask=1x128"
std::string format_shapes(const std::map<std::string, Shape>& shapes);

}  // namespace octet::cli
