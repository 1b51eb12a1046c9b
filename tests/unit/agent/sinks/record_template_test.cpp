// The shared single-record options: `encoding` and record templates.
#include "agent/sinks/record_template.h"

#include <catch2/catch.hpp>

namespace sluice {

namespace {

RecordTemplate MustParseTemplate(std::string_view text) {
  auto t = RecordTemplate::Parse(text, kRecordTemplateVars);
  REQUIRE(t.ok());
  return std::move(t).value();
}

}  // namespace

TEST_CASE("record template: literal text and the record's fields", "[sinks]") {
  const std::string rec = R"({"ts":"t","source":"sensors","host":"edge-7","topic":"plant/4/temp","payload":1})";
  CHECK(MustParseTemplate("devices.{source}").Render(rec) == "devices.sensors");
  CHECK(MustParseTemplate("{host}/{topic}").Render(rec) == "edge-7/plant/4/temp");
  CHECK(MustParseTemplate("k-{random}").Render(rec, "00ff") == "k-00ff");
  // A field the record lacks renders empty; so does every field of a line that is not JSON.
  CHECK(MustParseTemplate("p={path}").Render(rec) == "p=");
  CHECK(MustParseTemplate("x{source}").Render("not json") == "x");
  // A field carried as base64 (bytes that are not UTF-8) renders as its bytes.
  CHECK(MustParseTemplate("{path}").Render(R"({"path":{"base64":"/w=="}})") == "\xff");
  CHECK(MustParseTemplate("logs").constant());
  CHECK_FALSE(MustParseTemplate("{source}").constant());
  CHECK(MustParseTemplate("a{topic}").uses("topic"));
}

TEST_CASE("record template: unknown and unclosed variables are refused with the allowed list", "[sinks]") {
  auto unknown = RecordTemplate::Parse("t.{sorce}", kRecordTemplateVars);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("unknown variable {sorce}") != std::string::npos);
  CHECK(unknown.status().message().find("{source} {host} {path} {topic} {random}") != std::string::npos);
  auto unclosed = RecordTemplate::Parse("t.{source", kRecordTemplateVars);
  REQUIRE_FALSE(unclosed.ok());
  CHECK(unclosed.status().message().find("not closed") != std::string::npos);
}

TEST_CASE("record encoding: json is the line; raw is the bytes as read", "[sinks]") {
  const std::string line = R"({"ts":"t","source":"app","path":"/l","msg":"hello \"x\""})";
  CHECK(EncodeRecord(line, RecordEncoding::kJson).value() == line);
  CHECK(EncodeRecord(line, RecordEncoding::kRaw).value() == "hello \"x\"");
  CHECK(EncodeRecord(R"({"ts":"t","msg":"plain, text"})", RecordEncoding::kRaw).value() == "plain, text");
  // The key inside an earlier value is escaped, so it is never taken for the msg key.
  CHECK(EncodeRecord(R"({"ts":"t","path":"a,\"msg\":\"b","msg":"c"})", RecordEncoding::kRaw).value() == "c");
  CHECK(EncodeRecord(R"({"ts":"t","msg":""})", RecordEncoding::kRaw).value() == "");
  CHECK(EncodeRecord(R"({"msg":{"base64":"AAH/"}})", RecordEncoding::kRaw).value() == std::string("\0\1\xff", 3));
  CHECK(EncodeRecord(R"({"topic":"a","payload":{"c":21.5}})", RecordEncoding::kRaw).value() == R"({"c":21.5})");
  CHECK(EncodeRecord(R"({"topic":"a","payload":"text"})", RecordEncoding::kRaw).value() == "text");
  CHECK(EncodeRecord(R"({"topic":"a","payload":{"base64":"AQI="}})", RecordEncoding::kRaw).value() == "\1\2");
  CHECK(EncodeRecord(R"({"ts":"t"})", RecordEncoding::kRaw).status().code() == ErrorCode::kCorrupt);
  CHECK(EncodeRecord("[1]", RecordEncoding::kRaw).status().code() == ErrorCode::kCorrupt);
}

}  // namespace sluice
