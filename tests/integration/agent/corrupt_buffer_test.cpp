// A buffer database that fails to open or to check is quarantined: the agent
// moves it to <data_dir>/quarantine/, says why, and runs on with a fresh one.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <sstream>

#include "tests/support/agent_fixture.h"
#include "tests/support/lake_reader.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

void Overwrite(const std::filesystem::path& file, off_t offset, const std::string& bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
  ::fsync(fd);
  ::close(fd);
  REQUIRE(n == static_cast<ssize_t>(bytes.size()));
}

void StopCleanly(AgentUnderTest& agent) {
  const std::optional<ExitStatus> exit = agent.Stop();
  INFO("agent stderr (tail):\n" << agent.StderrTail());
  REQUIRE(exit.has_value());
  REQUIRE(exit->Exited(0));
}

}  // namespace

TEST_CASE("agent: a corrupted buffer database is quarantined, logged, and the agent ships on",
          "[integration][agent][buffer]") {
  TempDir dir("sluice-corrupt-buffer");
  AgentUnderTest agent(dir.path());
  const auto log = agent.logs() / "app.log";
  for (uint64_t n = 1; n <= 100; ++n) AppendFile(log, NumberedLine(n) + "\n");
  agent.Start();
  REQUIRE(agent.WaitForLakeLines(100, 60s));
  StopCleanly(agent);

  REQUIRE(std::filesystem::exists(agent.buffer_db()));
  // The first 100 bytes hold SQLite's header ("SQLite format 3\0", page size...).
  Overwrite(agent.buffer_db(), 0, std::string(100, '\xA5'));

  agent.Start();  // must come up (no crash loop)
  const std::string log_lines = agent.StderrOfLastRun();
  INFO("agent stderr of the second start:\n" << log_lines);
  // One line names the database, says it is quarantined, and why.
  std::string quarantine_line;
  std::istringstream lines(log_lines);
  for (std::string l; std::getline(lines, l);) {
    if (l.find("quarantine") != std::string::npos && l.find(agent.buffer_db().string()) != std::string::npos) {
      quarantine_line = l;
    }
  }
  REQUIRE_FALSE(quarantine_line.empty());
  CHECK(quarantine_line.find("unusable (") != std::string::npos);  // the reason, in parentheses
  std::vector<std::filesystem::path> moved;
  for (const auto& e : std::filesystem::directory_iterator(agent.data_dir() / "quarantine")) moved.push_back(e.path());
  INFO("quarantined files: " << moved.size());
  REQUIRE_FALSE(moved.empty());
  bool has_db = false;
  for (const auto& p : moved) {
    has_db = has_db || (p.extension() == ".db" && ReadFile(p).substr(0, 100) == std::string(100, '\xA5'));
  }
  CHECK(has_db);  // the corrupt database itself, kept for inspection
  CHECK(agent.Metric("sluice_buffer_quarantined_total") == 1);

  // New lines are tailed and shipped.
  for (uint64_t n = 101; n <= 200; ++n) AppendFile(log, NumberedLine(n) + "\n");
  LineAudit audit;
  const bool arrived = WaitUntil(60s, [&] {
    audit = AuditLines(ReadLake(agent.lake()).records, 101, 200);
    return audit.missing.empty();
  }, 250ms);
  StopCleanly(agent);
  const LakeContents lake = ReadLake(agent.lake());
  REQUIRE(lake.problems.empty());
  // The checkpoints were in the quarantined database, so app.log is read from
  // its beginning again (start_at = "beginning"): lines 1..100 may arrive a
  // second time. That is the price of losing the database, and why it is
  // moved aside rather than deleted. Lines 101..200 arrive exactly once.
  audit = AuditLines(lake.records, 1, 200);
  INFO("arrived: " << arrived << "; " << audit.Summary());
  CHECK(audit.missing.empty());
  CHECK(audit.foreign_total == 0);
  std::vector<uint64_t> not_once;
  for (uint64_t n = 101; n <= 200; ++n) {
    if (audit.count[n] != 1) not_once.push_back(n);
  }
  INFO("lines 101..200 not exactly once: " << FormatRanges(not_once));
  CHECK(not_once.empty());
}

}  // namespace sluice::test
