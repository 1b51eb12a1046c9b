// `sluice agent replay`: batches kept under `retain` sent again to a sink
// from a process of its own, while the agent runs or after it stopped.
// A deleted lake partition is rebuilt exactly (the same records, nothing in
// any other partition), the live sink's cursor is untouched (new lines still
// arrive once), Kafka receives the window again, and bad arguments exit 2.
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <algorithm>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "tests/support/agent_fixture.h"
#include "tests/support/kafka_mock.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

void WriteReplayLines(const std::filesystem::path& file, uint64_t first, uint64_t count) {
  LineWriter::Options o;
  o.file = file;
  o.first = first;
  o.count = count;
  o.lines_per_second = 0;
  LineWriter writer(o);
  writer.Join();
}

RunResult RunReplay(const AgentUnderTest& agent, const std::vector<std::string>& args) {
  ProcessOptions p;
  p.program = SLUICE_BINARY;
  p.args = Concat({"agent", "replay", "--config", agent.config_path().string()}, args);
  p.log_dir = agent.root() / "run";
  p.name = "replay";
  p.append_logs = false;
  return RunToCompletion(std::move(p), 120s);
}

// "dt=2026-11-22/hr=10" -> "2026-11-22T10:00:00Z".
std::string HourStart(const std::filesystem::path& partition) {
  const std::string hr = partition.filename().string();
  const std::string dt = partition.parent_path().filename().string();
  return dt.substr(3) + "T" + hr.substr(3) + ":00:00Z";
}

std::string HourAfter(const std::string& start) {
  std::tm tm{};
  strptime(start.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  const time_t next = timegm(&tm) + 3600;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&next));
  return buf;
}

// The lines of one partition, sorted: what a rebuild must reproduce.
std::vector<std::string> PartitionLines(const LakeContents& lake, const std::filesystem::path& partition) {
  std::vector<std::string> out;
  for (const LakeRecord& r : lake.records) {
    if (r.file.parent_path() == partition) out.push_back(r.msg);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("replay: a deleted lake partition is rebuilt exactly while the agent runs", "[agent][replay]") {
  TempDir tmp("sluice-replay-lake");
  AgentOptions o;
  o.retain = "1h";
  o.batch_max_bytes = "64KiB";  // many batches, several files per partition
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 5000;
  WriteReplayLines(agent.logs() / "app.log", 1, kLines);
  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitForLakeLines(kLines, 60s));
  REQUIRE(agent.WaitUntilCaughtUp(60s));

  const LakeContents before = ReadLake(agent.lake(), "app");
  REQUIRE(AuditLines(before.records, 1, kLines).ExactlyOnce());
  std::set<std::filesystem::path> partitions;
  for (const auto& f : before.files) partitions.insert(f.parent_path());
  const std::filesystem::path partition = *partitions.begin();
  const std::vector<std::string> lines_before = PartitionLines(before, partition);
  REQUIRE(!lines_before.empty());
  std::filesystem::remove_all(partition);

  const std::string since = HourStart(partition);
  const RunResult r = RunReplay(agent, {"--sink", "lake", "--since", since, "--until", HourAfter(since)});
  INFO(r.Describe());
  REQUIRE(r.status.Exited(0));
  CHECK(r.err.find("replay lake: ") != std::string::npos);

  const LakeContents after = ReadLake(agent.lake(), "app");
  CHECK(PartitionLines(after, partition) == lines_before);
  const LineAudit audit = AuditLines(after.records, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());

  // The live cursor did not move: new lines arrive once, and only they.
  WriteReplayLines(agent.logs() / "app.log", kLines + 1, 1000);
  REQUIRE(agent.WaitForLakeLines(kLines + 1000, 60s));
  REQUIRE(agent.WaitUntilCaughtUp(60s));
  REQUIRE(agent.Stop(30s).has_value());
  const LineAudit all = AuditLines(ReadLake(agent.lake(), "app").records, 1, kLines + 1000);
  INFO(all.Summary());
  CHECK(all.ExactlyOnce());

  // Replaying the same window again overwrites the same files: still exactly once.
  const RunResult again = RunReplay(agent, {"--sink", "lake", "--since", since, "--until", HourAfter(since)});
  REQUIRE(again.status.Exited(0));
  const LineAudit twice = AuditLines(ReadLake(agent.lake(), "app").records, 1, kLines + 1000);
  INFO(twice.Summary());
  CHECK(twice.ExactlyOnce());
}

TEST_CASE("replay: Kafka receives the window again after the agent stopped", "[agent][replay][kafka]") {
  TempDir tmp("sluice-replay-kafka");
  KafkaMockCluster kafka(1);
  kafka.CreateTopic("events", 2);
  AgentOptions o;
  o.retain = "1h";
  o.sink_toml = "type = \"kafka\"\nbrokers = " + TomlString(kafka.bootstraps()) + "\ntopic = \"events\"\n";
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 3000;
  WriteReplayLines(agent.logs() / "app.log", 1, kLines);
  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(60s));
  REQUIRE(agent.Stop(30s).has_value());
  REQUIRE(kafka.ReadAll("events", tmp.path()).size() == kLines);

  const RunResult r = RunReplay(agent, {"--sink", "lake", "--since", "1h"});
  INFO(r.Describe());
  REQUIRE(r.status.Exited(0));
  std::map<std::string, int> seen;
  for (const KafkaMessage& m : kafka.ReadAll("events", tmp.path())) ++seen[nlohmann::json::parse(m.value).at("msg")];
  CHECK(seen.size() == kLines);
  bool twice = true;
  for (const auto& [msg, n] : seen) twice = twice && n == 2;
  CHECK(twice);
}

TEST_CASE("replay: an unknown sink or a bad time exits 2 and says why", "[agent][replay]") {
  TempDir tmp("sluice-replay-usage");
  AgentUnderTest agent(tmp / "agent");
  agent.WriteConfig();
  const RunResult unknown = RunReplay(agent, {"--sink", "nope", "--since", "1h"});
  CHECK(unknown.status.Exited(2));
  CHECK(unknown.err.find("no sink named 'nope'") != std::string::npos);
  const RunResult bad = RunReplay(agent, {"--sink", "lake", "--since", "yesterday"});
  CHECK(bad.status.Exited(2));
  CHECK(bad.err.find("--since") != std::string::npos);
  CHECK(bad.err.find("RFC 3339") != std::string::npos);
  const RunResult backwards =
      RunReplay(agent, {"--sink", "lake", "--since", "2026-11-22T10:00:00Z", "--until", "2026-11-22T09:00:00Z"});
  CHECK(backwards.status.Exited(2));
  CHECK(backwards.err.find("must be after") != std::string::npos);
}

}  // namespace sluice::test
