#include "tests/support/fault_phases.h"

#include <thread>

#include "tests/support/wait.h"

namespace sluice::test {

std::chrono::milliseconds RunFaultPhases(AgentUnderTest& agent, FaultProxy& proxy, const FaultPhaseOptions& options) {
  ProxyFaults outage;
  outage.outage_status = options.outage_status;
  proxy.SetFaults(outage);
  const auto outage_on = std::chrono::steady_clock::now();
  LineWriter writer(options.lines);
  agent.Start();
  std::this_thread::sleep_for(options.outage);

  proxy.SetFaults(options.mixed);
  const auto outage_off = std::chrono::steady_clock::now();
  const size_t before_mixed = proxy.Requests().size();
  WaitUntil(
      options.max_mixed, [&] { return proxy.Requests().size() >= before_mixed + options.min_requests; },
      std::chrono::milliseconds(250));

  proxy.SetFaults(ProxyFaults{});
  writer.Join();
  return std::chrono::duration_cast<std::chrono::milliseconds>(outage_off - outage_on);
}

}  // namespace sluice::test
