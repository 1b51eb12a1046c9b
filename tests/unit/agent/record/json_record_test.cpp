#include "agent/record/json_record.h"

#include <random>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/util/utf8.h"

namespace sluice {
namespace {

constexpr int64_t kTs = 1795255200123;  // 2026-11-21T10:00:00.123Z

nlohmann::json ParseOne(const std::string& out) {
  REQUIRE(!out.empty());
  REQUIRE(out.back() == '\n');
  REQUIRE(out.find('\n') == out.size() - 1);  // exactly one line
  return nlohmann::json::parse(out.substr(0, out.size() - 1));
}

// The original bytes of a msg field, whichever way it was carried.
std::string MsgBytes(const nlohmann::json& msg) {
  if (msg.is_string()) return msg.get<std::string>();
  REQUIRE(msg.is_object());
  REQUIRE(msg.size() == 1);
  std::string bytes;
  REQUIRE(DecodeBase64(msg.at("base64").get<std::string>(), bytes));
  return bytes;
}

}  // namespace

TEST_CASE("json_record: timestamps are RFC 3339 UTC with milliseconds", "[unit]") {
  CHECK(FormatTimestampMs(kTs) == "2026-11-21T10:00:00.123Z");
  CHECK(FormatTimestampMs(0) == "1970-01-01T00:00:00.000Z");
  CHECK(FormatTimestampMs(1) == "1970-01-01T00:00:00.001Z");
  CHECK(FormatTimestampMs(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(FormatTimestampMs(951782400000) == "2000-02-29T00:00:00.000Z");  // leap day
  CHECK(FormatTimestampMs(4102444799999) == "2099-12-31T23:59:59.999Z");
  CHECK(FormatTimestampMs(253402300799999) == "9999-12-31T23:59:59.999Z");
  CHECK(FormatTimestampMs(INT64_MAX) == "9999-12-31T23:59:59.999Z");  // clamped
  CHECK(FormatTimestampMs(INT64_MIN) == "0000-01-01T00:00:00.000Z");  // clamped
}

TEST_CASE("json_record: a line is encoded exactly as DESIGN.md shows", "[unit]") {
  JsonRecordEncoder enc;
  std::string out;
  enc.AppendLogLine(out, kTs, "app", "edge-7", "/var/log/app.log", "hello world");
  CHECK(out ==
        R"({"ts":"2026-11-21T10:00:00.123Z","source":"app","host":"edge-7","path":"/var/log/app.log","msg":"hello world"})"
        "\n");
}

TEST_CASE("json_record: msg round-trips exactly through a JSON parser", "[unit]") {
  const std::vector<std::string> lines{
      "",
      "plain",
      "tab\there",
      "carriage return\r",
      "quotes \"inside\" and \\backslashes\\",
      std::string("embedded\0nul", 12),
      "control \x01\x02\x1b[31m colour \x7f",
      "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac",
      "{\"looks\":\"like json\"}",
      "\xff\xfe not utf-8",
      "valid start then truncated \xe2\x82",
      "surrogate \xed\xa0\x80",
      "overlong \xc0\xaf",
      std::string("invalid\0with nul \xff", 19),
  };
  JsonRecordEncoder enc;
  for (const auto& line : lines) {
    INFO(Base64(line));
    std::string out;
    enc.AppendLogLine(out, kTs, "app", "edge-7", "/var/log/app.log", line);
    const auto j = ParseOne(out);
    CHECK(j.size() == 5);
    CHECK(j["ts"] == "2026-11-21T10:00:00.123Z");
    CHECK(j["source"] == "app");
    CHECK(j["host"] == "edge-7");
    CHECK(j["path"] == "/var/log/app.log");
    CHECK(MsgBytes(j["msg"]) == line);
    CHECK(j["msg"].is_string() == IsValidUtf8(line));
  }
}

TEST_CASE("json_record: invalid UTF-8 is carried as base64", "[unit]") {
  JsonRecordEncoder enc;
  std::string out;
  enc.AppendLogLine(out, kTs, "app", "h", "/p", "\xff");
  CHECK(out == R"({"ts":"2026-11-21T10:00:00.123Z","source":"app","host":"h","path":"/p","msg":{"base64":"/w=="}})"
               "\n");
}

TEST_CASE("json_record: metadata is escaped, and a non-UTF-8 path is base64 too", "[unit]") {
  JsonRecordEncoder enc;
  std::string out;
  enc.AppendLogLine(out, kTs, "a\"pp", "h\\ost", "/var/log/\xff.log", "m");
  const auto j = ParseOne(out);
  CHECK(j["source"] == "a\"pp");
  CHECK(j["host"] == "h\\ost");
  CHECK(MsgBytes(j["path"]) == "/var/log/\xff.log");
  CHECK(j["msg"] == "m");
}

TEST_CASE("json_record: caches follow changes of time and metadata", "[unit]") {
  JsonRecordEncoder enc;
  std::string out;
  enc.AppendLogLine(out, kTs, "app", "h", "/a", "1");
  enc.AppendLogLine(out, kTs, "app", "h", "/a", "2");
  enc.AppendLogLine(out, kTs + 1, "app", "h", "/a", "3");    // next millisecond
  enc.AppendLogLine(out, kTs + 877, "app", "h", "/b", "4");  // next second, other file
  enc.AppendLogLine(out, kTs - 86'400'000, "ap", "ph", "/b", "5");  // same concatenation, other split
  enc.AppendLogLine(out, kTs, "app", "h", "/a", "6");
  enc.AppendLogLine(out, kTs, "app", "", "/a", "7");
  enc.AppendLogLine(out, kTs, "", "app", "/a", "8");
  CHECK(out ==
        R"({"ts":"2026-11-21T10:00:00.123Z","source":"app","host":"h","path":"/a","msg":"1"})" "\n"
        R"({"ts":"2026-11-21T10:00:00.123Z","source":"app","host":"h","path":"/a","msg":"2"})" "\n"
        R"({"ts":"2026-11-21T10:00:00.124Z","source":"app","host":"h","path":"/a","msg":"3"})" "\n"
        R"({"ts":"2026-11-21T10:00:01.000Z","source":"app","host":"h","path":"/b","msg":"4"})" "\n"
        R"({"ts":"2026-11-20T10:00:00.123Z","source":"ap","host":"ph","path":"/b","msg":"5"})" "\n"
        R"({"ts":"2026-11-21T10:00:00.123Z","source":"app","host":"h","path":"/a","msg":"6"})" "\n"
        R"({"ts":"2026-11-21T10:00:00.123Z","source":"app","host":"","path":"/a","msg":"7"})" "\n"
        R"({"ts":"2026-11-21T10:00:00.123Z","source":"","host":"app","path":"/a","msg":"8"})" "\n");
}

TEST_CASE("json_record: random bytes always give one parseable line that round-trips", "[unit]") {
  std::mt19937 rng(1234);
  JsonRecordEncoder enc;
  std::string out;
  for (int i = 0; i < 2000; ++i) {
    std::string line(rng() % 200, '\0');
    const bool ascii = rng() % 2 == 0;
    for (auto& c : line) c = static_cast<char>(ascii ? rng() % 0x80 : rng());
    out.clear();
    enc.AppendLogLine(out, kTs + i, "app", "h", "/p", line);
    const auto j = ParseOne(out);
    REQUIRE(MsgBytes(j["msg"]) == line);
  }
}

TEST_CASE("json_record: steady-state encoding does not grow the output buffer", "[unit]") {
  JsonRecordEncoder enc;
  std::string out;
  out.reserve(4096);
  const char* data = out.data();
  for (int i = 0; i < 10'000; ++i) {
    out.clear();
    enc.AppendLogLine(out, kTs + i / 10, "app", "edge-7", "/var/log/app.log",
                      "2026-11-21 10:00:00 INFO request served in 12ms \"GET /index.html\"");
  }
  CHECK(out.data() == data);  // no reallocation of the caller's buffer
}

}  // namespace sluice

namespace sluice {
namespace {

nlohmann::json MqttRecord(const MqttRecordFields& f) {
  JsonRecordEncoder enc;
  std::string out;
  enc.AppendMqttMessage(out, kTs, "sensors", "edge-7", f);
  return ParseOne(out);
}

nlohmann::json PayloadOf(std::string_view payload) {
  MqttRecordFields f;
  f.topic = "t";
  f.payload = payload;
  f.qos = 1;
  return MqttRecord(f).at("payload");
}

}  // namespace

TEST_CASE("json_record: an MQTT record carries topic, QoS, retain and receive time", "[unit]") {
  const std::vector<std::pair<std::string, std::string>> props = {{"site", "plant-3"}, {"site", "again"}, {"k", ""}};
  MqttRecordFields f;
  f.topic = "plant/3/temp";
  f.payload = R"({"c":21.5})";
  f.qos = 1;
  f.retain = true;
  f.content_type = "application/json";
  f.user_properties = props;
  const nlohmann::json j = MqttRecord(f);
  CHECK(j.at("ts") == "2026-11-21T10:00:00.123Z");
  CHECK(j.at("source") == "sensors");
  CHECK(j.at("host") == "edge-7");
  CHECK(j.at("topic") == "plant/3/temp");
  CHECK(j.at("qos") == 1);
  CHECK(j.at("retain") == true);
  CHECK(j.at("content_type") == "application/json");
  // Repeated names and their order survive: pairs, not an object.
  CHECK(j.at("user_properties") == nlohmann::json::parse(R"([["site","plant-3"],["site","again"],["k",""]])"));
  CHECK(j.at("payload") == nlohmann::json::parse(R"({"c":21.5})"));
  // Without MQTT 5 properties the fields are absent, not empty.
  f.content_type = {};
  f.user_properties = {};
  const nlohmann::json plain = MqttRecord(f);
  CHECK_FALSE(plain.contains("content_type"));
  CHECK_FALSE(plain.contains("user_properties"));
}

TEST_CASE("json_record: MQTT payloads are JSON values, UTF-8 strings or base64", "[unit]") {
  CHECK(PayloadOf("42") == 42);
  CHECK(PayloadOf("true") == true);
  CHECK(PayloadOf("null").is_null());
  CHECK(PayloadOf(R"("quoted")") == "quoted");
  CHECK(PayloadOf(R"([1, {"a": "b"}])") == nlohmann::json::parse(R"([1,{"a":"b"}])"));
  // Not JSON, valid UTF-8: a string, byte for byte.
  CHECK(PayloadOf("hello world") == "hello world");
  CHECK(PayloadOf("{not json") == "{not json");
  CHECK(PayloadOf("tr") == "tr");
  CHECK(PayloadOf("21.5 C") == "21.5 C");
  CHECK(PayloadOf("Grüße, 温度 ✓") == "Grüße, 温度 ✓");
  CHECK(PayloadOf(std::string("nul\0inside", 10)) == std::string("nul\0inside", 10));
  CHECK(PayloadOf("") == "");  // 0 bytes: an empty string
  CHECK(PayloadOf("   ") == "   ");
  // Invalid UTF-8 or binary: base64 of the exact bytes.
  const std::string binary("\xff\xfe\x00\x01\x80", 5);
  std::string decoded;
  REQUIRE(DecodeBase64(PayloadOf(binary).at("base64").get<std::string>(), decoded));
  CHECK(decoded == binary);
  CHECK(PayloadOf("caf\xc3").contains("base64"));  // truncated sequence
}

TEST_CASE("json_record: a pretty-printed JSON payload stays one JSON Lines record", "[unit]") {
  const std::string pretty = "{\r\n  \"a\": \"line\\nbreak\",\n  \"b\": [1,\n 2]\n}\n";
  MqttRecordFields f;
  f.topic = "t";
  f.payload = pretty;
  JsonRecordEncoder enc;
  std::string out;
  enc.AppendMqttMessage(out, kTs, "s", "h", f);
  const nlohmann::json j = ParseOne(out);  // one line
  CHECK(j.at("payload") == nlohmann::json::parse(pretty));
  CHECK(j.at("payload").at("a") == "line\nbreak");  // escapes inside strings untouched
}

TEST_CASE("json_record: a split MQTT part is base64 and says which part of what", "[unit]") {
  MqttRecordFields f;
  f.topic = "t";
  f.payload = "\xc3";  // half of a UTF-8 sequence: parts are raw bytes
  f.qos = 1;
  f.part = 2;
  f.parts = 3;
  f.message_bytes = 10;
  f.message_id = "1795255200123-7";
  const nlohmann::json j = MqttRecord(f);
  CHECK(j.at("part") == 2);
  CHECK(j.at("parts") == 3);
  CHECK(j.at("message_bytes") == 10);
  CHECK(j.at("message_id") == "1795255200123-7");
  std::string decoded;
  REQUIRE(DecodeBase64(j.at("payload").at("base64").get<std::string>(), decoded));
  CHECK(decoded == "\xc3");
}

}  // namespace sluice
