// The HTTP sink's parts without a server: its configuration (defaults, the
// combinations it refuses), the body of each format, and reading _bulk answers.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/agent_config.h"
#include "agent/sinks/http/bulk_response.h"
#include "agent/sinks/http/http_body.h"
#include "tests/support/sink_config_errors.h"

namespace sluice {
namespace {

std::string HttpConfigError(const std::string& sink_keys) {
  return test::SinkConfigError("type = \"http\"\n" + sink_keys);
}

HttpSinkConfig HttpConfigOf(const std::string& keys) {
  const ConfigDocument doc = ConfigDocument::Parse(keys, "sink.toml");
  EffectiveConfig effective;
  TableReader r(doc, &effective);
  return ParseHttpSinkConfig(r);
}

const char kHttpRecord[] =
    R"({"ts":"2026-11-21T10:00:00.123Z","source":"app","host":"edge-7","path":"/var/log/app.log","msg":"hello"})";

}  // namespace

TEST_CASE("http sink config: valid configurations and the combinations refused", "[unit][http]") {
  CHECK(HttpConfigError("url = \"http://127.0.0.1:8080/in\"\n") == "");
  CHECK(HttpConfigError("url = \"https://es:9200/_bulk\"\nformat = \"elasticsearch\"\nindex = \"logs\"\n"
                        "user = \"u\"\npassword_file = \"/p\"\ncompression = \"zstd\"\n") == "");
  CHECK(HttpConfigError("url = \"https://h/services/collector/event\"\nformat = \"splunk_hec\"\n"
                        "token_file = \"/t\"\nencoding = \"raw\"\nsourcetype = \"s\"\n") == "");
  struct Case {
    std::string keys;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"url = \"ftp://x\"\n", "must start with http:// or https://"},
      {"url = \"https://u:p@h/x\"\n", "credentials do not belong in the URL"},
      {"url = \"http://h\"\nheaders = { Authorization = \"Bearer x\" }\n", "never written in the configuration"},
      {"url = \"http://h\"\nheaders = { \"Content-Encoding\" = \"br\" }\n", "set by the sink"},
      {"url = \"http://h\"\ntoken = \"x\"\n", "never written in the configuration"},
      {"url = \"http://h\"\nuser = \"u\"\n", "needs both user and password_file"},
      {"url = \"http://h\"\nformat = \"json_array\"\nencoding = \"raw\"\n", "cannot carry unaltered"},
      {"url = \"http://h\"\nformat = \"elasticsearch\"\nencoding = \"raw\"\n", "cannot carry unaltered"},
      {"url = \"http://h\"\nformat = \"splunk_hec\"\n", "needs the HEC token"},
      {"url = \"http://h\"\nindex = \"logs\"\n", "unknown key"},  // index belongs to the presets
      {"url = \"http://h\"\nmax_records = 0\n", "max_records"},
  };
  for (const Case& c : cases) {
    INFO(c.keys);
    const std::string error = HttpConfigError(c.keys);
    CHECK_THAT(error, Catch::Contains(c.says));
  }
}

TEST_CASE("http sink body: ndjson and json_array pieces join into the body", "[unit][http]") {
  BatchInfo b;
  b.id = "1795255200-7";
  const HttpBodyFormat ndjson(HttpConfigOf("url = \"http://h\"\n"));
  const std::vector<std::string> pieces = {ndjson.Encode(kHttpRecord, b, 0).value(),
                                           ndjson.Encode(kHttpRecord, b, 1).value()};
  CHECK(ndjson.Assemble(pieces) == std::string(kHttpRecord) + "\n" + kHttpRecord + "\n");
  CHECK(ndjson.Overhead(2) == 0);
  CHECK(ndjson.content_type() == "application/x-ndjson");

  const HttpBodyFormat raw(HttpConfigOf("url = \"http://h\"\nencoding = \"raw\"\n"));
  CHECK(raw.Encode(kHttpRecord, b, 0).value() == "hello\n");
  CHECK(raw.Encode(R"({"ts":"x"})", b, 0).status().code() == ErrorCode::kCorrupt);

  const HttpBodyFormat array(HttpConfigOf("url = \"http://h\"\nformat = \"json_array\"\n"));
  const std::vector<std::string> two = {array.Encode(kHttpRecord, b, 0).value(),
                                        array.Encode(kHttpRecord, b, 1).value()};
  const std::string body = array.Assemble(two);
  CHECK(body.size() == two[0].size() + two[1].size() + array.Overhead(2));
  CHECK(nlohmann::json::parse(body) ==
        nlohmann::json::array({nlohmann::json::parse(kHttpRecord), nlohmann::json::parse(kHttpRecord)}));
}

