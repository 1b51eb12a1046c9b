// The three phases the sinks' fault tests share, through a FaultProxy:
//   1. a full outage (every request answered `outage_status`) for `outage`,
//      while the lines of `lines` are written and the agent starts;
//   2. `mixed` faults until the proxy has seen `min_requests` more requests
//      (or `max_mixed` passed);
//   3. no faults, until the writer has written every line.
// Returns how long the outage lasted, for the backoff ceiling.
#pragma once

#include <chrono>
#include <cstddef>

#include "tests/support/agent_fixture.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/numbered_lines.h"

namespace sluice::test {

struct FaultPhaseOptions {
  LineWriter::Options lines;
  int outage_status = 500;
  std::chrono::milliseconds outage{9000};
  ProxyFaults mixed;
  size_t min_requests = 60;
  std::chrono::milliseconds max_mixed{20000};
};

std::chrono::milliseconds RunFaultPhases(AgentUnderTest& agent, FaultProxy& proxy, const FaultPhaseOptions& options);

}  // namespace sluice::test
