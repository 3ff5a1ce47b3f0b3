#include "uploads.h"

#include <sys/stat.h>
#include <unzip.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <set>

#include "eval/dataset.h"
#include "eval/preprocess.h"
#include "octet/status.h"
#include "paths.h"

namespace octet::workbench {

namespace fs = std::filesystem;

namespace {

constexpr std::array<unsigned char, 8> kPngSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr std::array<unsigned char, 3> kJpegSignature = {0xff, 0xd8, 0xff};
constexpr std::array<unsigned char, 6> kNpyMagic = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kCopyChunkBytes = 1 << 16;
constexpr size_t kMaxEntryNameBytes = 4096;
constexpr uint16_t kEncryptedFlag = 1;  // general purpose bit 0 of a zip entry

std::string lower_case(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string mebibytes(int64_t bytes) { return concat(bytes / kMebibyte, " MiB"); }

template <size_t N>
bool starts_with_bytes(const std::string& head, const std::array<unsigned char, N>& signature) {
  if (head.size() < N) return false;
  return std::equal(signature.begin(), signature.end(), head.begin(),
                    [](unsigned char expected, char got) { return expected == static_cast<unsigned char>(got); });
}

// Minizip's unzFile, closed on scope exit.
class ZipReader {
 public:
  explicit ZipReader(const fs::path& path) : file_(unzOpen64(path.c_str())) {}
  ~ZipReader() {
    if (file_) unzClose(file_);
  }
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;
  unzFile get() const { return file_; }

 private:
  unzFile file_;
};

// The entry's path split at '/' and '\\' (zip files from Windows tools use either).
std::vector<std::string> entry_components(const std::string& name) {
  std::vector<std::string> components;
  std::string current;
  for (const char c : name) {
    if (c == '/' || c == '\\') {
      components.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  components.push_back(current);
  return components;
}

void check_entry_path(const std::string& name, const std::string& what) {
  check(!name.empty(), what, ": empty file name");
  check(name.find('\0') == std::string::npos, what, ": '", name, "' has a NUL byte in its name");
  check(name.front() != '/' && name.front() != '\\', what, ": '", name,
        "' is an absolute path (refused: files must stay inside the data set folder)");
  check(!(name.size() >= 2 && name[1] == ':'), what, ": '", name, "' names a drive (refused)");
  for (const std::string& component : entry_components(name))
    check(component != "..", what, ": '", name, "' has a '..' component (refused: path traversal)");
}

}  // namespace

std::string flat_file_name(const std::string& path, const std::string& what) {
  check_entry_path(path, what);
  const std::string name = entry_components(path).back();
  check_plain_file_name(name, what);
  return name;
}

DatasetFileType dataset_file_type(const std::string& name) {
  if (name == kLabelFileName) return DatasetFileType::kLabels;
  const std::string extension = lower_case(fs::path(name).extension().string());
  if (extension == ".png") return DatasetFileType::kPng;
  if (extension == ".jpg" || extension == ".jpeg") return DatasetFileType::kJpeg;
  if (extension == ".npy") return DatasetFileType::kNpy;
  throw Error(concat("'", name, "': not a data set file (accepted: .png, .jpg, .jpeg, .npy samples and ",
                     kLabelFileName, ")"));
}

void check_file_signature(const fs::path& path, DatasetFileType type, const std::string& what) {
  std::ifstream file(path, std::ios::binary);
  check(file.good(), what, ": cannot read the file");
  if (type == DatasetFileType::kLabels) {
    std::vector<char> chunk(kCopyChunkBytes);
    while (file) {
      file.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      const auto count = static_cast<size_t>(file.gcount());
      check(std::find(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(count), '\0') ==
                chunk.begin() + static_cast<std::ptrdiff_t>(count),
            what, ": not a text file (labels.tsv holds name<TAB>label lines)");
    }
    return;
  }
  std::string head(8, '\0');
  file.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(file.gcount()));
  switch (type) {
    case DatasetFileType::kPng:
      check(starts_with_bytes(head, kPngSignature), what, ": not a PNG image (wrong signature)");
      break;
    case DatasetFileType::kJpeg:
      check(starts_with_bytes(head, kJpegSignature), what, ": not a JPEG image (wrong signature)");
      break;
    case DatasetFileType::kNpy:
      check(starts_with_bytes(head, kNpyMagic), what, ": not a .npy file (no \\x93NUMPY magic)");
      break;
    case DatasetFileType::kLabels:
      break;
  }
}

CappedFileWriter::CappedFileWriter(const fs::path& path, int64_t max_bytes, std::string what)
    : path_(path), max_bytes_(max_bytes), what_(std::move(what)) {
  stream_.open(path, std::ios::binary | std::ios::trunc);
  check(stream_.good(), what_, ": cannot create '", path.string(), "'");
}

CappedFileWriter::~CappedFileWriter() {
  if (committed_) return;
  stream_.close();
  std::error_code ignored;
  fs::remove(path_, ignored);
}

void CappedFileWriter::write(const char* data, size_t size) {
  if (bytes_written_ + static_cast<int64_t>(size) > max_bytes_)
    throw TooLargeError(concat(what_, " is larger than the ", mebibytes(max_bytes_), " limit"));
  stream_.write(data, static_cast<std::streamsize>(size));
  check(stream_.good(), what_, ": write failed (disk full?)");
  bytes_written_ += static_cast<int64_t>(size);
}

void CappedFileWriter::commit() {
  stream_.flush();
  check(stream_.good(), what_, ": write failed (disk full?)");
  stream_.close();
  committed_ = true;
}

std::vector<std::string> extract_zip(const fs::path& archive, const fs::path& folder, const std::string& what) {
  ZipReader zip(archive);
  check(zip.get() != nullptr, what, ": not a zip archive");
  std::vector<std::string> extracted;
  std::set<std::string> names;
  int64_t total_bytes = 0;
  int64_t entries = 0;
  std::vector<char> name_buffer(kMaxEntryNameBytes + 1);
  std::vector<char> chunk(kCopyChunkBytes);
  int status = unzGoToFirstFile(zip.get());
  check(status == UNZ_OK || status == UNZ_END_OF_LIST_OF_FILE, what, ": not a readable zip archive");
  for (; status == UNZ_OK; status = unzGoToNextFile(zip.get())) {
    check(++entries <= kMaxArchiveEntries, what, ": more than ", kMaxArchiveEntries, " entries");
    unz_file_info64 info{};
    std::fill(name_buffer.begin(), name_buffer.end(), '\0');
    check(unzGetCurrentFileInfo64(zip.get(), &info, name_buffer.data(), kMaxEntryNameBytes, nullptr, 0, nullptr, 0) ==
              UNZ_OK,
          what, ": unreadable entry #", entries);
    check(info.size_filename <= kMaxEntryNameBytes, what, ": entry #", entries, " has a name longer than ",
          kMaxEntryNameBytes, " bytes");
    const std::string name(name_buffer.data(), info.size_filename);
    check_entry_path(name, concat(what, ": entry"));
    if (name.back() == '/' || name.back() == '\\') continue;  // a folder
    const std::vector<std::string> components = entry_components(name);
    const std::string base = components.back();
    if (components.front() == "__MACOSX" || base.front() == '.') continue;
    const std::string entry_what = concat(what, ": entry '", name, "'");
    // Unix mode in the high half of external_fa when made on Unix (version_made_by's high byte 3).
    const auto mode = static_cast<uint32_t>(info.external_fa >> 16);
    check((info.version >> 8) != 3 || !S_ISLNK(mode), entry_what, " is a symbolic link (refused)");
    check((info.flag & kEncryptedFlag) == 0, entry_what, " is encrypted (refused)");
    flat_file_name(name, entry_what);
    const DatasetFileType type = [&] {
      try {
        return dataset_file_type(base);
      } catch (const Error& error) {
        throw Error(concat(what, ": entry ", error.what()));
      }
    }();
    check(names.insert(base).second, entry_what, ": a second file named '", base,
          "' (the archive's folders are dropped, file names must be unique)");

    check(unzOpenCurrentFile(zip.get()) == UNZ_OK, entry_what, ": cannot open it (unsupported compression?)");
    const fs::path target = folder / base;
    {
      CappedFileWriter writer(target, kMaxDatasetFileBytes, entry_what);
      while (true) {
        const int count = unzReadCurrentFile(zip.get(), chunk.data(), static_cast<unsigned>(chunk.size()));
        if (count < 0) {
          unzCloseCurrentFile(zip.get());
          throw Error(concat(entry_what, ": corrupt data"));
        }
        if (count == 0) break;
        total_bytes += count;
        if (total_bytes > kMaxArchiveBytes) {
          unzCloseCurrentFile(zip.get());
          throw TooLargeError(concat(what, ": extracted files exceed the ", mebibytes(kMaxArchiveBytes), " limit"));
        }
        try {
          writer.write(chunk.data(), static_cast<size_t>(count));
        } catch (...) {
          unzCloseCurrentFile(zip.get());
          throw;
        }
      }
      check(unzCloseCurrentFile(zip.get()) == UNZ_OK, entry_what, ": corrupt data (CRC mismatch)");
      writer.commit();
    }
    check_file_signature(target, type, entry_what);
    extracted.push_back(base);
  }
  check(status == UNZ_END_OF_LIST_OF_FILE, what, ": corrupt archive after entry #", entries);
  return extracted;
}

DatasetSummary summarize_dataset(const fs::path& folder) {
  const std::vector<std::string> images = list_sample_files(folder.string(), SampleFormat::kImage);
  const std::vector<std::string> tensors = list_sample_files(folder.string(), SampleFormat::kNpy);
  check(!(images.empty() && tensors.empty()), "data set '", folder.string(),
        "' holds no samples (.png, .jpg, .jpeg, .bmp images or .npy tensors)");
  check(images.empty() || tensors.empty(), "data set '", folder.string(), "' holds both images (", images.size(),
        ") and .npy tensors (", tensors.size(), "): use one kind per data set");
  DatasetSummary summary;
  summary.kind = images.empty() ? "npy" : "images";
  summary.sample_count = static_cast<int64_t>(images.empty() ? tensors.size() : images.size());
  summary.has_labels = fs::is_regular_file(folder / kLabelFileName);
  return summary;
}

}  // namespace octet::workbench