TEST_CASE("http sink body: elasticsearch action lines", "[unit][http]") {
  BatchInfo b;
  b.id = "1795255200-7";
  const HttpBodyFormat ids(HttpConfigOf("url = \"http://h\"\nformat = \"elasticsearch\"\nindex = \"logs\"\n"));
  CHECK(ids.Encode(kHttpRecord, b, 3).value() ==
        "{\"create\":{\"_index\":\"logs\",\"_id\":\"1795255200-7-3\"}}\n" + std::string(kHttpRecord) + "\n");
  const HttpBodyFormat bare(
      HttpConfigOf("url = \"http://h\"\nformat = \"elasticsearch\"\nbulk_action = \"index\"\ndocument_ids = false\n"));
  CHECK(bare.Encode(kHttpRecord, b, 3).value() == "{\"index\":{}}\n" + std::string(kHttpRecord) + "\n");
  const HttpBodyFormat no_index(HttpConfigOf("url = \"http://h\"\nformat = \"elasticsearch\"\n"));
  CHECK(no_index.Encode(kHttpRecord, b, 0).value() ==
        "{\"create\":{\"_id\":\"1795255200-7-0\"}}\n" + std::string(kHttpRecord) + "\n");
}

TEST_CASE("http sink body: splunk_hec events", "[unit][http]") {
  BatchInfo b;
  const HttpBodyFormat hec(HttpConfigOf("url = \"http://h\"\nformat = \"splunk_hec\"\ntoken_file = \"/t\"\n"));
  CHECK(hec.Encode(kHttpRecord, b, 0).value() ==
        "{\"event\":" + std::string(kHttpRecord) +
            ",\"time\":1795255200.123,\"host\":\"edge-7\",\"source\":\"app\"}\n");
  const HttpBodyFormat raw(HttpConfigOf(
      "url = \"http://h\"\nformat = \"splunk_hec\"\ntoken_file = \"/t\"\nencoding = \"raw\"\nindex = \"i\"\n"));
  CHECK(raw.Encode(kHttpRecord, b, 0).value() ==
        "{\"event\":\"hello\",\"time\":1795255200.123,\"host\":\"edge-7\",\"source\":\"app\",\"index\":\"i\"}\n");
  CHECK(EpochSecondsOf("2026-11-21T10:00:00.007Z") == "1795255200.007");
  CHECK(EpochSecondsOf("2026-11-21 10:00:00") == "");
}

TEST_CASE("http sink: _bulk answers", "[unit][http]") {
  CHECK(ParseBulkResponse(R"({"took":3,"errors":false,"items":[{"create":{"status":201}}]})", 1)->empty());
  const auto items = ParseBulkResponse(
      R"({"took":3,"errors":true,"items":[{"create":{"status":201}},)"
      R"({"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},)"
      R"({"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}]})",
      3);
  REQUIRE(items.ok());
  REQUIRE(items->size() == 3);
  CHECK(items.value()[0].status == 201);
  CHECK(items.value()[1].status == 429);
  CHECK(items.value()[2].error == "mapper_parsing_exception: bad");
  CHECK(ParseBulkResponse(R"({"took":3,"errors":true,"items":[{"create":{"status":201}}]})", 2).status().code() ==
        ErrorCode::kIo);
  CHECK(ParseBulkResponse("<html>bad gateway</html>", 1).status().code() == ErrorCode::kIo);
}

}  // namespace sluice
