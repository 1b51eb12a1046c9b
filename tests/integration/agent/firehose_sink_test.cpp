// The agent's Firehose sink against the Firehose contract server (no
// emulator of Firehose exists): every request has the documented shape and a
// valid signature, only the refused entries are resent, every line arrives
// as a newline-terminated record, and lines too large for a record are
// dead-lettered, counted.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/agent_fixture.h"
#include "tests/support/firehose_contract.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

LineWriter::Options FirehoseLines(const std::filesystem::path& file, uint64_t count) {
  LineWriter::Options o;
  o.file = file;
  o.count = count;
  o.lines_per_second = 0;
  o.width = 100;
  return o;
}

// The agent's options for a Firehose sink on `server`: `keys` after the
// delivery stream, one tailed file at <tmp>/agent/logs/app.log.
AgentOptions FirehoseAgent(const TempDir& tmp, const FirehoseContract& server, const std::string& stream,
                           const std::string& keys) {
  AgentOptions o;
  o.sink_toml = "type = \"firehose\"\ndelivery_stream = " + TomlString(stream) +
                "\nendpoint = " + TomlString(server.endpoint()) + "\n" + keys;
  o.env = FirehoseContract::ClientEnvironment();
  o.paths = {(tmp / "agent" / "logs" / "app.log").string()};
  return o;
}

struct FirehoseRequestTotals {
  int violations = 0;
  int accepted_requests = 0;
  uint64_t entries_in_accepted = 0;
  uint64_t refused = 0;
  uint64_t max_records = 0;
  uint64_t max_bytes = 0;
};

FirehoseRequestTotals TotalFirehoseRequests(const FirehoseContract& server) {
  FirehoseRequestTotals t;
  for (const nlohmann::json& r : server.Requests()) {
    if (r.contains("violation")) {
      ++t.violations;
      UNSCOPED_INFO("contract violation: " << r.at("violation").get<std::string>());
      continue;
    }
    t.max_records = std::max<uint64_t>(t.max_records, r.value("records", 0));
    t.max_bytes = std::max<uint64_t>(t.max_bytes, r.value("bytes", 0));
    if (r.at("status") != 200) continue;
    ++t.accepted_requests;
    t.entries_in_accepted += r.at("records").get<uint64_t>();
    t.refused += r.at("refused").get<uint64_t>();
  }
  return t;
}

}  // namespace

TEST_CASE("firehose sink: the contract holds, only refused entries are resent, oversized lines dead-lettered",
          "[agent][firehose]") {
  TempDir tmp("sluice-firehose");
  FirehoseContractOptions fo;
  fo.streams = {"events"};
  fo.refuse_rate = 0.1;
  fo.fail_first = 2;
  fo.seed = 7;
  FirehoseContract firehose(tmp / "firehose", fo);
  AgentOptions o = FirehoseAgent(tmp, firehose, "events", "max_record_size = \"2KiB\"\nmax_records = 64\n");
  o.retry_max = "500ms";
  AgentUnderTest agent(tmp / "agent", o);

  constexpr uint64_t kLines = 3000;
  {
    LineWriter writer(FirehoseLines(agent.logs() / "app.log", kLines));
    writer.Join();
  }
  const std::string big(3000, 'x');
  {
    std::ofstream out(agent.logs() / "app.log", std::ios::app);
    out << big << "\n";
  }
  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(60s));
  const double refused_metric = agent.Metric("sluice_firehose_refused_records_total", {{"sink", "lake"}});
  const double dead_metric = agent.Metric("sluice_sink_dead_letter_records_total", {{"sink", "lake"}});
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));

  std::vector<std::string> msgs;
  bool newline_terminated = true;
  for (const std::string& record : firehose.Records("events")) {
    newline_terminated = newline_terminated && record.ends_with('\n') && record.find('\n') == record.size() - 1;
    msgs.push_back(nlohmann::json::parse(record).at("msg"));
  }
  CHECK(newline_terminated);
  const LineAudit audit = AuditLines(msgs, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());

  const FirehoseRequestTotals t = TotalFirehoseRequests(firehose);
  CHECK(t.violations == 0);
  CHECK(t.max_records <= 64);
  CHECK(t.refused > 0);
  // Only what was refused is sent again: every entry of every accepted
  // request is either a stored line or a refusal.
  CHECK(t.entries_in_accepted == kLines + t.refused);
  CHECK(refused_metric == static_cast<double>(t.refused));

  CHECK(dead_metric == 1);
  const std::filesystem::path dead = agent.data_dir() / "dead-letter" / "lake" / "app";
  std::string dead_text;
  for (const auto& e : std::filesystem::directory_iterator(dead)) dead_text += ReadFile(e.path());
  CHECK(dead_text.find("\"msg\":\"" + big + "\"") != std::string::npos);
}

