#include "agent/sinks/http/http_body.h"

#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace sluice {

std::string EpochSecondsOf(std::string_view ts) {
  // Exactly YYYY-MM-DDTHH:MM:SS.mmmZ, as the encoder writes it.
  if (ts.size() != 24 || ts[4] != '-' || ts[7] != '-' || ts[10] != 'T' || ts[13] != ':' || ts[16] != ':' ||
      ts[19] != '.' || ts[23] != 'Z') {
    return "";
  }
  auto num = [&](size_t pos, size_t len, int& out) {
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (ts[i] < '0' || ts[i] > '9') return false;
      out = out * 10 + (ts[i] - '0');
    }
    return true;
  };
  std::tm tm{};
  int year = 0, month = 0, ms = 0;
  if (!num(0, 4, year) || !num(5, 2, month) || !num(8, 2, tm.tm_mday) || !num(11, 2, tm.tm_hour) ||
      !num(14, 2, tm.tm_min) || !num(17, 2, tm.tm_sec) || !num(20, 3, ms)) {
    return "";
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  return fmt::format("{}.{:03}", static_cast<int64_t>(timegm(&tm)), ms);
}

HttpBodyFormat::HttpBodyFormat(const HttpSinkConfig& config)
    : format_(config.format), encoding_(config.encoding), document_ids_(config.document_ids) {
  switch (format_) {
    case HttpFormat::kNdjson:
      content_type_ = "application/x-ndjson";
      break;
    case HttpFormat::kJsonArray:
      content_type_ = "application/json";
      open_ = "[";
      separator_ = ",";
      close_ = "]";
      break;
    case HttpFormat::kElasticsearch: {
      content_type_ = "application/x-ndjson";
      nlohmann::json meta = nlohmann::json::object();
      if (!config.index.empty()) meta["_index"] = config.index;
      action_ = "{\"" + config.bulk_action + "\":" + meta.dump();
      action_.pop_back();  // the closing brace: _id may follow
      break;
    }
    case HttpFormat::kSplunkHec:
      content_type_ = "application/json";
      if (!config.index.empty()) splunk_fields_ += ",\"index\":" + nlohmann::json(config.index).dump();
      if (!config.sourcetype.empty()) {
        splunk_fields_ += ",\"sourcetype\":" + nlohmann::json(config.sourcetype).dump();
      }
      break;
  }
}

Result<std::string> HttpBodyFormat::Encode(std::string_view json_line, const BatchInfo& batch, size_t index) const {
  switch (format_) {
    case HttpFormat::kNdjson: {
      Result<std::string> r = EncodeRecord(json_line, encoding_);
      if (r.ok()) r.value() += '\n';
      return r;
    }
    case HttpFormat::kJsonArray:
      return std::string(json_line);
    case HttpFormat::kElasticsearch: {
      std::string out = action_;
      if (action_.back() != '{') out += ',';
      if (document_ids_) out += fmt::format("\"_id\":\"{}-{}\"", batch.id, index);
      if (out.back() == ',') out.pop_back();
      out += "}}\n";
      out.append(json_line);
      out += '\n';
      return out;
    }
    case HttpFormat::kSplunkHec:
      return SplunkEvent(json_line);
  }
  return Status::Internal("unknown HTTP format");
}

Result<std::string> HttpBodyFormat::SplunkEvent(std::string_view json_line) const {
  const nlohmann::json record = nlohmann::json::parse(json_line, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) return Status::Corrupt("record is not a JSON object");
  std::string out = "{\"event\":";
  if (encoding_ == RecordEncoding::kRaw) {
    Result<std::string> raw = EncodeRecord(json_line, encoding_);
    if (!raw.ok()) return raw.status();
    try {
      out += nlohmann::json(raw.value()).dump();
    } catch (const nlohmann::json::exception&) {
      return Status::Corrupt("raw record is not UTF-8, which a Splunk event string cannot carry");
    }
  } else {
    out.append(json_line);
  }
  auto ts = record.find("ts");
  if (ts != record.end() && ts->is_string()) {
    if (const std::string t = EpochSecondsOf(ts->get_ref<const std::string&>()); !t.empty()) out += ",\"time\":" + t;
  }
  for (const char* field : {"host", "source"}) {
    auto it = record.find(field);
    if (it != record.end() && it->is_string()) out += fmt::format(",\"{}\":{}", field, it->dump());
  }
  out += splunk_fields_;
  out += "}\n";
  return out;
}

size_t HttpBodyFormat::Overhead(size_t pieces) const {
  return open_.size() + close_.size() + (pieces > 0 ? (pieces - 1) * separator_.size() : 0);
}

std::string HttpBodyFormat::Assemble(std::span<const std::string> pieces) const {
  size_t size = Overhead(pieces.size());
  for (const std::string& p : pieces) size += p.size();
  std::string body;
  body.reserve(size);
  body += open_;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) body += separator_;
    body += pieces[i];
  }
  body += close_;
  return body;
}

}  // namespace sluice
