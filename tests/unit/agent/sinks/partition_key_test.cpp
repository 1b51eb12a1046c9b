// Partition key templates: record fields, random, fallbacks and the 256-character cut.
#include <catch2/catch.hpp>

#include "agent/sinks/kinesis/kinesis_sink.h"

namespace sluice {

TEST_CASE("kinesis sink: partition keys from the record's fields", "[sinks]") {
  const std::string rec =
      R"({"ts":"2026-11-22T13:00:00Z","host":"edge-7","source":"sensors","topic":"plant/4/temp","msg":"x"})";
  CHECK(RenderPartitionKey("{topic}", rec, "sensors", "") == "plant/4/temp");
  CHECK(RenderPartitionKey("{host}/{source}", rec, "sensors", "") == "edge-7/sensors");
  CHECK(RenderPartitionKey("k-{random}", rec, "sensors", "00ff") == "k-00ff");
  // A field the record lacks renders empty; an empty key falls back to the source.
  CHECK(RenderPartitionKey("{path}", rec, "sensors", "") == "sensors");
  CHECK(RenderPartitionKey("{path}", "not json", "logs", "") == "logs");
  // An unclosed brace is literal text (the config reader refuses it first).
  CHECK(RenderPartitionKey("a{b", rec, "s", "") == "a{b");
  // Cut to 256 bytes without splitting a UTF-8 sequence.
  const std::string long_topic = std::string(255, 'a') + "\xc3\xa9";
  const std::string cut = RenderPartitionKey("{topic}", R"({"topic":")" + long_topic + R"("})", "s", "");
  CHECK(cut == std::string(255, 'a'));
}

}  // namespace sluice