TEST_CASE("firehose sink: combine joins lines into records within max_record_size", "[agent][firehose]") {
  TempDir tmp("sluice-firehose-combine");
  FirehoseContractOptions fo;
  fo.streams = {"joined"};
  FirehoseContract firehose(tmp / "firehose", fo);
  AgentOptions o = FirehoseAgent(tmp, firehose, "joined", "combine = true\nmax_record_size = \"4KiB\"\n");
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 5000;
  {
    LineWriter writer(FirehoseLines(agent.logs() / "app.log", kLines));
    writer.Join();
  }
  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(60s));
  REQUIRE(agent.Stop(30s).has_value());

  const std::vector<std::string> records = firehose.Records("joined");
  std::vector<std::string> msgs;
  size_t largest = 0;
  for (const std::string& record : records) {
    largest = std::max(largest, record.size());
    CHECK(record.ends_with('\n'));
    size_t start = 0;
    for (size_t nl = record.find('\n'); nl != std::string::npos; start = nl + 1, nl = record.find('\n', start)) {
      msgs.push_back(nlohmann::json::parse(record.substr(start, nl - start)).at("msg"));
    }
  }
  CHECK(largest <= 4096);
  // Lines of about 200 bytes with their JSON: many to a record.
  CHECK(records.size() * 10 < kLines);
  const LineAudit audit = AuditLines(msgs, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
  CHECK(NumberedLinesAscending(msgs));
  CHECK(TotalFirehoseRequests(firehose).violations == 0);
}

TEST_CASE("firehose sink: a missing delivery stream is retried and nothing is stored", "[agent][firehose]") {
  TempDir tmp("sluice-firehose-missing");
  FirehoseContractOptions fo;
  fo.streams = {"other"};
  FirehoseContract firehose(tmp / "firehose", fo);
  AgentOptions o = FirehoseAgent(tmp, firehose, "missing", "");
  o.retry_max = "300ms";
  o.shutdown_timeout = "1s";  // nothing can be delivered: do not wait to drain
  AgentUnderTest agent(tmp / "agent", o);
  {
    LineWriter writer(FirehoseLines(agent.logs() / "app.log", 50));
    writer.Join();
  }
  agent.Start();
  const bool refused = WaitUntil(30s, [&] {
    return agent.StderrOfLastRun().find("ResourceNotFoundException") != std::string::npos &&
           firehose.Requests().size() >= 3;
  });
  INFO(agent.StderrTail());
  CHECK(refused);
  CHECK(agent.StderrOfLastRun().find("delivery stream 'missing'") != std::string::npos);
  REQUIRE(agent.Stop(30s).has_value());
  CHECK(firehose.Records("missing").empty());
}

}  // namespace sluice::test

namespace sluice::test {

// The contract server is only worth its name if it refuses what Firehose
// would: a request signed with the wrong secret never stores anything.
TEST_CASE("firehose contract server: a request signed with the wrong secret is refused", "[agent][firehose]") {
  TempDir tmp("sluice-firehose-badsig");
  FirehoseContractOptions fo;
  fo.streams = {"events"};
  FirehoseContract firehose(tmp / "firehose", fo);
  AgentOptions o = FirehoseAgent(tmp, firehose, "events", "");
  for (auto& [name, value] : o.env) {
    if (name == "AWS_SECRET_ACCESS_KEY") value = "not-the-secret";
  }
  o.retry_max = "300ms";
  o.shutdown_timeout = "1s";  // nothing can be delivered: do not wait to drain
  AgentUnderTest agent(tmp / "agent", o);
  {
    LineWriter writer(FirehoseLines(agent.logs() / "app.log", 10));
    writer.Join();
  }
  agent.Start();
  const bool refused = WaitUntil(30s, [&] { return firehose.Requests().size() >= 2; });
  INFO(agent.StderrTail());
  REQUIRE(refused);
  REQUIRE(agent.Stop(30s).has_value());
  for (const nlohmann::json& r : firehose.Requests()) {
    CHECK(r.value("violation", "").find("signature does not match") != std::string::npos);
  }
  CHECK(firehose.Records("events").empty());
  CHECK(agent.StderrOfLastRun().find("ValidationException") != std::string::npos);
}

}  // namespace sluice::test
