#include "agent/sinks/record_template.h"

#include <nlohmann/json.hpp>

#include "core/util/utf8.h"

namespace sluice {

RecordEncoding ParseRecordEncoding(TableReader& r) {
  const std::string e = r.Enum("encoding", "json", {"json", "raw"},
                               "json: the record envelope as one JSON line; raw: the bytes as read (a log line, an "
                               "MQTT payload)");
  return e == "raw" ? RecordEncoding::kRaw : RecordEncoding::kJson;
}

namespace {

// {"base64":"..."} is how the envelope carries bytes that are not UTF-8.
bool DecodeCarried(const nlohmann::json& v, std::string& out) {
  if (v.is_string()) {
    out = v.get<std::string>();
    return true;
  }
  if (v.is_object() && v.size() == 1) {
    auto it = v.find("base64");
    if (it != v.end() && it->is_string()) return DecodeBase64(it->get_ref<const std::string&>(), out);
  }
  return false;
}

}  // namespace

Result<std::string> EncodeRecord(std::string_view json_line, RecordEncoding encoding) {
  if (encoding == RecordEncoding::kJson) return std::string(json_line);
  // Fast path for the envelope of a log line, which ends with "msg":"<text>"}:
  // a text without escapes is the line exactly as read. The key cannot
  // appear unescaped inside an earlier value, so the last match is the key.
  constexpr std::string_view kMsgKey = ",\"msg\":\"";
  if (const size_t at = json_line.rfind(kMsgKey); at != std::string_view::npos && json_line.ends_with("\"}")) {
    const size_t begin = at + kMsgKey.size();
    if (json_line.size() >= begin + 2) {
      const std::string_view text = json_line.substr(begin, json_line.size() - 2 - begin);
      if (text.find_first_of("\\\"") == std::string_view::npos) return std::string(text);
    }
  }
  const nlohmann::json record = nlohmann::json::parse(json_line, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) return Status::Corrupt("record is not a JSON object");
  std::string out;
  if (auto msg = record.find("msg"); msg != record.end()) {
    if (!DecodeCarried(*msg, out)) return Status::Corrupt("record's msg is neither a string nor {\"base64\":...}");
    return out;
  }
  if (auto payload = record.find("payload"); payload != record.end()) {
    // A JSON payload is stored as its value; a text payload as a string; bytes as {"base64":...}.
    if (payload->is_object() && payload->size() == 1 && payload->contains("base64")) {
      if (!DecodeCarried(*payload, out)) return Status::Corrupt("record's payload has bad base64");
      return out;
    }
    if (payload->is_string()) return payload->get<std::string>();
    // The JSON value as it was stored (tokens kept, line breaks were spaces).
    return payload->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return Status::Corrupt("record has neither msg nor payload to send raw");
}

Result<RecordTemplate> RecordTemplate::Parse(std::string_view text, std::span<const std::string_view> allowed) {
  auto list = [&] {
    std::string s;
    for (auto a : allowed) s += (s.empty() ? "{" : " {") + std::string(a) + "}";
    return s;
  };
  RecordTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '{') {
      literal += text[i++];
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("\"" + t.text_ + "\": '{' at " + std::to_string(i) + " is not closed; use " +
                                     list());
    }
    const std::string_view var = text.substr(i + 1, close - i - 1);
    bool known = false;
    for (auto a : allowed) known = known || a == var;
    if (!known) {
      return Status::InvalidArgument("\"" + t.text_ + "\": unknown variable {" + std::string(var) + "}; use " + list());
    }
    if (!literal.empty()) t.parts_.push_back({false, std::move(literal)});
    literal.clear();
    t.parts_.push_back({true, std::string(var)});
    ++t.vars_;
    i = close + 1;
  }
  if (!literal.empty()) t.parts_.push_back({false, std::move(literal)});
  return t;
}

RecordTemplate RecordTemplate::Read(TableReader& r, std::string_view key, std::string_view def,
                                    std::span<const std::string_view> allowed, std::string_view doc) {
  const std::string text = r.String(key, def, doc);
  auto t = Parse(text, allowed);
  if (!t.ok()) r.Fail(key, t.status().message());
  return std::move(t).value();
}

bool RecordTemplate::uses(std::string_view var) const {
  for (const Part& p : parts_) {
    if (p.variable && p.text == var) return true;
  }
  return false;
}

std::string RecordTemplate::Render(std::string_view record_json, std::string_view random, ValueFilter filter) const {
  std::string out;
  nlohmann::json fields;
  bool parsed = false;
  for (const Part& p : parts_) {
    if (!p.variable) {
      out += p.text;
      continue;
    }
    if (p.text == "random") {
      out += random;
      continue;
    }
    if (!parsed) {
      fields = nlohmann::json::parse(record_json, nullptr, /*allow_exceptions=*/false);
      parsed = true;
    }
    if (!fields.is_object()) continue;
    auto it = fields.find(p.text);
    if (it == fields.end()) continue;
    std::string value;
    if (!DecodeCarried(*it, value)) continue;
    if (filter != nullptr) filter(value);
    out += value;
  }
  return out;
}

}  // namespace sluice
