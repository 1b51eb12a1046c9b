// The HTTP sink's presets on the wire, against local servers that check each
// request the way the real APIs read it: the Elasticsearch/OpenSearch _bulk
// API (an action line and a document line per record; an answer item per
// action, whose 429s are resent and whose other 4xx are dead-lettered; our
// _id makes a resent document a 409, never a copy) and Splunk's HTTP Event
// Collector (one event object per record, a Splunk token).
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "tests/support/agent_fixture.h"
#include "tests/support/http_receiver.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/sink_agent.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

AgentOptions HttpPresetAgent(const TempDir& tmp, const std::string& url, const std::string& keys) {
  return SinkAgentOptions(tmp / "agent", "type = \"http\"\nurl = " + TomlString(url) + "\n" + keys);
}

// A small _bulk endpoint: documents by _id; a document whose msg is
// `poison` is refused (400), 1 in 8 first sightings is rejected (429), some
// whole answers are cut after the documents were indexed.
class HttpPresetBulk {
 public:
  explicit HttpPresetBulk(std::string poison) : poison_(std::move(poison)) {}

  HttpReply Answer(const ReceivedRequest& r) {
    std::lock_guard lock(mu_);
    HttpReply reply;
    const std::vector<std::string> lines = r.Lines();
    if (r.path != "/_bulk" || lines.size() % 2 != 0 || !r.body.ends_with('\n') ||
        r.Header("content-type") != "application/x-ndjson") {
      ++violations_;
      reply.status = 400;
      return reply;
    }
    nlohmann::json items = nlohmann::json::array();
    bool errors = false;
    for (size_t i = 0; i < lines.size(); i += 2) {
      const nlohmann::json action = nlohmann::json::parse(lines[i]);
      const nlohmann::json doc = nlohmann::json::parse(lines[i + 1]);
      // Exactly {"create":{"_index":"logs","_id":"..."}}.
      const bool shaped = action.is_object() && action.size() == 1 && action.contains("create") &&
                          action["create"].size() == 2 && action["create"].value("_index", "") == "logs" &&
                          action["create"].contains("_id");
      if (!shaped) ++violations_;
      const std::string id = shaped ? action["create"]["_id"].get<std::string>() : "";
      int status = 201;
      nlohmann::json error;
      if (doc.at("msg") == poison_) {
        status = 400;
        error = {{"type", "mapper_parsing_exception"}, {"reason", "failed to parse field [msg]"}};
      } else if (docs_.count(id) != 0) {
        status = 409;
        error = {{"type", "version_conflict_engine_exception"}, {"reason", "document already exists"}};
      } else if (rng_() % 8 == 0) {
        status = 429;
        error = {{"type", "es_rejected_execution_exception"}, {"reason", "rejected execution"}};
      } else {
        docs_[id] = doc.at("msg");
      }
      errors = errors || status >= 300;
      nlohmann::json result = {{"_index", "logs"}, {"_id", id}, {"status", status}};
      if (!error.is_null()) result["error"] = error;
      items.push_back({{"create", result}});
      ++item_status_[status];
    }
    reply.body = nlohmann::json{{"took", 3}, {"errors", errors}, {"items", items}}.dump();
    reply.cut = r.n % 9 == 4;  // indexed, but the answer is lost
    return reply;
  }

  std::mutex mu_;
  std::string poison_;
  std::mt19937_64 rng_{5};
  std::map<std::string, std::string> docs_;  // _id -> msg
  std::map<int, int> item_status_;
  int violations_ = 0;
};

// Epoch seconds with milliseconds of "YYYY-MM-DDTHH:MM:SS.mmmZ", as Splunk's `time`.
double HttpPresetEpoch(const std::string& ts) {
  std::tm tm{};
  int ms = 0;
  REQUIRE(sscanf(ts.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                 &tm.tm_min, &tm.tm_sec, &ms) == 7);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + ms / 1000.0;
}

}  // namespace

