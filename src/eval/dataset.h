// A labeled data set for `octet eval`: a folder of samples (one `.npy` tensor, or one image file to
// preprocess, per sample) and a `labels.tsv` with one `name<TAB>label` line per sample (SPEC.md "Command line", `octet
// eval`).
#pragma once

#include <string>
#include <vector>

#include "eval/preprocess.h"

namespace octet {

// The name of the label file inside a data set folder.
inline constexpr const char* kLabelFileName = "labels.tsv";

struct LabeledSample {
  std::string name;          // the sample's file name, e.g. "0001.npy"
  std::string path;          // folder + name
  std::string label;         // the text after the TAB, verbatim (UTF-8; may be empty)
  std::string label_origin;  // "DIR/labels.tsv:LINE", for messages about a malformed label
};

struct LabeledDataset {
  std::string folder;
  std::vector<LabeledSample> samples;  // sorted by file name, so runs are deterministic
};

// Reads the samples of DIR in `format` (DIR/*.npy, or DIR's .png/.jpg/.jpeg/.bmp images; sorted by
// name, see list_sample_files) and DIR/labels.tsv. A label line's name matches its sample with
// or without extension: "0001.png" and "0001" both label "0001.npy" (a data set generated as images
// and preprocessed to tensors keeps its labels). Label lines naming no sample are ignored; blank
// lines are skipped; a trailing '\r' is removed. Files are only listed here, not read.
// Throws Error naming the folder or file:line for: a missing folder, a folder without samples of
// the format, a missing labels.tsv, a line without a TAB or with an empty name, two lines labeling the
// same sample, a sample without a label.
LabeledDataset load_labeled_dataset(const std::string& folder, SampleFormat format = SampleFormat::kNpy);

}  // namespace octet
