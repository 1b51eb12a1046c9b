// `sluice agent [--config FILE]`, `sluice agent check --config FILE`,
// `sluice agent replay --config FILE --sink NAME --since TIME [--until TIME]`.
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
  int Replay();

  CLI::App* agent_ = nullptr;
  CLI::App* check_ = nullptr;
  CLI::App* replay_ = nullptr;
  std::string config_path_;
  std::string replay_sink_;
  std::string replay_since_;
  std::string replay_until_;
};

}  // namespace sluice::app
