#include "tests/support/sink_agent.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "tests/support/numbered_lines.h"

namespace sluice::test {

AgentOptions SinkAgentOptions(const std::filesystem::path& root, const std::string& sink_toml) {
  AgentOptions o;
  o.sink_toml = sink_toml;
  o.paths = {(root / "logs" / "app.log").string()};
  o.retry_initial = "20ms";
  o.retry_max = "200ms";
  return o;
}

void WriteNumberedLines(const AgentUnderTest& agent, uint64_t count) {
  LineWriter::Options o;
  o.file = agent.logs() / "app.log";
  o.count = count;
  o.lines_per_second = 0;
  LineWriter writer(o);
  writer.Join();
}

void StartUntilCaughtUp(AgentUnderTest& agent) {
  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(std::chrono::seconds(60), std::chrono::milliseconds(1000)));
}

}  // namespace sluice::test
