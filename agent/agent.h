// The running agent: opens the buffer, starts one thread per source and per
// sink, serves metrics, and shuts down in order on stop:
//   1. sources stop reading and commit what they read (nothing is left in memory);
//   2. sinks drain what is pending, for at most shutdown_timeout;
//   3. sinks still busy (e.g. a destination that is down) are aborted: their
//      batches stay in the buffer for the next start. Nothing is lost either way.
#pragma once

#include <stop_token>

#include "agent/agent_config.h"
#include "core/status.h"

namespace sluice {

// Runs until `stop` is requested (then shuts down as above) or a component
// fails in a way it cannot recover from. `abort` cuts the drain short.
Status RunAgent(const AgentConfig& config, Logger log, std::stop_token stop, std::stop_token abort);

}  // namespace sluice
