// `octet run MODEL --input NAME=FILE.npy ... [--output-dir DIR] [--threads N]`: one inference.
// `octet run MODEL --input-dir IN --output-dir OUT`: every IN/X.npy through a single-input model,
// the first output to OUT/X.npy and further outputs to OUT/X.<name>.npy.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "core/npy.h"
#include "runtime/session.h"

namespace octet::cli {
namespace {

namespace fs = std::filesystem;

std::string input_names(const Session& session) {
  std::string names;
  for (const ValueInfo& input : session.inputs()) names += (names.empty() ? "" : ", ") + input.name;
  return names;
}

// Checks a loaded file against the declared input so that the error names the file. The session
// checks the same again; this is only for a better message.
void check_matches_input(const Tensor& tensor, const ValueInfo& declared, const std::string& file) {
  if (declared.dtype != DataType::kUndefined && declared.dtype != tensor.dtype()) {
    throw Error(concat(file, ": holds ", dtype_name(tensor.dtype()), " data, but input '", declared.name,
                       "' expects ", dtype_name(declared.dtype)));
  }
  if (!declared.has_shape) return;
  if (static_cast<size_t>(tensor.rank()) != declared.dims.size()) {
    throw Error(concat(file, ": shape ", shape_to_string(tensor.shape()), " has rank ", tensor.rank(), ", but input '",
                       declared.name, "' expects rank ", declared.dims.size(), " (", declared.shape_string(), ")"));
  }
  for (size_t i = 0; i < declared.dims.size(); ++i) {
    if (declared.dims[i].is_known() && declared.dims[i].value != tensor.dim(static_cast<int64_t>(i))) {
      throw Error(concat(file, ": shape ", shape_to_string(tensor.shape()), " differs from input '", declared.name,
                         "' shape ", declared.shape_string(), " in dimension ", i));
    }
  }
}

// "min -1.2 max 3.4 mean 0.5" for a quick look at an output printed instead of saved.
std::string value_summary(const Tensor& tensor) {
  if (tensor.element_count() == 0) return "empty";
  double minimum = INFINITY, maximum = -INFINITY, sum = 0;
  for (int64_t i = 0; i < tensor.element_count(); ++i) {
    const double value = tensor.value_as_double(i);
    minimum = std::min(minimum, value);
    maximum = std::max(maximum, value);
    sum += value;
  }
  return concat("min ", minimum, " max ", maximum, " mean ", sum / static_cast<double>(tensor.element_count()));
}

// Writes the outputs of one inference; on failure removes the files of this inference already
// written, so that an error leaves no partial set behind.
void write_outputs(const std::vector<Tensor>& outputs, const std::vector<std::string>& paths) {
  std::vector<std::string> written;
  try {
    for (size_t i = 0; i < outputs.size(); ++i) {
      save_npy(outputs[i], paths[i]);
      written.push_back(paths[i]);
    }
  } catch (...) {
    for (const std::string& path : written) {
      std::error_code ignored;
      fs::remove(path, ignored);
    }
    throw;
  }
}

void create_output_directory(const std::string& directory) {
  std::error_code error;
  fs::create_directories(directory, error);
  check(!error && fs::is_directory(directory), directory, ": cannot create the output directory",
        error ? ": " + error.message() : std::string(""));
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

class RunCommand : public Command {
 public:
  explicit RunCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("run", "Run inference on .npy inputs and write .npy outputs");
    app_->add_option("model", model_path_, "ONNX model file")->required();
    auto* input = app_->add_option("--input", input_values_,
                                   "Input NAME=FILE.npy (repeatable; FILE.npy alone for a single-input model)")
                      ->allow_extra_args(false);
    auto* input_dir = app_->add_option("--input-dir", input_dir_,
                                       "Batch form: run every .npy file of this folder (single-input models)");
    input->excludes(input_dir);
    app_->add_option("--output-dir", output_dir_,
                     "Write each output to DIR/<output name>.npy (batch form: OUT/X.npy and OUT/X.<name>.npy); "
                     "without it, outputs are summarized on stdout");
    app_->add_option("--threads", threads_, "Threads (default: all cores)")->check(positive_integer());
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    check(!input_values_.empty() || !input_dir_.empty(), "run: give --input NAME=FILE.npy or --input-dir DIR");
    check(input_dir_.empty() || !output_dir_.empty(), "run: --input-dir needs --output-dir");
    SessionOptions options;
    options.threads = threads_;
    session_ = with_file_context(model_path_, [&] { return Session::from_file(model_path_, options); });
    return input_dir_.empty() ? run_single() : run_batch();
  }

 private:
  const ValueInfo* find_input(const std::string& name) const {
    for (const ValueInfo& input : session_->inputs())
      if (input.name == name) return &input;
    return nullptr;
  }

  // The output file names of one inference: `stem` + "." + output name for all but the first when
  // `first_takes_stem`, else output name for all.
  std::vector<std::string> output_paths(const std::string& stem, bool first_takes_stem) const {
    std::vector<std::string> paths;
    for (size_t i = 0; i < session_->outputs().size(); ++i) {
      const std::string name = file_name_for(session_->outputs()[i].name);
      std::string file = first_takes_stem ? (i == 0 ? stem : stem + "." + name) : name;
      paths.push_back((fs::path(output_dir_) / (file + ".npy")).string());
    }
    for (size_t i = 0; i < paths.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        check(paths[i] != paths[j], "outputs '", session_->outputs()[j].name, "' and '", session_->outputs()[i].name,
              "' would both be written to ", paths[i]);
    return paths;
  }

  std::vector<Tensor> run_session(const std::map<std::string, const Tensor*>& feeds, const std::string& context) {
    return with_file_context(context, [&] { return session_->run(feeds); });
  }

  int run_single() {
    std::vector<Tensor> tensors;
    std::vector<std::string> names;
    tensors.reserve(input_values_.size());
    for (const std::string& value : input_values_) {
      const size_t equals = value.find('=');
      std::string name;
      std::string file;
      if (equals != std::string::npos && find_input(value.substr(0, equals))) {
        name = value.substr(0, equals);
        file = value.substr(equals + 1);
      } else {
        std::error_code ignored;
        const bool names_unknown_input = equals != std::string::npos && !fs::exists(value, ignored);
        check(!names_unknown_input, "--input '", value, "': the model has no input named '", value.substr(0, equals),
              "' (inputs: ", input_names(*session_), ")");
        check(session_->inputs().size() == 1, "--input '", value, "': expected NAME=FILE.npy where NAME is one of ",
              input_names(*session_));
        name = session_->inputs()[0].name;
        file = value;
      }
      check(std::find(names.begin(), names.end(), name) == names.end(), "--input: input '", name,
            "' is given twice");
      Tensor tensor = with_file_context(file, [&] { return load_npy(file); });
      check_matches_input(tensor, *find_input(name), file);
      tensors.push_back(std::move(tensor));
      names.push_back(name);
    }
    std::map<std::string, const Tensor*> feeds;
    for (size_t i = 0; i < names.size(); ++i) feeds[names[i]] = &tensors[i];
    for (const ValueInfo& input : session_->inputs())
      check(feeds.count(input.name), "missing --input for input '", input.name, "' (", dtype_name(input.dtype), " ",
            input.shape_string(), ")");

    const auto start = std::chrono::steady_clock::now();
    std::vector<Tensor> outputs = run_session(feeds, model_path_);
    const double elapsed_ms = milliseconds_since(start);
    if (output_dir_.empty()) {
      for (size_t i = 0; i < outputs.size(); ++i) {
        std::cout << session_->outputs()[i].name << ": " << dtype_name(outputs[i].dtype()) << " "
                  << shape_to_string(outputs[i].shape()) << "  " << value_summary(outputs[i]) << "\n";
      }
    } else {
      const std::vector<std::string> paths = output_paths("", false);
      create_output_directory(output_dir_);
      write_outputs(outputs, paths);
      for (size_t i = 0; i < outputs.size(); ++i) {
        std::cout << session_->outputs()[i].name << ": " << dtype_name(outputs[i].dtype()) << " "
                  << shape_to_string(outputs[i].shape()) << " -> " << paths[i] << "\n";
      }
    }
    std::cout << "inference took " << elapsed_ms << " ms\n";
    return kExitSuccess;
  }

  int run_batch() {
    check(session_->inputs().size() == 1, "--input-dir needs a single-input model; ", model_path_, " has ",
          session_->inputs().size(), " inputs (", input_names(*session_), "): use --input NAME=FILE.npy");
    std::error_code error;
    check(fs::is_directory(input_dir_, error), input_dir_, ": no such directory");
    check(!fs::exists(output_dir_, error) || !fs::equivalent(input_dir_, output_dir_, error), output_dir_,
          ": --output-dir must differ from --input-dir (outputs would overwrite inputs)");
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(input_dir_))
      if (entry.path().extension() == ".npy" && entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    check(!files.empty(), input_dir_, ": no .npy files");

    const ValueInfo& declared = session_->inputs()[0];
    bool output_directory_ready = false;  // created at the first write, so an early error leaves nothing
    for (const fs::path& file : files) {
      const auto start = std::chrono::steady_clock::now();
      const Tensor tensor = with_file_context(file.string(), [&] { return load_npy(file.string()); });
      check_matches_input(tensor, declared, file.string());
      std::vector<Tensor> outputs = run_session({{declared.name, &tensor}}, file.string());
      const std::vector<std::string> paths = output_paths(file.stem().string(), true);
      if (!output_directory_ready) create_output_directory(output_dir_);
      output_directory_ready = true;
      write_outputs(outputs, paths);
      std::cout << file.filename().string() << ": " << shape_to_string(tensor.shape()) << " ->";
      for (const Tensor& output : outputs) std::cout << " " << shape_to_string(output.shape());
      std::cout << " (" << milliseconds_since(start) << " ms)\n";
    }
    std::cout << files.size() << " files processed, outputs in " << output_dir_ << "\n";
    return kExitSuccess;
  }

  CLI::App* app_ = nullptr;
  std::string model_path_;
  std::vector<std::string> input_values_;
  std::string input_dir_;
  std::string output_dir_;
  int threads_ = 0;
  std::unique_ptr<Session> session_;
};

}  // namespace

std::unique_ptr<Command> make_run_command(CLI::App& parent) { return std::make_unique<RunCommand>(parent); }

}  // namespace octet::cli
