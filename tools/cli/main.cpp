// The `octet` command-line tool: parses arguments, calls the library, prints. Every user error ends
// as one line "octet: <message>" on stderr and exit code 1 (SPEC.md "Command line").
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_util.h"
#include "commands.h"

namespace {

int report_error(const std::string& message) {
  std::cerr << "octet: " << octet::cli::single_line(message) << "\n";
  return octet::cli::kExitUserError;
}

int run_octet(int argc, char** argv) {
  CLI::App app("octet: ONNX INT8 quantization and CPU inference", "octet");
  app.require_subcommand(1);
  std::vector<std::unique_ptr<octet::cli::Command>> commands;
  commands.push_back(octet::cli::make_inspect_command(app));
  commands.push_back(octet::cli::make_run_command(app));
  commands.push_back(octet::cli::make_verify_command(app));
  commands.push_back(octet::cli::make_bench_command(app));
  commands.push_back(octet::cli::make_eval_command(app));
  commands.push_back(octet::cli::make_quantize_command(app));
  commands.push_back(octet::cli::make_workbench_command(app));
  commands.push_back(octet::cli::make_ocr_command(app));

  // CLI11 would report a missing or unknown command in its own words; name them plainly instead.
  std::string known;
  bool found = false;
  for (const auto& command : commands) {
    known += (known.empty() ? "" : ", ") + command->app().get_name();
    found = found || (argc >= 2 && command->app().get_name() == argv[1]);
  }
  if (argc < 2) return report_error("no command given (commands: " + known + "; see octet --help)");
  if (argv[1][0] != '-' && !found)
    return report_error(std::string("unknown command '") + argv[1] + "' (commands: " + known + ")");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& help) {
    return app.exit(help);  // --help: prints the usage on stdout, exit code 0
  } catch (const CLI::ParseError& error) {
    std::string context;
    for (const auto& command : commands)
      if (command->app().parsed()) context = command->app().get_name() + ": ";
    return report_error(context + error.what() + " (see --help)");
  }
  for (const auto& command : commands)
    if (command->app().parsed()) return command->run();
  return report_error("no command given (see octet --help)");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_octet(argc, argv);
  } catch (const std::bad_alloc&) {
    return report_error("out of memory");
  } catch (const std::exception& error) {
    return report_error(error.what());
  } catch (...) {
    return report_error("unexpected internal error");
  }
}