TEST_CASE("http sink: elasticsearch _bulk pairs, 429 items resent, 4xx items dead-lettered, resends are 409s",
          "[agent][http]") {
  TempDir tmp("sluice-http-bulk");
  const std::string poison = NumberedLine(77);
  auto bulk = std::make_shared<HttpPresetBulk>(poison);
  HttpReceiver server([bulk](const ReceivedRequest& r) { return bulk->Answer(r); });
  AgentUnderTest agent(tmp / "agent", HttpPresetAgent(tmp, server.url("/_bulk"),
                                                      "format = \"elasticsearch\"\nindex = \"logs\"\n"
                                                      "max_records = 40\n"));
  constexpr uint64_t kLines = 1500;
  WriteNumberedLines(agent, kLines);
  StartUntilCaughtUp(agent);
  const double dead = agent.Metric("sluice_sink_dead_letter_records_total", {{"sink", "lake"}});
  const double duplicates = agent.Metric("sluice_http_bulk_duplicates_total", {{"sink", "lake"}});
  REQUIRE(agent.Stop(30s).has_value());

  std::lock_guard lock(bulk->mu_);
  CHECK(bulk->violations_ == 0);
  std::vector<std::string> msgs;
  std::set<std::string> batch_ids;
  for (const auto& [id, msg] : bulk->docs_) {
    msgs.push_back(msg);
    batch_ids.insert(id.substr(0, id.rfind('-')));  // _id = <batch id>-<record index>
  }
  CHECK(batch_ids.size() < msgs.size());
  const LineAudit audit = AuditLines(msgs, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.missing == std::vector<uint64_t>{77});  // refused: in the dead-letter directory
  CHECK(audit.duplicated.empty());
  CHECK(dead == 1);
  const std::filesystem::path dir = agent.data_dir() / "dead-letter" / "lake" / "app";
  std::string dead_text;
  for (const auto& e : std::filesystem::directory_iterator(dir)) dead_text += ReadFile(e.path());
  CHECK(nlohmann::json::parse(dead_text).at("msg") == poison);
  CHECK(agent.Stderr().find("mapper_parsing_exception") != std::string::npos);
  CHECK(bulk->item_status_[429] > 0);
  CHECK(bulk->item_status_[409] > 0);  // the documents of answers that were cut, resent
  CHECK(duplicates == bulk->item_status_[409]);
}

TEST_CASE("http sink: splunk_hec sends one event object per record with time, host and source, and a Splunk token",
          "[agent][http]") {
  TempDir tmp("sluice-http-hec");
  WriteFile(tmp / "hec-token", "8f1c-hec-token\n");
  HttpReceiver server([](const ReceivedRequest&) {
    HttpReply reply;
    reply.body = "{\"text\":\"Success\",\"code\":0}";
    return reply;
  });
  AgentUnderTest agent(tmp / "agent", HttpPresetAgent(tmp, server.url("/services/collector/event"),
                                                      "format = \"splunk_hec\"\ntoken_file = " +
                                                          TomlString((tmp / "hec-token").string()) +
                                                          "\nindex = \"edge\"\nsourcetype = \"sluice:log\"\n"));
  constexpr uint64_t kLines = 500;
  WriteNumberedLines(agent, kLines);
  StartUntilCaughtUp(agent);
  REQUIRE(agent.Stop(30s).has_value());

  std::vector<std::string> msgs;
  for (const ReceivedRequest& r : server.Requests()) {
    CHECK(r.path == "/services/collector/event");
    CHECK(r.Header("authorization") == "Splunk 8f1c-hec-token");
    CHECK(r.Header("content-type") == "application/json");
    for (const std::string& line : r.Lines()) {
      const nlohmann::ordered_json e = nlohmann::ordered_json::parse(line);
      std::vector<std::string> keys;
      for (const auto& [k, v] : e.items()) keys.push_back(k);
      CHECK(keys == std::vector<std::string>{"event", "time", "host", "source", "index", "sourcetype"});
      const nlohmann::ordered_json& event = e.at("event");  // the record itself
      CHECK(event.at("path") == (agent.logs() / "app.log").string());
      CHECK(e.at("time").get<double>() == Approx(HttpPresetEpoch(event.at("ts"))).margin(0.0005));
      CHECK(e.at("host") == event.at("host"));
      CHECK(e.at("source") == "app");
      CHECK(e.at("index") == "edge");
      CHECK(e.at("sourcetype") == "sluice:log");
      msgs.push_back(event.at("msg"));
    }
  }
  const LineAudit audit = AuditLines(msgs, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
  CHECK(agent.Stderr().find("8f1c") == std::string::npos);
}

}  // namespace sluice::test
