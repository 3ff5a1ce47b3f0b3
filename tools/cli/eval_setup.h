// The labeled data set and metric options of a command that measures accuracy (`octet quantize
// --algorithm accuracy-aware`; `octet eval` builds the same from the same option names): parses the
// options once and owns what EvalOptions points to.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eval/evaluate.h"

namespace octet::cli {

struct EvalSetupOptions {
  std::string dataset_dir;
  std::string dataset_option = "--dataset";  // names the folder's option in errors
  std::string metric;
  std::string dictionary_path;
  std::vector<std::string> classes;
  std::string preprocess;  // empty: .npy samples
};

class EvalSetup {
 public:
  // Parses the metric name, loads the dictionary (CTC metrics) and lists the data set. Throws Error
  // naming the option or file at fault: an unknown metric (--metric), a CTC metric without --dict, a
  // missing or malformed data set (the folder / labels.tsv line), a bad --preprocess spec.
  explicit EvalSetup(const EvalSetupOptions& options);
  EvalSetup(const EvalSetup&) = delete;
  EvalSetup& operator=(const EvalSetup&) = delete;

  const EvalOptions& options() const { return options_; }
  const LabeledDataset& dataset() const { return dataset_; }

 private:
  std::unique_ptr<CtcDictionary> dictionary_;
  std::unique_ptr<PreprocessSpec> preprocess_;
  LabeledDataset dataset_;
  EvalOptions options_;  // points into dictionary_ and preprocess_
};

}  // namespace octet::cli
