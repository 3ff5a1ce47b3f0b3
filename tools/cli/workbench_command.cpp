// `octet workbench [--port 8080] [--workspace DIR] [--host 127.0.0.1] [--web-dir DIR]`: the local web
// workbench (the library does the work: tools/workbench/server.h; API in tools/workbench/API.md).
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "server.h"

namespace octet::cli {
namespace {

constexpr const char* kDescription =
    "Start the local web workbench: projects, inspection, benchmarks, quantization jobs, accuracy and "
    "FP32 vs INT8 comparison in a browser. Prints the URL to open (with its access token); Ctrl-C stops it.";

class WorkbenchCommand : public Command {
 public:
  explicit WorkbenchCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("workbench", kDescription);
    app_->add_option("--port", options_.port, "TCP port; 0 picks a free one (the URL printed names it)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    app_->add_option("--workspace", options_.workspace,
                     "Folder for the database, uploads and INT8 models (created when missing)")
        ->capture_default_str();
    app_->add_option("--host", options_.host,
                     "Address to listen on (default loopback only; anyone reaching the port still needs the token)")
        ->capture_default_str();
    app_->add_option("--web-dir", options_.web_dir,
                     "Serve the page from this folder instead of the copy built in (for page development)");
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    workbench::run_workbench(options_, std::cout);
    return kExitSuccess;
  }

 private:
  CLI::App* app_ = nullptr;
  workbench::WorkbenchOptions options_;
};

}  // namespace

std::unique_ptr<Command> make_workbench_command(CLI::App& parent) {
  return std::make_unique<WorkbenchCommand>(parent);
}

}  // namespace octet::cli
