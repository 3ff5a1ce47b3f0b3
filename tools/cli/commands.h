// The subcommands of the `octet` tool. Each registers itself on the top-level CLI11 app (options
// bound to its own members) and, after parsing, runs and returns the process exit code.
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

namespace octet::cli {

class Command {
 public:
  virtual ~Command() = default;
  // The CLI11 subcommand this command registered; parsed() tells whether the user chose it.
  virtual CLI::App& app() = 0;
  // Runs the command. Throws octet::Error (or any std::exception) for user errors; main prints them.
  virtual int run() = 0;
};

std::unique_ptr<Command> make_inspect_command(CLI::App& parent);
std::unique_ptr<Command> make_run_command(CLI::App& parent);
std::unique_ptr<Command> make_verify_command(CLI::App& parent);
std::unique_ptr<Command> make_bench_command(CLI::App& parent);
std::unique_ptr<Command> make_eval_command(CLI::App& parent);
std::unique_ptr<Command> make_quantize_command(CLI::App& parent);
std::unique_ptr<Command> make_workbench_command(CLI::App& parent);
std::unique_ptr<Command> make_ocr_command(CLI::App& parent);

}  // namespace octet::cli
