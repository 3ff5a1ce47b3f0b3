#include "paths.h"

#include <algorithm>
#include <cctype>
#include <random>

#include "octet/status.h"

namespace octet::workbench {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxFileNameBytes = 255;  // NAME_MAX on Linux file systems

fs::path canonical_as_far_as_exists(const fs::path& path) {
  std::error_code error;
  fs::path resolved = fs::weakly_canonical(path, error);
  check(!error, "cannot resolve path '", path.string(), "': ", error.message());
  return resolved;
}

}  // namespace

Workspace::Workspace(const fs::path& root) {
  std::error_code error;
  fs::create_directories(root, error);
  check(!error, "workspace '", root.string(), "': cannot create it: ", error.message());
  check(fs::is_directory(root), "workspace '", root.string(), "' is not a folder");
  root_ = fs::canonical(root, error);
  check(!error, "workspace '", root.string(), "': ", error.message());
  for (const fs::path& folder : {models_dir(), datasets_dir(), uploads_dir()}) {
    fs::create_directories(folder, error);
    check(!error, "workspace folder '", folder.string(), "': cannot create it: ", error.message());
  }
}

fs::path Workspace::confine(const fs::path& path) const {
  const fs::path full = path.is_absolute() ? path : root_ / path;
  const fs::path resolved = canonical_as_far_as_exists(full);
  check(is_within(root_, resolved), "path '", path.string(), "' is outside the workspace");
  return resolved;
}

bool is_within(const fs::path& base, const fs::path& path) {
  const fs::path canonical_base = canonical_as_far_as_exists(base);
  const fs::path canonical_path = canonical_as_far_as_exists(path);
  auto base_part = canonical_base.begin();
  auto path_part = canonical_path.begin();
  for (; base_part != canonical_base.end(); ++base_part, ++path_part) {
    // weakly_canonical keeps a trailing separator as an empty last element.
    if (base_part->empty() && std::next(base_part) == canonical_base.end()) break;
    if (path_part == canonical_path.end() || *base_part != *path_part) return false;
  }
  return true;
}

fs::path user_file(const std::string& text, const std::string& what) {
  check(!text.empty(), what, ": empty path");
  const fs::path path(text);
  check(path.is_absolute(), what, " '", text, "' must be an absolute path");
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  check(fs::exists(status), what, " '", text, "' does not exist");
  check(fs::is_regular_file(status), what, " '", text, "' is not a regular file");
  return fs::canonical(path);
}

fs::path user_directory(const std::string& text, const std::string& what) {
  check(!text.empty(), what, ": empty path");
  const fs::path path(text);
  check(path.is_absolute(), what, " '", text, "' must be an absolute path");
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  check(fs::exists(status), what, " '", text, "' does not exist");
  check(fs::is_directory(status), what, " '", text, "' is not a folder");
  return fs::canonical(path);
}

void check_plain_file_name(const std::string& name, const std::string& what) {
  check(!name.empty(), what, ": empty file name");
  check(name != "." && name != "..", what, " '", name, "' is not a file name");
  check(name.size() <= kMaxFileNameBytes, what, " '", name.substr(0, 40), "...': file name longer than ",
        kMaxFileNameBytes, " bytes");
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    check(c != '/' && c != '\\', what, " '", name, "' contains a path separator (only plain file names are accepted)");
    check(byte >= 0x20 && byte != 0x7f, what, " '", name, "' contains a control character");
  }
}

std::string download_file_name(const std::string& name, const std::string& extension) {
  const auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  const auto plain_char = [&](char c) { return word_char(c) || c == '.' || c == '-'; };
  std::string stem;
  bool in_run = false;  // inside a run of characters replaced by one '_'
  for (size_t i = 0; i < name.size(); ++i) {
    const bool onnx_suffix = name.size() - i >= 5 && name[i] == '.' &&
                             std::equal(name.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                        name.begin() + static_cast<std::ptrdiff_t>(i) + 5, "onnx",
                                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }) &&
                             (i + 5 == name.size() || !word_char(name[i + 5]));
    if (onnx_suffix) {
      i += 4;
      continue;
    }
    if (plain_char(name[i])) {
      stem += name[i];
      in_run = false;
    } else if (!in_run) {
      stem += '_';
      in_run = true;
    }
  }
  const size_t first = stem.find_first_not_of('_');
  stem = first == std::string::npos ? "" : stem.substr(first, stem.find_last_not_of('_') - first + 1);
  return (stem.empty() ? "model" : stem) + extension;
}

std::string random_name() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string name;
  for (int i = 0; i < 4; ++i) {
    uint32_t word = device();
    for (int nibble = 0; nibble < 4; ++nibble, word >>= 4) name += kHex[word & 0xf];
  }
  return name;
}

}  // namespace octet::workbench
