// The running agent: opens the buffer, starts one thread per source and per
// sink, serves metrics, and shuts down in order on stop:
//   1. sources stop reading and commit what they read (nothing is left in memory);
//   2. sinks drain what is pending, for at most shutdown_timeout;
//   3. sinks still busy (e.g. a destination that is down) are aborted: their
//      batches stay in the buffer for the next start. Nothing is lost either way.
// It reports its life to an AgentObserver (the app forwards that to systemd).
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>

#include "agent/agent_config.h"
#include "core/status.h"

namespace sluice {

// What the agent tells whoever supervises it; every member may be empty.
// Each is called on the thread that called RunAgent.
struct AgentObserver {
  // Every source, sink and the metrics endpoint started.
  std::function<void()> running;
  // Called every `alive_every` (0: never) from the agent's main loop once it
  // checked that the agent is alive: the loop itself is not stuck, and the
  // buffer, which every source and sink thread goes through under its locks,
  // answered a query for each sink. A deadlock on those locks or a stalled
  // SQLite stops the calls. `status` is one line for humans
  // ("2 sources, 1 sinks, 3 batches pending").
  std::chrono::milliseconds alive_every{0};
  std::function<void(const std::string& status)> alive;
  // The shutdown began (a stop request or a failed component).
  std::function<void()> stopping;
};

// Runs until `stop` is requested (then shuts down as above) or a component
// fails in a way it cannot recover from. `abort` cuts the drain short.
Status RunAgent(const AgentConfig& config, Logger log, std::stop_token stop, std::stop_token abort,
                const AgentObserver& observer = {});

}  // namespace sluice
