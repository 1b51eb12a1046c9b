// The agent's Kinesis sink through tests/servers/fault-proxy.js to kinesalite:
// under injected faults (throttling, 500/503, partial PutRecords failures,
// connections dropped before and after the emulator stored a request, slow
// answers) and a full outage nothing is lost, only failed entries are sent
// again, and retries back off; without faults, 100,000 records of mixed sizes
// go in requests within the API's limits (from the proxy's log), and records
// over 1 MiB go to the dead-letter directory.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

#include "agent/record/json_record.h"
#include "tests/support/agent_fixture.h"
#include "tests/support/fault_phases.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/kinesalite.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kKfMiB = 1u << 20;

std::string KfSinkToml(const FaultProxy& proxy, const std::string& extra) {
  return "type = \"kinesis\"\nstream = \"events\"\nendpoint = " + TomlString(proxy.endpoint()) + "\n" + extra;
}

}  // namespace

TEST_CASE("kinesis sink through injected faults: nothing lost, only failed entries resent, backoff in an outage",
          "[agent][kinesis][faults]") {
  TempDir tmp("sluice-kinesis-faults");
  KinesisEmulator kinesis(tmp / "kinesalite");
  kinesis.CreateStream("events", 4);
  FaultProxy proxy(tmp / "proxy", kinesis.endpoint());
  AgentOptions o;
  o.sink_toml = KfSinkToml(proxy, "max_records = 50\n");
  o.env = KinesisEmulator::ClientEnvironment();
  o.retry_initial = "100ms";
  o.retry_max = "1s";
  AgentUnderTest agent(tmp / "agent", o);

  // A full outage (every request answered 500) while lines arrive, then
  // faults of every kind drawn per request from the seed, then none
  // (tests/support/fault_phases.h).
  constexpr uint64_t kLines = 20'000;
  FaultPhaseOptions phases;
  phases.lines.file = agent.logs() / "app.log";
  phases.lines.count = kLines;
  phases.lines.lines_per_second = 1000;
  phases.mixed.seed = TestSeed("kinesis faults") % (1ull << 32);
  phases.mixed.throttle = 0.04;
  phases.mixed.error500 = 0.04;
  phases.mixed.error503 = 0.04;
  phases.mixed.partial = 0.25;
  phases.mixed.partial_entries = 0.3;
  phases.mixed.drop_before = 0.04;
  phases.mixed.drop_after = 0.04;
  phases.mixed.slow = 0.04;
  phases.mixed.slow_ms = 1000;
  phases.min_requests = 120;
  phases.max_mixed = 30s;
  const std::chrono::milliseconds window = RunFaultPhases(agent, proxy, phases);
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(120s));
  const double refused_metric = agent.Metric("sluice_kinesis_refused_records_total", {{"sink", "lake"}});
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));

  const std::vector<ProxyRequest> requests = proxy.Requests();
  const ProxyTally tally = Tally(requests);
  INFO("proxy: " << tally.Summary());

  // Nothing lost, nothing foreign; the only duplicates are the entries of
  // requests the emulator stored but whose answer was dropped.
  const std::vector<KinesisReadRecord> records = kinesis.ReadStream("events");
  std::vector<std::string> msgs;
  for (const KinesisReadRecord& r : records) msgs.push_back(nlohmann::json::parse(r.data).at("msg"));
  const LineAudit audit = AuditLines(msgs, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.missing.empty());
  CHECK(audit.foreign_total == 0);
  CHECK(records.size() == kLines + tally.records_dropped_after);
  CHECK(audit.duplicated.size() <= tally.records_dropped_after);

  // Only failed entries were sent again: every entry the proxy saw is a line
  // stored once, or one it refused alone, or one of a request that failed whole.
  CHECK(tally.records_sent == kLines + tally.records_refused + tally.records_in_failed);
  CHECK(refused_metric == static_cast<double>(tally.records_refused));
  CHECK(tally.records_refused > 0);
  CHECK(tally.records_in_failed > 0);

  // Backoff: during the outage the requests stay under what the retry
  // configuration (100ms doubling to 1s, full jitter) allows in that window.
  uint64_t outage_requests = 0;
  for (const ProxyRequest& r : requests) outage_requests += r.fault == "outage" ? 1 : 0;
  const uint64_t ceiling = RetryRequestCeiling(window, 100ms, 1s);
  INFO("outage of " << window.count() << " ms: " << outage_requests << " requests, ceiling " << ceiling);
  CHECK(outage_requests >= 1);
  CHECK(outage_requests <= ceiling);
}

