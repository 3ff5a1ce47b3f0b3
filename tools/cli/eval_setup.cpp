#include "eval_setup.h"

#include "octet/status.h"

namespace octet::cli {

EvalSetup::EvalSetup(const EvalSetupOptions& setup) {
  options_.metric = parse_metric_name(setup.metric);  // its message names --metric
  options_.class_names = setup.classes;
  check(!metric_needs_dictionary(options_.metric) || !setup.dictionary_path.empty(), "--metric ", setup.metric,
        " needs --dict FILE (the recognizer's character dictionary)");
  if (metric_needs_dictionary(options_.metric)) {
    dictionary_ = std::make_unique<CtcDictionary>(CtcDictionary::from_file(setup.dictionary_path));
    options_.dictionary = dictionary_.get();
  }
  if (!setup.preprocess.empty()) {
    try {
      preprocess_ = std::make_unique<PreprocessSpec>(parse_preprocess_spec(setup.preprocess));
    } catch (const Error& error) {
      throw Error(concat("--preprocess: ", error.what()));
    }
    options_.preprocess = preprocess_.get();
  }
  try {
    dataset_ = load_labeled_dataset(setup.dataset_dir, setup.preprocess.empty() ? SampleFormat::kNpy : SampleFormat::kImage);
  } catch (const Error& error) {
    throw Error(concat(setup.dataset_option, ": ", error.what()));
  }
}

}  // namespace octet::cli
