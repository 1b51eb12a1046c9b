// SIGTERM: the agent stops reading, delivers what it read, and exits 0 within
// shutdown_timeout; a second run resumes at the checkpoints and ships nothing
// twice. When the sink cannot deliver, the flush gives up at shutdown_timeout
// and the next start delivers from the buffer.
#include <catch2/catch.hpp>

#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "tests/support/agent_fixture.h"
#include "tests/support/lake_reader.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void WriteShutdownLines(const std::filesystem::path& file, uint64_t first, uint64_t last) {
  std::string text;
  for (uint64_t n = first; n <= last; ++n) text += NumberedLine(n) + "\n";
  AppendFile(file, text);
}

bool WaitForShutdownSourceRecords(AgentUnderTest& agent, uint64_t n) {
  return WaitUntil(60s, [&] { return agent.Metric("sluice_source_records_total", {{"source", "app"}}) >= n; });
}

LineAudit AuditLake(AgentUnderTest& agent, uint64_t last) {
  const LakeContents lake = ReadLake(agent.lake());
  INFO("lake problems: " << lake.problems.size() << (lake.problems.empty() ? "" : "; first: " + lake.problems[0]));
  REQUIRE(lake.problems.empty());
  return AuditLines(lake.records, 1, last);
}

}  // namespace

TEST_CASE("agent: SIGTERM delivers what was read, exits 0 in time, and a restart re-ships nothing",
          "[integration][agent][shutdown]") {
  TempDir dir("sluice-sigterm");
  AgentOptions options;
  options.shutdown_timeout = "5s";
  options.batch_max_age = "60s";  // nothing is due before the SIGTERM: the flush must deliver it
  AgentUnderTest agent(dir.path(), options);
  const auto log = agent.logs() / "app.log";
  agent.Start();
  WriteShutdownLines(log, 1, 5000);
  REQUIRE(WaitForShutdownSourceRecords(agent, 5000));
  const uint64_t in_lake_before_stop = agent.LakeLines();

  const auto t0 = Clock::now();
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  INFO("agent stderr (tail):\n" << agent.StderrTail());
  REQUIRE(exit.has_value());
  REQUIRE(exit->Exited(0));
  WARN("SIGTERM with " << 5000 - in_lake_before_stop << " lines pending: exited in " << took.count() << " ms");
  CHECK(took < 5s + 2s);  // shutdown_timeout, plus slack for a loaded machine
  LineAudit audit = AuditLake(agent, 5000);
  INFO(audit.Summary());
  REQUIRE(audit.ExactlyOnce());

  // The second run resumes at the checkpoint: only new lines are shipped.
  agent.options().batch_max_age = "1s";
  agent.WriteConfig();
  agent.Start();
  WriteShutdownLines(log, 5001, 5100);
  const bool arrived = agent.WaitForLakeLines(5100, 60s);
  REQUIRE(WaitUntil(10s, [&] { return agent.Metric("sluice_sink_records_total", {{"sink", "lake"}}) >= 100; }));
  const double shipped_second_run = agent.Metric("sluice_sink_records_total", {{"sink", "lake"}});
  const std::optional<ExitStatus> exit2 = agent.Stop();
  REQUIRE(exit2.has_value());
  REQUIRE(exit2->Exited(0));
  audit = AuditLake(agent, 5100);
  INFO("arrived: " << arrived << "; " << audit.Summary());
  CHECK(shipped_second_run == 100);
  REQUIRE(audit.ExactlyOnce());
}

TEST_CASE("agent: SIGTERM while the lake cannot take data exits 0 at shutdown_timeout, and the next start delivers",
          "[integration][agent][shutdown]") {
  TempDir dir("sluice-sigterm-blocked");
  AgentOptions options;
  options.shutdown_timeout = "3s";
  options.retry_initial = "50ms";
  options.retry_max = "200ms";
  AgentUnderTest agent(dir.path(), options);
  const auto log = agent.logs() / "app.log";
  // The lake path is a regular file: every delivery fails (ENOTDIR) until it
  // is replaced by a directory.
  std::filesystem::remove(agent.lake());
  WriteFile(agent.lake(), "not a directory\n");
  agent.Start();
  WriteShutdownLines(log, 1, 2000);
  REQUIRE(WaitForShutdownSourceRecords(agent, 2000));
  REQUIRE(WaitUntil(30s, [&] { return agent.Metric("sluice_sink_retries_total", {{"sink", "lake"}}) > 0; }));

  const auto t0 = Clock::now();
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  INFO("agent stderr (tail):\n" << agent.StderrTail());
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));
  WARN("SIGTERM with an unwritable lake: exited in " << took.count() << " ms (shutdown_timeout 3s)");
  CHECK(took < 3s + 3s);
  CHECK(agent.StderrOfLastRun().find("shutdown_timeout reached") != std::string::npos);

  std::filesystem::remove(agent.lake());
  std::filesystem::create_directory(agent.lake());
  agent.Start();
  const bool arrived = agent.WaitForLakeLines(2000, 60s);
  const std::optional<ExitStatus> exit2 = agent.Stop();
  REQUIRE(exit2.has_value());
  REQUIRE(exit2->Exited(0));
  const LineAudit audit = AuditLake(agent, 2000);
  INFO("arrived: " << arrived << "; " << audit.Summary());
  REQUIRE(audit.ExactlyOnce());
}

}  // namespace sluice::test
