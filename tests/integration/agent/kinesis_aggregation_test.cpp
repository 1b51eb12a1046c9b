// The Kinesis sink with KPL aggregation (aggregate = true) against kinesalite,
// read back with the AWS SDK and de-aggregated with the reference
// implementation (aws-kinesis-agg from npm, MD5 checked): every line once,
// in order per partition key, under its own key; a line too large to
// aggregate sent plain; one too large for any record dead-lettered.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/util/utf8.h"
#include "tests/support/agent_fixture.h"
#include "tests/support/kinesalite.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

struct UserRecord {
  std::string shard;
  std::string seq;
  bool aggregated = false;
  std::string key;
  std::string data;
};

// De-aggregates with aws-kinesis-agg (tests/servers/kpl-deaggregate.js).
std::vector<UserRecord> Deaggregate(const std::vector<KinesisReadRecord>& records, const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "kinesis-records.jsonl";
  {
    std::ofstream out(file);
    for (const KinesisReadRecord& r : records) {
      std::string data;
      AppendBase64(data, r.data);
      out << nlohmann::json{{"shard", r.shard}, {"seq", r.sequence}, {"key", r.partition_key}, {"data", data}}.dump()
          << "\n";
    }
  }
  ProcessOptions o;
  o.program = "node";
  o.args = {(std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/servers/kpl-deaggregate.js").string(), file.string()};
  o.log_dir = dir;
  o.name = "kpl-deaggregate";
  o.append_logs = false;
  const RunResult r = RunToCompletion(std::move(o), 120s);
  if (!r.status.Exited(0)) throw std::runtime_error("aws-kinesis-agg: " + r.Describe());
  std::vector<UserRecord> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    UserRecord u{j.at("shard"), j.at("seq"), !j.at("sub").is_null(), j.at("key"), ""};
    if (!DecodeBase64(j.at("data").get<std::string>(), u.data)) throw std::runtime_error("bad base64: " + line);
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace

TEST_CASE("kinesis sink: KPL aggregates de-aggregate with aws-kinesis-agg, every line once, in order per key",
          "[agent][kinesis]") {
  TempDir tmp("sluice-kinesis-kpl");
  Kinesalite kinesis(tmp / "kinesalite");
  kinesis.CreateStream("agg", 2);
  AgentOptions o;
  o.sink_toml = "type = \"kinesis\"\nstream = \"agg\"\nendpoint = " + TomlString(kinesis.endpoint()) +
                "\npartition_key = \"{path}\"\naggregate = true\naggregate_max_size = \"16KiB\"\n"
                "max_record_size = \"64KiB\"\nmax_request_size = \"256KiB\"\n";
  o.env = Kinesalite::ClientEnvironment();
  const std::filesystem::path app = tmp / "agent" / "logs" / "app.log";
  const std::filesystem::path web = tmp / "agent" / "logs" / "web.log";
  o.paths = {app.string(), web.string()};
  AgentUnderTest agent(tmp / "agent", o);

  constexpr uint64_t kApp = 4000;
  constexpr uint64_t kWeb = 2500;
  constexpr uint64_t kWebFirst = 100001;  // other lines than app.log's, or it looks like a copy of it
  for (auto [file, count] : {std::pair{app, kApp}, std::pair{web, kWeb}}) {
    LineWriter::Options w;
    w.file = file;
    w.first = file == web ? kWebFirst : 1;
    w.count = count;
    w.lines_per_second = 0;
    w.width = 100;
    LineWriter writer(w);
    writer.Join();
  }
  // Too large to aggregate (16 KiB) but a fine plain record, and too large
  // for any record (64 KiB).
  const std::string plain(20000, 'p');
  const std::string huge(70000, 'h');
  {
    std::ofstream out(web, std::ios::app);
    out << plain << "\n" << huge << "\n";
  }
  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(60s));
  const double dead = agent.Metric("sluice_sink_dead_letter_records_total", {{"sink", "lake"}});
  REQUIRE(agent.Stop(30s).has_value());

  const std::vector<KinesisReadRecord> records = kinesis.ReadStream("agg");
  const std::vector<UserRecord> users = Deaggregate(records, tmp.path());
  size_t largest = 0;
  for (const KinesisReadRecord& r : records) largest = std::max(largest, r.data.size());
  CHECK(largest <= 20000 + 200);              // the plain line with its JSON; aggregates stay under 16 KiB
  CHECK(records.size() * 20 < users.size());  // ~170-byte records, ~90 to a 16 KiB aggregate

  std::map<std::string, std::vector<std::string>> by_key;
  std::map<std::string, std::set<std::string>> shards_of_key;
  int plain_seen = 0;
  for (const UserRecord& u : users) {
    const nlohmann::json j = nlohmann::json::parse(u.data);
    CHECK(u.key == j.at("path").get<std::string>());
    shards_of_key[u.key].insert(u.shard);
    const std::string msg = j.at("msg");
    if (msg == plain) {
      ++plain_seen;
      CHECK_FALSE(u.aggregated);
      continue;
    }
    by_key[u.key].push_back(msg);
  }
  CHECK(plain_seen == 1);
  REQUIRE(by_key.size() == 2);
  for (const auto& [key, msgs] : by_key) {
    INFO(key);
    CHECK(shards_of_key[key].size() == 1);  // one key, one shard
    const LineAudit audit =
        key == app.string() ? AuditLines(msgs, 1, kApp) : AuditLines(msgs, kWebFirst, kWebFirst + kWeb - 1);
    INFO(audit.Summary());
    CHECK(audit.ExactlyOnce());
    CHECK(NumberedLinesAscending(msgs));
  }
  CHECK(dead == 1);
}

}  // namespace sluice::test
