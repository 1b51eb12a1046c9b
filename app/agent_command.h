// `sluice agent [--config FILE]`, `sluice agent check --config FILE`.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace sluice::app {

class AgentCommand {
 public:
  explicit AgentCommand(CLI::App& app);
  // Runs the parsed subcommand; returns the process exit status.
  int Execute();

 private:
  int Check();
  int Run();

  CLI::App* agent_ = nullptr;
  CLI::App* check_ = nullptr;
  std::string config_path_;
};

}  // namespace sluice::app
