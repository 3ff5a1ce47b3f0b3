#include "eval/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "octet/status.h"

namespace octet {
namespace fs = std::filesystem;

namespace {

struct LabelLine {
  std::string label;
  int line_number = 0;
};

// name (as written) and name without extension -> label. Both keys point at the same line, so
// "0001.png" labels "0001.npy" through its stem.
std::map<std::string, LabelLine> read_label_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  check(file.good(), path, ": cannot open the label file (each data set folder needs a ", kLabelFileName,
        " with lines name<TAB>label)");
  std::map<std::string, LabelLine> by_name;
  std::map<std::string, LabelLine> by_stem;
  std::string line;
  int line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    check(tab != std::string::npos, path, ":", line_number, ": malformed line (expected name<TAB>label): '",
          line.substr(0, 60), "'");
    check(tab > 0, path, ":", line_number, ": malformed line: empty sample name before the TAB");
    const std::string name = line.substr(0, tab);
    const LabelLine entry{line.substr(tab + 1), line_number};
    const auto [existing, inserted] = by_name.emplace(name, entry);
    check(inserted, path, ":", line_number, ": '", name, "' is already labeled on line ", existing->second.line_number);
    const std::string stem = fs::path(name).stem().string();
    if (stem != name) {
      const auto [other, stem_inserted] = by_stem.emplace(stem, entry);
      check(stem_inserted, path, ":", line_number, ": '", name, "' labels the same sample as line ",
            other->second.line_number);
    }
  }
  for (const auto& [stem, entry] : by_stem) {
    const auto exact = by_name.find(stem);
    if (exact != by_name.end())
      throw Error(concat(path, ":", entry.line_number, ": labels the same sample as line ", exact->second.line_number));
    by_name.emplace(stem, entry);
  }
  return by_name;
}

}  // namespace

LabeledDataset load_labeled_dataset(const std::string& folder, SampleFormat format) {
  const bool images = format == SampleFormat::kImage;
  check(fs::is_directory(folder), folder, ": not a folder (--dataset needs a folder of ",
        images ? "images" : ".npy samples", " and ", kLabelFileName, ")");
  LabeledDataset dataset;
  dataset.folder = folder;
  std::vector<std::string> names;
  for (const std::string& path : list_sample_files(folder, format)) names.push_back(fs::path(path).filename().string());
  check(!names.empty(), folder,
        images ? ": no image samples (.png, .jpg, .jpeg, .bmp) in the folder"
               : ": no .npy samples in the folder (image samples need --preprocess SPEC)");

  const std::string label_path = (fs::path(folder) / kLabelFileName).string();
  check(fs::exists(label_path), label_path, ": missing (each data set folder needs a ", kLabelFileName,
        " with lines name<TAB>label)");
  const std::map<std::string, LabelLine> labels = read_label_file(label_path);
  for (const std::string& name : names) {
    auto found = labels.find(name);
    if (found == labels.end()) found = labels.find(fs::path(name).stem().string());
    check(found != labels.end(), label_path, ": no label for sample '", name, "'");
    dataset.samples.push_back({name, (fs::path(folder) / name).string(), found->second.label,
                               concat(label_path, ":", found->second.line_number)});
  }
  return dataset;
}

}  // namespace octet
