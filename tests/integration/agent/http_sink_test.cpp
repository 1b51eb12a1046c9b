// The agent's HTTP sink against a real local HTTP server (cpp-httplib, in
// tests/support/http_receiver.h) that logs every request and answers as each
// test says: every record arrives exactly once when all goes well; under
// 5xx, 429, cut connections, slow answers and a flapping server nothing is
// lost, and a record arrives twice only when a request's answer never came;
// Retry-After is honored; 4xx answers dead-letter; gzip and zstd bodies
// decode to the exact records; the Elasticsearch _bulk and Splunk HEC
// presets have their exact wire shapes.
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "core/util/utf8.h"
#include "tests/support/agent_fixture.h"
#include "tests/support/http_receiver.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/process.h"
#include "tests/support/sink_agent.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// An agent in <tmp>/agent whose sink is `type = "http"` at `url`, with `keys`.
AgentOptions HttpSinkAgent(const TempDir& tmp, const std::string& url, const std::string& keys) {
  return SinkAgentOptions(tmp / "agent", "type = \"http\"\nurl = " + TomlString(url) + "\n" + keys);
}

// The `msg` of each JSON Lines record of a request.
std::vector<std::string> HttpSinkMsgs(const ReceivedRequest& r) {
  std::vector<std::string> out;
  for (const std::string& line : r.Lines()) out.push_back(nlohmann::json::parse(line).at("msg"));
  return out;
}

// The msgs of every request the server took (answered 2xx, answer delivered or not).
std::vector<std::string> HttpSinkStoredMsgs(const std::vector<ReceivedRequest>& requests,
                                            std::vector<std::string> (*msgs)(const ReceivedRequest&) = HttpSinkMsgs) {
  std::vector<std::string> out;
  for (const ReceivedRequest& r : requests) {
    if (r.status < 200 || r.status >= 300) continue;
    for (std::string& m : msgs(r)) out.push_back(std::move(m));
  }
  return out;
}

// The msgs of the records in the sink's dead-letter directory.
std::vector<std::string> HttpSinkDeadLetters(const AgentUnderTest& agent) {
  std::vector<std::string> out;
  const std::filesystem::path dir = agent.data_dir() / "dead-letter" / "lake";
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string text = ReadFile(e.path());
    size_t start = 0;
    for (size_t nl = text.find('\n'); nl != std::string::npos; start = nl + 1, nl = text.find('\n', start)) {
      out.push_back(nlohmann::json::parse(text.substr(start, nl - start)).at("msg"));
    }
  }
  return out;
}

// For each line number: in how many of the requests matching `pick` it was.
std::map<uint64_t, int> HttpSinkCounts(const std::vector<ReceivedRequest>& requests,
                                       const std::function<bool(const ReceivedRequest&)>& pick) {
  std::map<uint64_t, int> out;
  for (const ReceivedRequest& r : requests) {
    if (!pick(r)) continue;
    for (const std::string& m : HttpSinkMsgs(r)) {
      if (auto n = ParseNumberedLine(m)) ++out[*n];
    }
  }
  return out;
}

// Records that did not arrive exactly 1 + extra[n] times (extra: the copies
// that requests of unknown outcome explain).
size_t HttpSinkUnexplainedCopies(const LineAudit& audit, const std::map<uint64_t, int>& extra) {
  size_t wrong = 0;
  for (const auto& [n, copies] : audit.count) {
    const auto it = extra.find(n);
    if (copies != 1 + (it == extra.end() ? 0 : it->second)) ++wrong;
  }
  return wrong;
}

bool HttpSinkStored(const ReceivedRequest& r) { return r.status >= 200 && r.status < 300; }

void HttpSinkStop(AgentUnderTest& agent) {
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  INFO(agent.StderrTail());
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));
}