namespace {

// The limits test's record sizes, data (the JSON line) plus partition key:
// mostly small, every 97th 1 to 8 KiB, three runs of 130 records of 44 to
// 52 KiB (more than 5 MiB each, so requests are cut by size, not count), and
// a few at the 1 MiB limit.
std::map<uint64_t, uint64_t> KfNearLimit() {
  return {{12'345, kKfMiB - 4096}, {23'456, kKfMiB - 1},    {34'567, kKfMiB},
          {45'678, kKfMiB + 1},    {56'789, kKfMiB + 4096}, {67'890, kKfMiB - 100},
          {78'901, 2 * kKfMiB},    {89'012, kKfMiB},        {95'001, kKfMiB + 100}};
}

// The width of line n's msg, given the bytes every record adds to its msg
// (the JSON envelope and the partition key).
size_t KfWidth(uint64_t n, size_t fixed) {
  static const std::map<uint64_t, uint64_t> near = KfNearLimit();
  if (auto it = near.find(n); it != near.end()) return it->second - fixed;
  if (n % 30'000 >= 20'001 && n % 30'000 <= 20'130) return 44 * 1024 + (n * 7919) % (8 * 1024);
  if (n % 97 == 0) return 1024 + (n * 7919) % (7 * 1024);
  return 20 + (n * 31) % 180;
}

// The msg of a log-line record: cut out when it is plain text (the last
// field, ending the line), else parsed; nullopt for anything else. Parsing
// 100,000 records as JSON in a test built at -O0 takes many seconds. (The
// first ,"msg":" is the field: a quote inside a string is escaped.)
std::optional<std::string> KfMsg(std::string_view record) {
  static constexpr std::string_view kMsg = ",\"msg\":\"";
  const size_t at = record.find(kMsg);
  if (at != std::string_view::npos && record.starts_with("{\"ts\":\"") && record.ends_with("\"}")) {
    const std::string_view msg = record.substr(at + kMsg.size(), record.size() - 2 - at - kMsg.size());
    if (msg.find('"') == std::string_view::npos && msg.find('\\') == std::string_view::npos) return std::string(msg);
  }
  const nlohmann::json j = nlohmann::json::parse(record, nullptr, false);
  if (j.is_discarded() || !j.contains("msg") || !j.at("msg").is_string()) return std::nullopt;
  return j.at("msg").get<std::string>();
}

}  // namespace

TEST_CASE("kinesis sink limits: 100,000 records of mixed sizes in requests within the PutRecords limits",
          "[agent][kinesis][limits]") {
  TempDir tmp("sluice-kinesis-limits");
  KinesisEmulator kinesis(tmp / "kinesalite");
  kinesis.CreateStream("events", 4);
  FaultProxy proxy(tmp / "proxy", kinesis.endpoint());
  AgentOptions o;
  o.sink_toml = KfSinkToml(proxy, "");  // the API's limits: 500 records, 5 MiB, 1 MiB per record
  o.env = KinesisEmulator::ClientEnvironment();
  o.buffer_max = "512MiB";
  o.extra_source_toml = "max_line = \"4MiB\"\n";
  AgentUnderTest agent(tmp / "agent", o);
  const std::string path = (agent.logs() / "app.log").string();
  agent.options().paths = {path};
  agent.WriteConfig();

  // Each record is its msg plus a fixed envelope ({"ts":...,"msg":""}, the
  // host being this machine's name, as the agent's default) plus the 16
  // characters of a {random} key.
  char host[256] = {};
  REQUIRE(gethostname(host, sizeof host - 1) == 0);
  std::string probe;
  JsonRecordEncoder().AppendLogLine(probe, 0, "app", host, path, "");
  const size_t fixed = probe.size() - 1 + 16;

  constexpr uint64_t kRecords = 100'000;
  std::set<uint64_t> over;
  uint64_t total = 0;
  {
    std::ofstream out(path, std::ios::binary);
    for (uint64_t n = 1; n <= kRecords; ++n) {
      const size_t width = KfWidth(n, fixed);
      if (width + fixed > kKfMiB) over.insert(n);
      total += width + fixed;
      out << NumberedLine(n, width) << '\n';
    }
  }
  INFO("records of " << total << " bytes, " << over.size() << " over 1 MiB");
  REQUIRE(over.size() == 4);

  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(180s));
  const double dead_metric = agent.Metric("sluice_sink_dead_letter_records_total", {{"sink", "lake"}});
  REQUIRE(agent.Stop(30s).has_value());

  // The proxy's log: every request within the limits, every record once.
  const std::vector<ProxyRequest> requests = proxy.Requests();
  const ProxyTally tally = Tally(requests);
  INFO("proxy: " << tally.Summary());
  for (const ProxyRequest& r : requests) {
    INFO("request " << r.n);
    CHECK(r.put_records);
    CHECK(r.status == 200);
    CHECK(r.records() <= 500);
    CHECK(r.RecordBytesTotal() <= 5 * kKfMiB);
  }
  CHECK(tally.records_sent == kRecords - over.size());
  CHECK(tally.max_record_bytes == kKfMiB);             // none over the limit; the ones exactly at it went
  CHECK(tally.max_request_record_bytes > 4 * kKfMiB);  // requests were cut by size
  CHECK(tally.max_records == 500);                     // and by count

  // Read back: every record but those over the limit, once, in order within each shard.
  const std::vector<KinesisReadRecord> records = kinesis.ReadStream("events");
  std::vector<int> seen(kRecords + 1, 0);
  std::map<std::string, uint64_t> last_in_shard;
  uint64_t foreign = 0, unordered = 0, wrong_size = 0;
  for (const KinesisReadRecord& r : records) {
    const std::string msg = KfMsg(r.data).value_or("");
    const std::optional<uint64_t> n = ParseNumberedLine(msg, msg.size());
    if (!n || *n == 0 || *n > kRecords || msg.size() != KfWidth(*n, fixed)) {
      ++foreign;
      continue;
    }
    if (r.data.size() + r.partition_key.size() != msg.size() + fixed) ++wrong_size;
    ++seen[*n];
    if (last_in_shard[r.shard] >= *n) ++unordered;
    last_in_shard[r.shard] = *n;
  }
  std::vector<uint64_t> missing, duplicated, shipped_over;
  for (uint64_t n = 1; n <= kRecords; ++n) {
    if (over.contains(n)) {
      if (seen[n] != 0) shipped_over.push_back(n);
    } else if (seen[n] == 0) {
      missing.push_back(n);
    } else if (seen[n] > 1) {
      duplicated.push_back(n);
    }
  }
  INFO("missing " << FormatRanges(missing) << "; duplicated " << FormatRanges(duplicated));
  CHECK(records.size() == kRecords - over.size());
  CHECK(missing.empty());
  CHECK(duplicated.empty());
  CHECK(shipped_over.empty());
  CHECK(foreign == 0);
  CHECK(unordered == 0);
  CHECK(wrong_size == 0);
  CHECK(last_in_shard.size() == 4);

  // The records over the limit, whole, in the dead-letter directory, counted.
  CHECK(dead_metric == static_cast<double>(over.size()));
  std::set<uint64_t> dead;
  for (const auto& e : std::filesystem::recursive_directory_iterator(agent.data_dir() / "dead-letter" / "lake")) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    for (std::string line; std::getline(in, line);) {
      const std::string msg = KfMsg(line).value_or("");
      if (const std::optional<uint64_t> n = ParseNumberedLine(msg, msg.size())) dead.insert(*n);
    }
  }
  CHECK(dead == over);
}

}  // namespace sluice::test
