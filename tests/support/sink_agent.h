// The agent set up the way most sink tests want it: one tail source on
// <root>/logs/app.log, the sink under test (named "lake" by the fixture),
// fast retries; numbered lines written before it starts; run until it has
// delivered everything it read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "tests/support/agent_fixture.h"

namespace sluice::test {

// Options for an agent in `root` whose sink is `sink_toml`, tailing
// <root>/logs/app.log, retrying after 20 ms to 200 ms.
AgentOptions SinkAgentOptions(const std::filesystem::path& root, const std::string& sink_toml);

// Appends numbered lines 1..count to <logs>/app.log as fast as possible.
void WriteNumberedLines(const AgentUnderTest& agent, uint64_t count);

// Starts the agent and requires that it delivers everything it reads (60 s at most).
void StartUntilCaughtUp(AgentUnderTest& agent);

}  // namespace sluice::test
