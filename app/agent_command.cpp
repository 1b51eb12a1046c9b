#include "app/agent_command.h"

#include <iostream>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "app/signal_loop.h"

namespace sluice::app {

AgentCommand::AgentCommand(CLI::App& app) {
  agent_ = app.add_subcommand("agent", "Tail logs and topics into the on-disk buffer and ship them to sinks");
  agent_->add_option("-c,--config", config_path_, "configuration file (TOML)")->required()->check(CLI::ExistingFile);
  check_ = agent_->add_subcommand("check", "Validate the configuration and print it with every default");
  check_->fallthrough();
}

int AgentCommand::Execute() {
  if (!agent_->parsed()) return 2;
  return check_->parsed() ? Check() : Run();
}

int AgentCommand::Check() {
  try {
    AgentConfig config = LoadAgentConfig(config_path_);
    std::cout << "# " << config_path_ << ": valid (" << config.sources.size() << " sources, " << config.sinks.size()
              << " sinks); effective configuration with defaults:\n\n"
              << config.effective.ToToml();
    return 0;
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
}

int AgentCommand::Run() {
  AgentConfig config;
  try {
    config = LoadAgentConfig(config_path_);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  Logger log = MakeLogger("agent", config.log_format, config.log_level);

  std::stop_source stop, abort;
  const Status result = RunUntilDone([&] { return RunAgent(config, log, stop.get_token(), abort.get_token()); },
                                     [&](int count, std::string_view name) {
                                       if (count == 1) {
                                         log->info("received {}: shutting down", name);
                                         stop.request_stop();
                                       } else {
                                         log->warn(
                                             "received a second signal: abandoning the flush (pending data stays in "
                                             "the buffer)");
                                         abort.request_stop();
                                       }
                                     });
  if (!result.ok()) {
    log->error("agent failed: {}", result.message());
    return result.code() == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sluice::app
