// What the sinks that ship records one by one (Kinesis, Firehose, Kafka, MQTT,
// HTTP) share about a single record:
//   - `encoding`: "json" sends the stored JSON line as it is (DESIGN.md's
//     envelope); "raw" sends the bytes exactly as read: a log line's `msg`,
//     an MQTT message's `payload` (a JSON payload is its JSON value, a text
//     payload the text, a binary one its decoded base64);
//   - templates over a record's fields, for Kafka topics and keys, MQTT
//     topics, Kinesis partition keys: literal text and {variables}, each the
//     record's string field of that name ({source} {host} {path} {topic}) or
//     {random}. A missing field renders as "".
// Templates are validated when the configuration is read (Parse), so Render
// never fails.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/reader.h"
#include "core/status.h"

namespace sluice {

enum class RecordEncoding { kJson, kRaw };

// Reads `encoding` ("json" | "raw") from a sink's table.
RecordEncoding ParseRecordEncoding(TableReader& r);

// One stored record (a JSON line without its newline) in `encoding`. kCorrupt
// when a raw record has neither `msg` nor `payload` or its base64 is bad.
Result<std::string> EncodeRecord(std::string_view json_line, RecordEncoding encoding);

class RecordTemplate {
 public:
  RecordTemplate() = default;
  // Splits `text` into literal text and variables from `allowed` (e.g.
  // {"source","host","path","topic","random"}). The error names the first
  // unknown or unclosed variable and lists the allowed ones.
  static Result<RecordTemplate> Parse(std::string_view text, std::span<const std::string_view> allowed);
  // Reads and validates the template at `key` of a sink's table (r.Fail on error).
  static RecordTemplate Read(TableReader& r, std::string_view key, std::string_view def,
                             std::span<const std::string_view> allowed, std::string_view doc);

  // Rewrites a variable's value where the destination restricts characters
  // (Kafka topic names); literal text was checked when the template was read.
  using ValueFilter = void (*)(std::string& value);

  // The template with one record's fields (`record_json` is parsed only if a
  // field variable is used); {random} becomes `random`.
  std::string Render(std::string_view record_json, std::string_view random = {}, ValueFilter filter = nullptr) const;

  const std::string& text() const { return text_; }
  // No variables: every record renders the same text.
  bool constant() const { return vars_ == 0; }
  bool uses(std::string_view var) const;

 private:
  struct Part {
    bool variable = false;
    std::string text;  // literal text, or the variable's name
  };
  std::string text_;
  std::vector<Part> parts_;
  size_t vars_ = 0;
};

// The variables every record has or may have: source, host, path, topic, random.
inline constexpr std::string_view kRecordTemplateVars[] = {"source", "host", "path", "topic", "random"};

}  // namespace sluice
