#include "app/agent_command.h"

#include <chrono>
#include <iostream>
#include <utility>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "agent/agent_service.h"
#include "agent/record/json_record.h"
#include "agent/replay.h"
#include "app/signal_loop.h"
#include "core/config/units.h"
#include "core/systemd/sd_notify.h"
#include "core/util/wall_clock.h"

namespace sluice::app {

AgentCommand::AgentCommand(CLI::App& app) {
  agent_ = app.add_subcommand("agent", "Tail logs and topics into the on-disk buffer and ship them to sinks");
  agent_->add_option("-c,--config", config_path_, "configuration file (TOML)")->required()->check(CLI::ExistingFile);
  agent_->footer(
      "Signals: SIGTERM or SIGINT stops (what was read is committed, sinks deliver for shutdown_timeout, the rest "
      "stays in the buffer); SIGHUP reloads the configuration file (an invalid one is refused and the running one "
      "stays). Under systemd (Type=notify) it reports READY=1, WATCHDOG=1 and RELOADING=1.");
  check_ = agent_->add_subcommand("check", "Validate the configuration and print it with every default");
  check_->fallthrough();
  replay_ = agent_->add_subcommand(
      "replay", "Send the batches the buffer still holds (see [agent] retain) from a time window to one sink again");
  replay_->add_option("--sink", replay_sink_, "the sink to send to (a [sinks.NAME] of the configuration)")->required();
  replay_
      ->add_option("--since", replay_since_,
                   "start of the window: RFC 3339 (2026-11-22T10:00:00Z) or a duration back from now (24h)")
      ->required();
  replay_->add_option("--until", replay_until_, "end of the window, exclusive (default: now)");
  replay_->fallthrough();
}

int AgentCommand::Execute() {
  if (!agent_->parsed()) return 2;
  if (check_->parsed()) return Check();
  return replay_->parsed() ? Replay() : Run();
}

int AgentCommand::Check() {
  try {
    AgentConfig config = LoadAgentConfig(config_path_);
    std::cout << "# " << config_path_ << ": valid (" << config.sources.size() << " sources, "
              << config.transforms.size() << " transforms, " << config.sinks.size() << " sinks)\n"
              << DescribeAgentGraph(config) << "# effective configuration with defaults:\n\n"
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

  // Under systemd (Type=notify) readiness, liveness and reloads are reported;
  // elsewhere the notifier does nothing.
  const SystemdNotifier notifier;
  if (!notifier.setup_problem().empty()) log->warn("not notifying systemd: {}", notifier.setup_problem());
  AgentService service(
      config_path_, std::move(config), log,
      [&](std::string_view state) {
        if (Status s = notifier.Notify(state); !s.ok()) log->warn("{}", s.message());
      },
      notifier.watchdog_interval().value_or(std::chrono::milliseconds(0)));

  const Status result = RunUntilDone([&] { return service.Run(); },
                                     [&](int count, std::string_view name) {
                                       if (count == 1) {
                                         log->info("received {}: shutting down", name);
                                         service.Stop();
                                       } else {
                                         log->warn(
                                             "received a second signal: abandoning the flush (pending data stays in "
                                             "the buffer)");
                                         service.Abort();
                                       }
                                     },
                                     [&] {
                                       log->info("received SIGHUP: reloading {}", config_path_);
                                       // A refused reload is logged by the service; the agent goes on.
                                       (void)service.Reload();
                                     });
  if (!result.ok()) {
    log->error("agent failed: {}", result.message());
    return result.code() == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

int AgentCommand::Replay() {
  AgentConfig config;
  ReplayWindow window;
  window.sink = replay_sink_;
  try {
    config = LoadAgentConfig(config_path_);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  const int64_t now = WallClockMs();
  Result<int64_t> since = ParseReplayTime(replay_since_, now);
  Result<int64_t> until = replay_until_.empty() ? Result<int64_t>(now) : ParseReplayTime(replay_until_, now);
  for (const auto& [flag, r] : {std::pair{"--since", &since}, std::pair{"--until", &until}}) {
    if (!r->ok()) {
      std::cerr << "sluice agent replay: " << flag << ": " << r->status().message() << "\n";
      return 2;
    }
  }
  window.since_ms = since.value();
  window.until_ms = until.value();
  if (window.until_ms <= window.since_ms) {
    std::cerr << "sluice agent replay: --until (" << FormatTimestampMs(window.until_ms) << ") must be after --since ("
              << FormatTimestampMs(window.since_ms) << ")\n";
    return 2;
  }
  Logger log = MakeLogger("replay", config.log_format, config.log_level);
  std::stop_source stop;
  auto last_print = std::chrono::steady_clock::time_point();
  auto print = [&](const ReplayProgress& p) {
    const auto now_tp = std::chrono::steady_clock::now();
    const bool done = p.batches_done + p.skipped >= p.batches_total;
    if (!done && now_tp - last_print < std::chrono::seconds(1)) return;
    last_print = now_tp;
    const int64_t pct = p.records_total > 0 ? p.records_done * 100 / p.records_total : 100;
    std::cerr << "replay " << window.sink << ": " << p.batches_done << "/" << p.batches_total << " batches, "
              << p.records_done << "/" << p.records_total << " records (" << pct << "%), " << FormatSize(p.bytes_done)
              << " stored bytes sent";
    if (p.skipped > 0) std::cerr << ", " << p.skipped << " skipped (deleted meanwhile)";
    if (p.retries > 0) std::cerr << ", " << p.retries << " retries";
    std::cerr << "\n";
  };
  const Status result = RunUntilDone([&] { return RunReplay(config, window, log, stop.get_token(), print); },
                                     [&](int, std::string_view name) {
                                       log->info("received {}: stopping the replay", name);
                                       stop.request_stop();
                                     });
  if (!result.ok()) {
    log->error("replay failed: {}", result.message());
    return result.code() == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sluice::app
