// Encodes records as the JSON Lines of DESIGN.md's record format:
//   {"ts":"2026-11-21T10:00:00.123Z","source":"app","host":"edge-7","path":"/var/log/app.log","msg":"..."}
//   {"ts":"...","source":"sensors","host":"edge-7","topic":"plant/3/temp","qos":1,"retain":false,"payload":{"c":21.5}}
// `msg` is a JSON string when the line is valid UTF-8, else {"base64":"..."}
// (source, host and path follow the same rule: a file name may be any bytes).
// An MQTT `payload` is the JSON value when the payload is valid JSON (line
// breaks between its tokens become spaces, so the record stays one line), a
// string when it is other UTF-8 text, else {"base64":"..."}.
// The encoder caches the rendered timestamp (per millisecond) and the constant
// prefix per (source, host, path), because encoding is on the hot path of
// every tailed line.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace sluice {

// Renders epoch milliseconds as RFC 3339 UTC with milliseconds: "2026-11-21T10:00:00.123Z".
// Times outside years 0000..9999 (not representable in RFC 3339) are clamped.
std::string FormatTimestampMs(int64_t epoch_ms);

// One MQTT message as a record. Properties are MQTT 5's (empty under 3.1.1).
struct MqttRecordFields {
  std::string_view topic;
  std::string_view payload;
  int qos = 0;
  bool retain = false;
  std::string_view content_type;  // empty: not set
  std::span<const std::pair<std::string, std::string>> user_properties;
  // oversize = "split": this record is part `part` (1-based) of `parts`, whose
  // payload is always base64 (a part may end inside a UTF-8 sequence);
  // `message_id` ties the parts together and `message_bytes` is the whole size.
  uint32_t part = 0;
  uint32_t parts = 0;
  uint64_t message_bytes = 0;
  std::string_view message_id;
};

// Appends a metadata value (source, host, path, topic) as a JSON string, or
// {"base64":"..."} when it is not valid UTF-8 (a file name may be any bytes).
void AppendJsonText(std::string& out, std::string_view v);

// Appends valid JSON text with the line breaks between its tokens turned into
// spaces (inside strings they are always escaped, or the text is not JSON), so
// a pretty-printed value stays one JSON Lines record, otherwise byte for byte.
void AppendJsonOneLine(std::string& out, std::string_view json);

// Appends `payload` as a JSON value by the rule above (no trailing newline).
void AppendPayloadValue(std::string& out, std::string_view payload);

class JsonRecordEncoder {
 public:
  // Appends one MQTT record and a trailing '\n' to `out`.
  void AppendMqttMessage(std::string& out, int64_t ts_ms, std::string_view source, std::string_view host,
                         const MqttRecordFields& m);
  // Appends one log-line record and a trailing '\n' to `out`. `line` excludes its newline.
  void AppendLogLine(std::string& out, int64_t ts_ms, std::string_view source, std::string_view host,
                     std::string_view path, std::string_view line);

 private:
  void AppendTimestamp(std::string& out, int64_t ts_ms);

  int64_t cached_ms_ = -1;
  std::string cached_ts_;
  std::string prefix_key_;  // source \0 host \0 path of the cached prefix
  std::string prefix_;      // `,"source":"...","host":"...","path":"...","msg":`
};

}  // namespace sluice