// A fault drawn per request from a seeded sequence (the agent sends one
// request at a time, so the sequence is the same every run).
struct HttpSinkFaults {
  std::mutex mu;
  std::mt19937_64 rng{11};
  HttpReply Next() {
    std::lock_guard lock(mu);
    const int roll = static_cast<int>(rng() % 100);
    HttpReply r;
    if (roll < 10) {
      r.status = 500;
    } else if (roll < 20) {
      r.status = 503;
    } else if (roll < 30) {
      r.status = 429;
      r.headers = {{"Retry-After", "0"}};
    } else if (roll < 38) {
      r.status = 503;  // not taken, and the connection cut: the client sees no answer
      r.cut = true;
    } else if (roll < 46) {
      r.cut = true;  // taken, but the answer never reaches the client
    } else if (roll < 54) {
      r.delay = 200ms;  // slow, within the timeout
    }
    return r;
  }
};

}  // namespace

TEST_CASE("http sink: ndjson records arrive exactly once within the limits, with headers and a bearer token",
          "[agent][http]") {
  TempDir tmp("sluice-http-basic");
  HttpReceiver server;
  const std::filesystem::path token = tmp / "token";
  WriteFile(token, "s3cr3t-t0ken\n");
  AgentOptions o = HttpSinkAgent(tmp, server.url(),
                                 "max_records = 100\nmax_request_size = \"16KiB\"\n"
                                 "headers = { \"X-Tenant\" = \"edge-7\" }\ntoken_file = " +
                                     TomlString(token.string()) + "\n");
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 3000;
  WriteNumberedLines(agent, kLines);
  const std::string big(40000, 'b');  // larger than max_request_size: goes alone
  AppendFile(agent.logs() / "app.log", big + "\n");
  StartUntilCaughtUp(agent);
  HttpSinkStop(agent);

  const std::vector<ReceivedRequest> requests = server.Requests();
  std::vector<std::string> msgs;
  bool big_alone = false;
  for (const ReceivedRequest& r : requests) {
    INFO("request " << r.n);
    CHECK(r.status == 200);
    CHECK(r.path == "/ingest");
    CHECK(r.Header("content-type") == "application/x-ndjson");
    CHECK(r.Header("content-encoding").empty());
    CHECK(r.Header("x-tenant") == "edge-7");
    CHECK(r.Header("authorization") == "Bearer s3cr3t-t0ken");
    const std::vector<std::string> lines = r.Lines();
    CHECK(lines.size() <= 100);
    CHECK((r.body.size() <= 16384 || lines.size() == 1));
    for (std::string& m : HttpSinkMsgs(r)) {
      if (m == big) {
        big_alone = lines.size() == 1;
      } else {
        msgs.push_back(std::move(m));
      }
    }
  }
  CHECK(big_alone);
  CHECK(requests.size() > kLines * 200 / 16384);  // the size limit, not max_records, cut the requests
  const LineAudit audit = AuditLines(msgs, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
  CHECK(NumberedLinesAscending(msgs));

  // The secret is in no log and not in `agent check`'s output; its file's path is.
  CHECK(agent.Stderr().find("s3cr3t") == std::string::npos);
  ProcessOptions check;
  check.program = SLUICE_BINARY;
  check.args = {"agent", "check", "--config", agent.config_path().string()};
  check.log_dir = tmp.path();
  check.name = "check";
  const RunResult checked = RunToCompletion(std::move(check), 60s);
  INFO(checked.err);
  CHECK(checked.status.Exited(0));
  CHECK(checked.out.find(token.string()) != std::string::npos);
  CHECK(checked.out.find("s3cr3t") == std::string::npos);
}

TEST_CASE("http sink: gzip and zstd bodies, json_array and raw records decode to the exact records", "[agent][http]") {
  TempDir tmp("sluice-http-compress");
  constexpr uint64_t kLines = 2000;
  WriteFile(tmp / "password", "pa55word\n");
  {
    HttpReceiver server;
    AgentOptions o = HttpSinkAgent(tmp, server.url(),
                                   "compression = \"gzip\"\nformat = \"json_array\"\nuser = \"alice\"\n"
                                   "password_file = " +
                                       TomlString((tmp / "password").string()) + "\n");
    AgentUnderTest agent(tmp / "agent", o);
    WriteNumberedLines(agent, kLines);
    StartUntilCaughtUp(agent);
    HttpSinkStop(agent);
    std::vector<std::string> msgs;
    for (const ReceivedRequest& r : server.Requests()) {
      CHECK(r.Header("content-encoding") == "gzip");
      CHECK(r.Header("content-type") == "application/json");
      CHECK(r.Header("authorization") == "Basic " + Base64("alice:pa55word"));
      CHECK(r.wire_bytes < r.body.size() / 4);  // compressed on the wire; the receiver gunzipped it
      const nlohmann::json array = nlohmann::json::parse(r.body);
      REQUIRE(array.is_array());
      for (const nlohmann::json& record : array) msgs.push_back(record.at("msg"));
    }
    const LineAudit audit = AuditLines(msgs, 1, kLines);
    INFO(audit.Summary());
    CHECK(audit.ExactlyOnce());
    CHECK(NumberedLinesAscending(msgs));
  }
  {
    HttpReceiver server;
    AgentOptions o = HttpSinkAgent(tmp, server.url(), "compression = \"zstd\"\nencoding = \"raw\"\n");
    o.paths = {(tmp / "agent2" / "logs" / "app.log").string()};
    AgentUnderTest agent(tmp / "agent2", o);
    WriteNumberedLines(agent, kLines);
    StartUntilCaughtUp(agent);
    HttpSinkStop(agent);
    std::vector<std::string> lines;
    for (const ReceivedRequest& r : server.Requests()) {
      CHECK(r.Header("content-encoding") == "zstd");
      CHECK(r.Header("content-type") == "application/x-ndjson");
      CHECK(r.Header("authorization").empty());
      CHECK(r.wire_bytes < r.body.size() / 4);
      CHECK(r.body.ends_with('\n'));
      for (std::string& l : r.Lines()) lines.push_back(std::move(l));  // raw: the lines exactly as written
    }
    const LineAudit audit = AuditLines(lines, 1, kLines);
    INFO(audit.Summary());
    CHECK(audit.ExactlyOnce());
    CHECK(NumberedLinesAscending(lines));
  }
}

TEST_CASE("http sink: nothing is lost under 5xx, 429, cut connections and slow answers; only lost answers copy",
          "[agent][http]") {
  TempDir tmp("sluice-http-faults");
  auto faults = std::make_shared<HttpSinkFaults>();
  HttpReceiver server([faults](const ReceivedRequest&) { return faults->Next(); });
  AgentOptions o = HttpSinkAgent(tmp, server.url(), "max_records = 40\n");
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 2000;
  WriteNumberedLines(agent, kLines);
  StartUntilCaughtUp(agent);
  const double m500 = agent.Metric("sluice_http_requests_total", {{"sink", "lake"}, {"code", "500"}});
  const double m503 = agent.Metric("sluice_http_requests_total", {{"sink", "lake"}, {"code", "503"}});
  const double m429 = agent.Metric("sluice_http_requests_total", {{"sink", "lake"}, {"code", "429"}});
  const double merr = agent.Metric("sluice_http_requests_total", {{"sink", "lake"}, {"code", "error"}});
  HttpSinkStop(agent);

  const std::vector<ReceivedRequest> requests = server.Requests();
  std::map<std::string, int> seen;
  for (const ReceivedRequest& r : requests)
    ++seen[r.cut ? "cut " + std::to_string(r.status) : std::to_string(r.status)];
  for (const auto& [k, v] : seen) UNSCOPED_INFO(k << ": " << v);
  const LineAudit audit = AuditLines(HttpSinkStoredMsgs(requests), 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.missing.empty());
  CHECK(audit.foreign_total == 0);
  // A record arrives once, plus once for each request that carried it, was
  // taken, and whose answer was cut: the only requests of unknown outcome.
  const std::map<uint64_t, int> lost_answers =
      HttpSinkCounts(requests, [](const ReceivedRequest& r) { return r.cut && HttpSinkStored(r); });
  CHECK(HttpSinkUnexplainedCopies(audit, lost_answers) == 0);
  CHECK(!lost_answers.empty());
  CHECK(seen["500"] > 0);
  CHECK(seen["429"] > 0);
  CHECK(seen["cut 503"] > 0);
  // The agent saw what the server answered.
  CHECK(m500 == seen["500"]);
  CHECK(m503 == seen["503"]);
  CHECK(m429 == seen["429"]);
  CHECK(merr == seen["cut 503"] + seen["cut 200"]);
}

TEST_CASE("http sink: Retry-After is honored, in seconds and as an HTTP-date", "[agent][http]") {
  TempDir tmp("sluice-http-retry-after");
  HttpReceiver server([](const ReceivedRequest& r) {
    HttpReply reply;
    if (r.n == 1) {
      reply.status = 429;
      reply.headers = {{"Retry-After", "2"}};
    } else if (r.n == 2) {
      reply.status = 503;
      const std::time_t when = std::time(nullptr) + 3;  // whole seconds: at least 2 s from now
      char date[64];
      std::tm tm{};
      gmtime_r(&when, &tm);
      std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      reply.headers = {{"Retry-After", date}};
    }
    return reply;
  });
  AgentUnderTest agent(tmp / "agent", HttpSinkAgent(tmp, server.url(), ""));  // retry.max 200 ms
  WriteNumberedLines(agent, 20);
  StartUntilCaughtUp(agent);
  HttpSinkStop(agent);
  const std::vector<ReceivedRequest> requests = server.Requests();
  REQUIRE(requests.size() == 3);
  // The retries came no earlier than asked: after a sleep that is never
  // shorter than the hint (the date's wait ends at that date, at least 2 s
  // after the server wrote it; 50 ms spare for the wall clock's slew).
  CHECK(requests[1].at - requests[0].at >= 2s);
  CHECK(requests[2].at - requests[1].at >= 1950ms);
  CHECK(requests[2].status == 200);
  CHECK(AuditLines(HttpSinkStoredMsgs(requests), 1, 20).ExactlyOnce());
  CHECK(agent.Stderr().find("Retry-After: 2") != std::string::npos);
}

TEST_CASE("http sink: a 4xx answer dead-letters the request's records, counted, the answer logged truncated",
          "[agent][http]") {
  TempDir tmp("sluice-http-4xx");
  const std::string answer = "{\"error\":\"unparseable\",\"detail\":\"" + std::string(2000, 'x') + "END-OF-ANSWER\"}";
  HttpReceiver server([answer](const ReceivedRequest& r) {
    HttpReply reply;
    if (r.body.find("line 000050 ") != std::string::npos || r.body.find("line 000321 ") != std::string::npos) {
      reply.status = 400;
      reply.body = answer;
    }
    return reply;
  });
  AgentUnderTest agent(tmp / "agent", HttpSinkAgent(tmp, server.url(), "max_records = 10\n"));
  constexpr uint64_t kLines = 500;
  WriteNumberedLines(agent, kLines);
  StartUntilCaughtUp(agent);
  const double dead_metric = agent.Metric("sluice_sink_dead_letter_records_total", {{"sink", "lake"}});
  HttpSinkStop(agent);

  const std::vector<ReceivedRequest> requests = server.Requests();
  std::vector<std::string> refused;
  for (const ReceivedRequest& r : requests) {
    if (r.status == 400) {
      for (std::string& m : HttpSinkMsgs(r)) refused.push_back(std::move(m));
    }
  }
  const std::vector<std::string> dead = HttpSinkDeadLetters(agent);
  CHECK(std::multiset<std::string>(dead.begin(), dead.end()) ==
        std::multiset<std::string>(refused.begin(), refused.end()));
  CHECK(dead.size() >= 2);  // both refused requests, each record once: a refusal is not retried
  CHECK(dead_metric == static_cast<double>(dead.size()));
  std::vector<std::string> all = HttpSinkStoredMsgs(requests);
  all.insert(all.end(), dead.begin(), dead.end());
  const LineAudit audit = AuditLines(all, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
  const std::string log = agent.Stderr();
  CHECK(log.find("HTTP 400 from " + server.url() + ": {\"error\":\"unparseable\"") != std::string::npos);
  CHECK(log.find("END-OF-ANSWER") == std::string::npos);  // truncated
}

TEST_CASE("http sink: a 413 splits the request until the server takes it", "[agent][http]") {
  TempDir tmp("sluice-http-413");
  HttpReceiver server([](const ReceivedRequest& r) {
    HttpReply reply;
    if (r.Lines().size() > 30) reply.status = 413;
    return reply;
  });
  AgentUnderTest agent(tmp / "agent", HttpSinkAgent(tmp, server.url(), "max_records = 100\n"));
  constexpr uint64_t kLines = 300;
  WriteNumberedLines(agent, kLines);
  StartUntilCaughtUp(agent);
  HttpSinkStop(agent);
  const std::vector<ReceivedRequest> requests = server.Requests();
  size_t refused = 0;
  for (const ReceivedRequest& r : requests) refused += r.status == 413;
  CHECK(refused > 0);
  const LineAudit audit = AuditLines(HttpSinkStoredMsgs(requests), 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
  CHECK(HttpSinkDeadLetters(agent).empty());
}

TEST_CASE("http sink: a flapping destination (refused connections, runs of 503) loses nothing", "[agent][http]") {
  TempDir tmp("sluice-http-flap");
  HttpReceiver server([](const ReceivedRequest& r) {
    HttpReply reply;
    if (r.n % 10 < 4) reply.status = 503;  // four failures in every ten requests
    return reply;
  });
  AgentOptions o = HttpSinkAgent(tmp, server.url(), "max_records = 50\n");
  o.batch_max_age = "200ms";
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 2000;
  constexpr int kPauses = 3;
  agent.Start();
  {
    LineWriter::Options lo;
    lo.file = agent.logs() / "app.log";
    lo.count = kLines;
    lo.lines_per_second = 1000;
    LineWriter writer(lo);
    for (int i = 0; i < kPauses; ++i) {
      std::this_thread::sleep_for(300ms);
      server.Pause();  // connections refused
      std::this_thread::sleep_for(300ms);
      server.Resume();
    }
    writer.Join();
  }
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(60s, 1000ms));
  const double refused = agent.Metric("sluice_http_requests_total", {{"sink", "lake"}, {"code", "error"}});
  HttpSinkStop(agent);
  const std::vector<ReceivedRequest> requests = server.Requests();
  const LineAudit audit = AuditLines(HttpSinkStoredMsgs(requests), 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.missing.empty());
  CHECK(audit.foreign_total == 0);
  // Every answer the server gave arrived (nothing is cut here); only a
  // request in flight when the listener went away could be of unknown
  // outcome, at most one request of max_records per pause.
  CHECK(audit.duplicated.size() <= 50u * kPauses);
  CHECK(refused > 0);
}

TEST_CASE("http sink: an answer slower than timeout is sent again, and only its records arrive twice",
          "[agent][http]") {
  TempDir tmp("sluice-http-timeout");
  HttpReceiver server([](const ReceivedRequest& r) {
    HttpReply reply;
    if (r.n <= 2) reply.delay = 4s;  // taken at once, answered long after the agent gave up
    return reply;
  });
  AgentUnderTest agent(tmp / "agent", HttpSinkAgent(tmp, server.url(), "timeout = \"1s\"\nmax_records = 50\n"));
  constexpr uint64_t kLines = 200;
  WriteNumberedLines(agent, kLines);
  StartUntilCaughtUp(agent);
  const double unanswered = agent.Metric("sluice_http_requests_total", {{"sink", "lake"}, {"code", "error"}});
  HttpSinkStop(agent);
  const std::vector<ReceivedRequest> requests = server.Requests();
  const LineAudit audit = AuditLines(HttpSinkStoredMsgs(requests), 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.missing.empty());
  const std::map<uint64_t, int> slow = HttpSinkCounts(requests, [](const ReceivedRequest& r) { return r.n <= 2; });
  CHECK(HttpSinkUnexplainedCopies(audit, slow) == 0);
  CHECK(!audit.duplicated.empty());
  CHECK(unanswered == 2);
  CHECK(agent.Stderr().find("timed out") != std::string::npos);
}

}  // namespace sluice::test
