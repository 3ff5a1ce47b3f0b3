// A labeled data set for `octet eval`: a folder of preprocessed samples (one `.npy` per sample) and
// a `labels.tsv` with one `name<TAB>label` line per sample (SPEC.md "Command line", `octet eval`).
#pragma once

#include <string>
#include <vector>

namespace octet {

// The name of the label file inside a data set folder.
inline constexpr const char* kLabelFileName = "labels.tsv";

struct LabeledSample {
  std::string name;   // the sample's file name, e.g. "0001.npy"
  std::string path;   // folder + name
  std::string label;  // the text after the TAB, verbatim (UTF-8; may be empty)
};

struct LabeledDataset {
  std::string folder;
  std::vector<LabeledSample> samples;  // sorted by file name, so runs are deterministic
};

// Reads DIR/*.npy (sorted by name) and DIR/labels.tsv. A label line's name matches its sample with
// or without extension: "0001.png" and "0001" both label "0001.npy" (a data set generated as images
// and preprocessed to tensors keeps its labels). Label lines naming no sample are ignored; blank
// lines are skipped; a trailing '\r' is removed. Images (.png/.jpg) are not read here: they need
// preprocessing, which eval does not offer yet.
// Throws Error naming the folder or file:line for: a missing folder, a folder without .npy
// samples, a missing labels.tsv, a line without a TAB or with an empty name, two lines labeling the
// same sample, a sample without a label.
LabeledDataset load_labeled_dataset(const std::string& folder);

}  // namespace octet
