// Where the workbench may read and write. Everything it writes lives under the workspace folder
// (the SQLite database, uploaded and quantized models, uploaded data sets); besides the workspace
// it reads only the files and folders a user named by absolute path. Every path built from request
// data goes through these checks (path traversal: "..", symbolic links, absolute names).
#pragma once

#include <filesystem>
#include <string>

namespace octet::workbench {

// The workspace folder and its layout. Creates the folders when missing.
class Workspace {
 public:
  // Throws Error naming the folder when it cannot be created or is not a folder.
  explicit Workspace(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }  // canonical
  std::filesystem::path database_path() const { return root_ / "workbench.db"; }
  std::filesystem::path models_dir() const { return root_ / "models"; }
  std::filesystem::path datasets_dir() const { return root_ / "datasets"; }
  // Uploads in progress; emptied at start (a server killed mid-upload leaves parts behind).
  std::filesystem::path uploads_dir() const { return root_ / "uploads"; }

  // `path` (absolute or relative to the root) resolved through symbolic links and "..", when it
  // stays inside the workspace. Throws Error otherwise.
  std::filesystem::path confine(const std::filesystem::path& path) const;

 private:
  std::filesystem::path root_;
};

// Whether `path` is `base` or below it, after both are made canonical as far as they exist
// (std::filesystem::weakly_canonical: symbolic links followed, "." and ".." resolved).
bool is_within(const std::filesystem::path& base, const std::filesystem::path& path);

// A path a user named in a JSON request ("path" of a model or data set): it must be absolute and
// name an existing regular file (a folder for user_directory). `what` names the field in errors.
// Returns the canonical path. Throws Error naming the path otherwise.
std::filesystem::path user_file(const std::string& text, const std::string& what);
std::filesystem::path user_directory(const std::string& text, const std::string& what);

// Checks that `name` (an uploaded file name, an archive entry after its folders are dropped) is one
// plain file name: not empty, not "." or "..", no '/', '\\' or control characters, at most 255 bytes.
// Throws Error naming it otherwise.
void check_plain_file_name(const std::string& name, const std::string& what);

// The file name a download of `name` gets, and the one the re-run commands shown to users name
// (the page's safeFileName follows the same rule): ".onnx" taken out, every run of characters other
// than letters, digits, '.', '-' and '_' made one '_', '_' trimmed at both ends ("model" if nothing
// is left), then `extension`. "cls.onnx INT8 (job 3)", ".config.json" -> "cls_INT8_job_3.config.json".
std::string download_file_name(const std::string& name, const std::string& extension);

// A fresh random name (16 hex characters) for temporary files and upload folders.
std::string random_name();

}  // namespace octet::workbench
