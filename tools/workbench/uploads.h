// What the workbench accepts from uploads, and how it stores them: size caps, file types checked by
// extension and by their first bytes (a renamed file is refused), zip archives extracted without
// leaving the target folder, and the summary of a data set folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "octet/status.h"

namespace octet::workbench {

inline constexpr int64_t kMebibyte = int64_t{1} << 20;
inline constexpr int64_t kMaxModelUploadBytes = 512 * kMebibyte;
inline constexpr int64_t kMaxDatasetFileBytes = 64 * kMebibyte;
// Caps both the archive upload and the sum of its extracted files (zip bombs).
inline constexpr int64_t kMaxArchiveBytes = 1024 * kMebibyte;
inline constexpr int64_t kMaxArchiveEntries = 100000;

// An upload or an extracted file above its size cap (HTTP 413 rather than 400).
class TooLargeError : public Error {
 public:
  explicit TooLargeError(const std::string& message) : Error(message) {}
};

// The file types a data set folder may hold.
enum class DatasetFileType { kPng, kJpeg, kNpy, kLabels };

// The type of a data set file by its name: .png, .jpg/.jpeg, .npy (any case) or exactly
// "labels.tsv". Throws Error naming the file for anything else.
DatasetFileType dataset_file_type(const std::string& name);

// Checks the file's first bytes against its type (PNG and JPEG signatures, the NPY magic string; a
// labels.tsv must be text: no NUL byte). `what` names the file in errors. Throws Error otherwise.
void check_file_signature(const std::filesystem::path& path, DatasetFileType type, const std::string& what);

// An uploaded file's name or an archive entry's path reduced to its file name (folders dropped:
// "set/0001.png" -> "0001.png"). Throws Error naming it for an absolute path, a drive letter, a ".."
// component, or a name check_plain_file_name() refuses.
std::string flat_file_name(const std::string& path, const std::string& what);

// Writes a stream of chunks to a file, refusing to grow beyond a cap. The file is removed when the
// writer is destroyed before commit().
class CappedFileWriter {
 public:
  // Throws Error naming `what` when the file cannot be created.
  CappedFileWriter(const std::filesystem::path& path, int64_t max_bytes, std::string what);
  ~CappedFileWriter();
  CappedFileWriter(const CappedFileWriter&) = delete;
  CappedFileWriter& operator=(const CappedFileWriter&) = delete;

  // Throws TooLargeError ("WHAT is larger than the N MiB limit") past the cap, Error on a write error.
  void write(const char* data, size_t size);
  // Flushes and closes; the file stays. Throws Error on a write error.
  void commit();
  int64_t bytes_written() const { return bytes_written_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int64_t max_bytes_;
  std::string what_;
  std::ofstream stream_;
  int64_t bytes_written_ = 0;
  bool committed_ = false;
};

// Extracts a zip archive of data set files into `folder` (which must exist), flat: folders inside
// the archive are dropped ("set/0001.png" -> "0001.png"); macOS metadata ("__MACOSX/") and hidden
// files are skipped. Throws Error naming the archive and the entry for: an entry with an absolute
// path, a drive letter or a ".." component, a symbolic link, an encrypted entry, a file type that
// dataset_file_type() refuses or whose signature is wrong, two entries with the same file name, an
// entry above kMaxDatasetFileBytes, more than kMaxArchiveEntries entries or more than
// kMaxArchiveBytes in all (counted as extracted, not as the archive declares). Files extracted
// before an error stay in `folder`: the caller removes it. Returns the extracted file names.
std::vector<std::string> extract_zip(const std::filesystem::path& archive, const std::filesystem::path& folder,
                                     const std::string& what);

struct DatasetSummary {
  std::string kind;  // "images" | "npy"
  int64_t sample_count = 0;
  bool has_labels = false;
};

// Looks at a data set folder: its samples are either images (.png/.jpg/.jpeg/.bmp) or .npy files,
// not both; labels.tsv is optional. Throws Error naming the folder when it holds no samples or both
// kinds.
DatasetSummary summarize_dataset(const std::filesystem::path& folder);

}  // namespace octet::workbench
