// `octet verify DIR... [--rtol R] [--atol A] [--skip-list FILE]`: runs ONNX test-data folders
// (model.onnx + test_data_set_N/) and compares outputs. A DIR without model.onnx is expanded to its
// subfolders that have one (e.g. the whole ONNX node-test folder).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "runtime/test_case.h"

namespace octet::cli {
namespace {

namespace fs = std::filesystem;

constexpr double kDefaultRtol = 1e-3;  // the ONNX backend test runner's defaults
constexpr double kDefaultAtol = 1e-5;

bool is_test_folder(const fs::path& directory) {
  std::error_code error;
  return fs::is_regular_file(directory / "model.onnx", error);
}

std::vector<fs::path> expand_test_folders(const std::vector<std::string>& arguments) {
  std::vector<fs::path> folders;
  for (const std::string& argument : arguments) {
    const fs::path directory(argument);
    std::error_code error;
    check(fs::is_directory(directory, error), argument, ": no such directory");
    if (is_test_folder(directory)) {
      folders.push_back(directory);
      continue;
    }
    std::vector<fs::path> children;
    for (const auto& entry : fs::directory_iterator(directory))
      if (entry.is_directory() && is_test_folder(entry.path())) children.push_back(entry.path());
    check(!children.empty(), argument, ": has no model.onnx, and no subfolder has one");
    std::sort(children.begin(), children.end());
    folders.insert(folders.end(), children.begin(), children.end());
  }
  return folders;
}

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// Reads "test_name  # reason" lines; blank lines and lines starting with '#' are ignored. Every
// entry must carry a reason: a skipped test without one is a hole nobody can judge.
std::map<std::string, std::string> read_skip_list(const std::string& path) {
  std::error_code error;
  check(fs::is_regular_file(path, error), path, ": no such file");
  std::ifstream stream(path);
  check(static_cast<bool>(stream), path, ": cannot open for reading");
  std::map<std::string, std::string> reasons;
  std::string line;
  for (int line_number = 1; std::getline(stream, line); ++line_number) {
    const std::string content = trim(line);
    if (content.empty() || content[0] == '#') continue;
    const size_t hash = content.find('#');
    const std::string name = trim(content.substr(0, hash));
    const std::string reason = hash == std::string::npos ? "" : trim(content.substr(hash + 1));
    check(name.find_first_of(" \t") == std::string::npos, path, ":", line_number, ": expected 'test_name  # reason'");
    check(!reason.empty(), path, ":", line_number, ": skip entry '", name, "' has no reason (write '", name,
          "  # reason')");
    reasons[name] = reason;
  }
  return reasons;
}

class VerifyCommand : public Command {
 public:
  explicit VerifyCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("verify", "Run ONNX test-data folders and compare outputs with the expected ones");
    app_->add_option("dirs", directories_, "Test folders (model.onnx + test_data_set_N/), or folders holding them")
        ->required();
    app_->add_option("--rtol", rtol_, "Relative tolerance")->capture_default_str()->check(non_negative_number());
    app_->add_option("--atol", atol_, "Absolute tolerance")->capture_default_str()->check(non_negative_number());
    app_->add_option("--skip-list", skip_list_path_, "File of 'test_name  # reason' lines to report as SKIP");
    app_->add_option("--threads", threads_, "Threads per test")->capture_default_str()->check(positive_integer());
    app_->add_option("--implementation", implementation_,
                     "Run only this kernel implementation (\"reference\" tests the reference kernels)");
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    const std::map<std::string, std::string> skip_reasons =
        skip_list_path_.empty() ? std::map<std::string, std::string>{} : read_skip_list(skip_list_path_);
    const std::vector<fs::path> folders = expand_test_folders(directories_);
    int passed = 0;
    int failed = 0;
    int skipped = 0;
    for (const fs::path& folder : folders) {
      const std::string name = folder.filename().string();
      auto listed = skip_reasons.find(name);
      if (listed != skip_reasons.end()) {
        std::cout << "SKIP " << name << ": " << listed->second << " (skip list)\n";
        ++skipped;
        continue;
      }
      const TestCaseResult result = run_test_case(folder.string(), rtol_, atol_, threads_, implementation_);
      // The test name is already on the line: drop the model path that load errors start with.
      std::string message = result.message;
      const std::string model_prefix = (folder / "model.onnx").string() + ": ";
      if (message.starts_with(model_prefix)) message = message.substr(model_prefix.size());
      const std::string detail = message.empty() ? "" : ": " + single_line(message);
      switch (result.status) {
        case TestCaseStatus::kPassed: std::cout << "PASS " << name << detail << "\n"; ++passed; break;
        case TestCaseStatus::kFailed: std::cout << "FAIL " << name << detail << "\n"; ++failed; break;
        case TestCaseStatus::kSkipped: std::cout << "SKIP " << name << detail << "\n"; ++skipped; break;
      }
      std::cout.flush();  // progress stays visible when a long run is piped
    }
    std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
    return failed > 0 ? kExitUserError : kExitSuccess;
  }

 private:
  CLI::App* app_ = nullptr;
  std::vector<std::string> directories_;
  double rtol_ = kDefaultRtol;
  double atol_ = kDefaultAtol;
  std::string skip_list_path_;
  std::string implementation_;
  int threads_ = 1;
};

}  // namespace

std::unique_ptr<Command> make_verify_command(CLI::App& parent) { return std::make_unique<VerifyCommand>(parent); }

}  // namespace octet::cli
