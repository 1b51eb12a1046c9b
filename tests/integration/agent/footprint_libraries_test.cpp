// An agent that tails into the lake maps none of the libraries only other
// jobs or sinks use (core/util/shared_library.h): they are ~10 MiB resident
// that a device would otherwise carry for nothing. Read from the running
// agent's /proc/PID/maps.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/agent_fixture.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {

TEST_CASE("agent: tailing into the lake loads no SMB, HTTP or Kafka library", "[integration][agent][footprint]") {
  TempDir dir("sluice-footprint-libs");
  AgentUnderTest agent(dir.path(), AgentOptions{});
  AppendFile(agent.logs() / "app.log", "one line\n");
  agent.Start();
  REQUIRE(agent.WaitForLakeLines(1, std::chrono::seconds(30)));

  std::ifstream maps("/proc/" + std::to_string(agent.pid()) + "/maps");
  REQUIRE(maps);
  std::vector<std::string> mapped;
  for (std::string line; std::getline(maps, line);) {
    if (const size_t slash = line.find('/'); slash != std::string::npos) mapped.push_back(line.substr(slash));
  }
  REQUIRE_FALSE(mapped.empty());
  const auto loaded = [&](const std::string& name) {
    for (const std::string& m : mapped) {
      if (m.find(name) != std::string::npos) return true;
    }
    return false;
  };
  CHECK(loaded("libsqlite3.so"));  // what it does need is there: the check can see libraries
  CHECK_FALSE(loaded("libsmbclient.so"));
  CHECK_FALSE(loaded("libcurl.so"));
  CHECK_FALSE(loaded("librdkafka.so"));
  const auto st = agent.Stop();
  REQUIRE(st);
  CHECK(st->Exited(0));
}

}  // namespace sluice::test
