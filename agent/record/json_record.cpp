#include "agent/record/json_record.h"

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/util/utf8.h"

namespace sluice {
namespace {

constexpr size_t kTimestampLen = 24;  // "2026-11-21T10:00:00.123Z"

inline void Put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

// Writes the timestamp into buf (at least 32 bytes) and returns its length.
// Years outside 0000..9999 cannot be written in RFC 3339 and are clamped.
size_t RenderTimestamp(char* buf, int64_t epoch_ms) {
  using namespace std::chrono;
  constexpr int64_t kMin = -62167219200000;  // 0000-01-01T00:00:00.000Z
  constexpr int64_t kMax = 253402300799999;  // 9999-12-31T23:59:59.999Z
  if (epoch_ms < kMin) epoch_ms = kMin;
  if (epoch_ms > kMax) epoch_ms = kMax;
  const sys_time<milliseconds> tp{milliseconds(epoch_ms)};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{tp - day};
  const auto y = static_cast<unsigned>(static_cast<int>(ymd.year()));
  Put2(buf, y / 100);
  Put2(buf + 2, y % 100);
  buf[4] = '-';
  Put2(buf + 5, static_cast<unsigned>(ymd.month()));
  buf[7] = '-';
  Put2(buf + 8, static_cast<unsigned>(ymd.day()));
  buf[10] = 'T';
  Put2(buf + 11, static_cast<unsigned>(hms.hours().count()));
  buf[13] = ':';
  Put2(buf + 14, static_cast<unsigned>(hms.minutes().count()));
  buf[16] = ':';
  Put2(buf + 17, static_cast<unsigned>(hms.seconds().count()));
  buf[19] = '.';
  const auto ms = static_cast<unsigned>(hms.subseconds().count());
  buf[20] = static_cast<char>('0' + ms / 100);
  Put2(buf + 21, ms % 100);
  buf[23] = 'Z';
  return kTimestampLen;
}

// True for a byte that can begin a JSON text (after leading whitespace):
// a cheap filter so plain text never pays for a JSON parse attempt.
bool MayStartJson(std::string_view s) {
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
  }
  return false;
}

}  // namespace

void AppendJsonOneLine(std::string& out, std::string_view json) {
  // Two memchr passes: find_first_of tests each byte against the set, several times slower.
  if (json.empty() || (std::memchr(json.data(), '\n', json.size()) == nullptr &&
                       std::memchr(json.data(), '\r', json.size()) == nullptr)) {
    out += json;
    return;
  }
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '\n' || c == '\r') {
      c = ' ';
    }
    out += c;
  }
}

void AppendPayloadValue(std::string& out, std::string_view payload) {
  if (!IsValidUtf8(payload)) {
    out += R"({"base64":")";
    AppendBase64(out, payload);
    out += "\"}";
    return;
  }
  if (MayStartJson(payload) && nlohmann::json::accept(payload)) {
    AppendJsonOneLine(out, payload);
    return;
  }
  out += '"';
  AppendJsonEscaped(out, payload);
  out += '"';
}

void JsonRecordEncoder::AppendTimestamp(std::string& out, int64_t ts_ms) {
  if (ts_ms != cached_ms_) {
    char buf[32];
    cached_ts_.assign(buf, RenderTimestamp(buf, ts_ms));  // reuses capacity: no allocation
    cached_ms_ = ts_ms;
  }
  out += R"({"ts":")";
  out += cached_ts_;
  out += '"';
}

void JsonRecordEncoder::AppendMqttMessage(std::string& out, int64_t ts_ms, std::string_view source,
                                          std::string_view host, const MqttRecordFields& m) {
  AppendTimestamp(out, ts_ms);
  out += R"(,"source":)";
  AppendJsonText(out, source);
  out += R"(,"host":)";
  AppendJsonText(out, host);
  out += R"(,"topic":)";
  AppendJsonText(out, m.topic);  // MQTT requires UTF-8 topics; a broker that sends others is still recorded
  out += R"(,"qos":)";
  out += static_cast<char>('0' + m.qos);
  out += m.retain ? R"(,"retain":true)" : R"(,"retain":false)";
  if (!m.content_type.empty()) {
    out += R"(,"content_type":)";
    AppendJsonText(out, m.content_type);
  }
  if (!m.user_properties.empty()) {
    // Pairs, not an object: MQTT 5 allows a name to repeat, and order matters.
    out += R"(,"user_properties":[)";
    bool first = true;
    for (const auto& [k, v] : m.user_properties) {
      if (!first) out += ',';
      first = false;
      out += '[';
      AppendJsonText(out, k);
      out += ',';
      AppendJsonText(out, v);
      out += ']';
    }
    out += ']';
  }
  if (m.parts > 0) {
    out += R"(,"part":)";
    out += std::to_string(m.part);
    out += R"(,"parts":)";
    out += std::to_string(m.parts);
    out += R"(,"message_bytes":)";
    out += std::to_string(m.message_bytes);
    out += R"(,"message_id":)";
    AppendJsonText(out, m.message_id);
    out += R"(,"payload":{"base64":")";
    AppendBase64(out, m.payload);
    out += "\"}}\n";
    return;
  }
  out += R"(,"payload":)";
  AppendPayloadValue(out, m.payload);
  out += "}\n";
}

std::string FormatTimestampMs(int64_t epoch_ms) {
  char buf[32];
  return std::string(buf, RenderTimestamp(buf, epoch_ms));
}

void JsonRecordEncoder::AppendLogLine(std::string& out, int64_t ts_ms, std::string_view source, std::string_view host,
                                      std::string_view path, std::string_view line) {
  const std::string_view key(prefix_key_);
  const bool same_prefix =
      key.size() == source.size() + host.size() + path.size() + 2 && key.substr(0, source.size()) == source &&
      key[source.size()] == '\0' && key.substr(source.size() + 1, host.size()) == host &&
      key[source.size() + 1 + host.size()] == '\0' && key.substr(source.size() + host.size() + 2) == path;
  if (!same_prefix) {
    prefix_key_.assign(source);
    prefix_key_ += '\0';
    prefix_key_ += host;
    prefix_key_ += '\0';
    prefix_key_ += path;
    prefix_.assign(R"(,"source":)");
    AppendJsonText(prefix_, source);
    prefix_ += R"(,"host":)";
    AppendJsonText(prefix_, host);
    prefix_ += R"(,"path":)";
    AppendJsonText(prefix_, path);
    prefix_ += R"(,"msg":)";
  }
  AppendTimestamp(out, ts_ms);
  out += prefix_;
  AppendJsonText(out, line);
  out += "}\n";
}

void AppendJsonText(std::string& out, std::string_view v) {
  if (IsValidUtf8(v)) {
    out += '"';
    AppendJsonEscaped(out, v);
    out += '"';
  } else {
    out += R"({"base64":")";
    AppendBase64(out, v);
    out += "\"}";
  }
}

}  // namespace sluice
