// kill -9 at random moments while a writer appends numbered lines across
// rename+create rotations: after the last restart every line is in the lake
// exactly once (DESIGN.md properties 2 and 3).
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <thread>

#include "tests/support/agent_fixture.h"
#include "tests/support/lake_reader.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr int kKills = 32;
constexpr uint64_t kRotateEveryLines = 2000;
constexpr double kKillLinesPerSecond = 1000;

// app.log -> app.log.1 -> app.log.2 -> app.log.3 (the old .3 is deleted by
// the rename over it), then a new empty app.log, all matching app.log*.
// Throws on failure; runs on the writer thread, which reopens app.log
// before its next line.
void Rotate(const std::filesystem::path& logs) {
  const auto name = [&](int k) { return logs / (k == 0 ? std::string("app.log") : "app.log." + std::to_string(k)); };
  for (int k = 2; k >= 0; --k) {
    if (std::filesystem::exists(name(k))) std::filesystem::rename(name(k), name(k + 1));
  }
  AppendFile(name(0), "");
}

}  // namespace

TEST_CASE("agent: kill -9 at random moments across rotations loses and duplicates nothing",
          "[integration][agent][kill]") {
  const uint64_t seed = TestSeed("agent kill test");
  INFO("seed " << seed << " (rerun with SLUICE_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> delay_ms(100, 1500);

  TempDir dir("sluice-kill");
  AgentUnderTest agent(dir.path());
  const std::filesystem::path logs = agent.logs();
  LineWriter::Options o;
  o.file = logs / "app.log";
  o.lines_per_second = kKillLinesPerSecond;
  o.after_line = [&](uint64_t n) {
    if (n % kRotateEveryLines == 0) Rotate(logs);
  };
  LineWriter writer(std::move(o));

  int kills = 0;
  for (; kills < kKills; ++kills) {
    agent.Start(/*wait_ready=*/false);
    const int d = delay_ms(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(d));
    const bool was_running = agent.Running();
    const ExitStatus st = agent.Kill9();
    INFO("kill " << kills + 1 << " after " << d << " ms: " << st.ToString() << "\nagent stderr (tail):\n"
                 << agent.StderrTail());
    // The agent must still be running when the kill comes: an exit on its
    // own (a crash, a failed start) is a failure in itself.
    REQUIRE(was_running);
    REQUIRE(st.signal == SIGKILL);
  }
  writer.Stop();
  INFO("writer error: " << writer.error().value_or("none"));
  REQUIRE_FALSE(writer.error());
  const uint64_t lines = writer.last_written();

  agent.Start();
  const bool caught_up = agent.WaitForLakeLines(lines, 120s);
  const std::optional<ExitStatus> exit = agent.Stop();
  INFO("agent stderr (tail):\n" << agent.StderrTail(60));
  REQUIRE(exit.has_value());
  REQUIRE(exit->Exited(0));

  const LakeContents lake = ReadLake(agent.lake());
  INFO("lake problems: " << lake.problems.size() << (lake.problems.empty() ? "" : "; first: " + lake.problems[0]));
  REQUIRE(lake.problems.empty());
  const LineAudit audit = AuditLines(lake.records, 1, lines);
  INFO(kills << " kills; " << lines << " lines; caught up: " << caught_up << "; " << audit.Summary());
  // A duplicate run of lines comes from a file read again from some offset:
  // the decisions about file identity, from every start, say which and why.
  std::string identity_events;
  std::istringstream all(agent.Stderr());
  for (std::string line; std::getline(all, line);) {
    if (line.starts_with("=== start") || line.find("from the beginning") != std::string::npos ||
        line.find("is a copy of") != std::string::npos || line.find("not a copy") != std::string::npos ||
        line.find("was not found at start") != std::string::npos ||
        (line.find("opened ") != std::string::npos && line.find(" at offset 0 ") != std::string::npos)) {
      identity_events += line + "\n";
    }
  }
  INFO("file identity decisions over every start:\n" << identity_events);
  REQUIRE(audit.ExactlyOnce());
}

}  // namespace sluice::test
