// Encodes records as the JSON Lines of DESIGN.md's record format:
//   {"ts":"2026-11-21T10:00:00.123Z","source":"app","host":"edge-7","path":"/var/log/app.log","msg":"..."}
// `msg` is a JSON string when the line is valid UTF-8, else {"base64":"..."}
// (source, host and path follow the same rule: a file name may be any bytes).
// The encoder caches the rendered timestamp (per millisecond) and the constant
// prefix per (source, host, path), because encoding is on the hot path of
// every tailed line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

// Renders epoch milliseconds as RFC 3339 UTC with milliseconds: "2026-11-21T10:00:00.123Z".
// Times outside years 0000..9999 (not representable in RFC 3339) are clamped.
std::string FormatTimestampMs(int64_t epoch_ms);

class JsonRecordEncoder {
 public:
  // Appends one log-line record and a trailing '\n' to `out`. `line` excludes its newline.
  void AppendLogLine(std::string& out, int64_t ts_ms, std::string_view source, std::string_view host,
                     std::string_view path, std::string_view line);

 private:
  int64_t cached_ms_ = -1;
  std::string cached_ts_;
  std::string prefix_key_;  // source \0 host \0 path of the cached prefix
  std::string prefix_;      // `,"source":"...","host":"...","path":"...","msg":`
};

}  // namespace sluice
