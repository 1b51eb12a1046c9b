// AgentService: the agent as a long-running service. Runs RunAgent with the
// configuration file's contents and, on Reload(), replaces them in the same
// process:
//   1. the file is loaded and validated again; if it is invalid the error is
//      logged and the running pipelines go on untouched;
//   2. if it is valid, the running pipelines stop exactly as on SIGTERM
//      (sources commit what they read, sinks drain for shutdown_timeout, the
//      rest stays in the buffer), then start again with the new
//      configuration, resuming from the buffer's checkpoints and cursors, so
//      a reload neither loses nor repeats a record. A new configuration that
//      is valid but cannot start (its metrics address is taken, its data_dir
//      cannot be opened) is logged and the previous one starts again.
// It tells the service manager where it is through `notify`, in sd_notify(3)'s
// vocabulary: READY=1 once running (again), WATCHDOG=1 from the agent's main
// loop's liveness check (see AgentObserver), RELOADING=1 before a reload,
// STOPPING=1 before the final shutdown, and STATUS= lines.
//
// Thread model: Run() on one thread (the job); Stop(), Abort() and Reload()
// from another (the signal loop). mu_ guards the generation and the pending
// configuration; the current configuration belongs to Run()'s thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "agent/agent_config.h"
#include "core/log/log.h"
#include "core/status.h"

namespace sluice {

class AgentService {
 public:
  using Notify = std::function<void(std::string_view state)>;

  // `config` was loaded from `config_path`; `watchdog_every` 0: no WATCHDOG=1.
  AgentService(std::string config_path, AgentConfig config, Logger log, Notify notify,
               std::chrono::milliseconds watchdog_every);

  // Runs until Stop() or a failure; reloads in between. The last run's Status.
  Status Run();
  // Graceful stop, as the first SIGTERM.
  void Stop();
  // Cuts the final drain short, as a second SIGTERM.
  void Abort();
  // Validates the file again and, when valid, restarts the pipelines with it.
  // The validation error otherwise (the old configuration keeps running).
  Status Reload();

 private:
  AgentObserver Observer();

  const std::string config_path_;
  AgentConfig current_;                  // Run()'s thread only
  std::optional<AgentConfig> previous_;  // Run()'s thread only: what ran before a reload, until the new one runs
  std::atomic<bool> reached_running_{false};
  Logger log_;
  Notify notify_;
  const std::chrono::milliseconds watchdog_every_;

  std::stop_source abort_;
  std::mutex mu_;
  std::stop_source generation_;         // stops the running RunAgent
  std::optional<AgentConfig> pending_;  // a validated configuration waiting to start
  bool stopping_ = false;               // Stop() was called: no generation follows
};

}  // namespace sluice
