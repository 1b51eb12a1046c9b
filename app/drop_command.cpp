#include "app/drop_command.h"

#include <unistd.h>

#include <iostream>

#include "app/signal_loop.h"
#include "core/config/reader.h"
#include "core/log/log.h"
#include "transfer/drop/drop_service.h"

namespace sluice::app {

DropCommand::DropCommand(CLI::App* transfer) {
  drop_ = transfer->add_subcommand(
      "drop", "Ingest every file partners drop in SFTP (or local) inboxes into the lake, exactly once");
  drop_->add_option("--config", config_path_, "The drop configuration (TOML: [drop] and [drops.NAME])")->required();
  auto* once = drop_->add_flag("--once", once_, "Take what is complete now, then exit (for a timer)");
  auto* status = drop_->add_flag("--status", status_, "Print the ledger's recent activity and exit");
  auto* check = drop_->add_flag("--check", check_, "Validate the configuration, print it with defaults, and exit");
  drop_->add_option("--recent", recent_, "With --status: how many recent files per drop")->check(CLI::Range(0, 100000));
  once->excludes(status)->excludes(check);
  status->excludes(check);
}

bool DropCommand::selected() const { return drop_->parsed(); }

int DropCommand::Execute() {
  transfer::drop::DropServiceConfig config;
  try {
    config = transfer::drop::LoadDropConfig(config_path_);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  if (check_) {
    std::cout << config.effective.ToToml();
    return 0;
  }
  if (status_) {
    Status s = transfer::drop::PrintDropStatus(config, std::cout, recent_);
    if (!s.ok()) {
      std::cerr << "sluice transfer drop --status: " << s.message() << "\n";
      return 1;
    }
    return 0;
  }
  Logger log = MakeLogger("drop", config.log_format == "json" ? LogFormat::kJson : LogFormat::kText,
                          ParseLogLevel(config.log_level).value());

  transfer::drop::StopFlag stop;
  const Status result = RunUntilDone([&] { return transfer::drop::RunDropService(config, once_, log, stop); },
                                     [&](int count, std::string_view name) {
                                       if (count == 1) {
                                         log->info(
                                             "received {}: stopping after the current step (unfinished files "
                                             "resume next run)",
                                             name);
                                         stop.Stop();
                                       } else {
                                         // Safe at any point: the ledger resumes whatever was in flight.
                                         log->warn("received a second signal: exiting now");
                                         _exit(1);
                                       }
                                     });
  if (!result.ok()) {
    log->error("{}", result.message());
    return 1;
  }
  return 0;
}

}  // namespace sluice::app
