#include "agent/transforms/parse/logfmt_parser.h"

#include <unordered_set>
#include <vector>

#include "agent/transforms/parse/json_object_appender.h"
#include "agent/transforms/parse/line_text.h"
#include "core/util/utf8.h"

namespace sluice {

namespace {

bool IsLogfmtSpace(char c) { return c == ' ' || c == '\t'; }

// What a backslash followed by `c` stands for in a quoted value, or nullptr
// when the backslash is kept as it is.
const char* LogfmtUnescape(char c) {
  switch (c) {
    case '"':
      return "\"";
    case '\\':
      return "\\";
    case 'n':
      return "\n";
    case 't':
      return "\t";
    case 'r':
      return "\r";
    default:
      return nullptr;
  }
}

bool HasDuplicateLogfmtKey(const std::vector<std::string_view>& keys) {
  // Most lines have a handful of keys: comparing pairs beats hashing them.
  if (keys.size() <= 16) {
    for (size_t i = 0; i < keys.size(); ++i) {
      for (size_t j = i + 1; j < keys.size(); ++j) {
        if (keys[i] == keys[j]) return true;
      }
    }
    return false;
  }
  std::unordered_set<std::string_view> seen;
  seen.reserve(keys.size());
  for (std::string_view k : keys) {
    if (!seen.insert(k).second) return true;
  }
  return false;
}

}  // namespace

bool LogfmtParser::Parse(std::string_view line, std::string& out) const {
  line = WithoutTrailingCr(line);
  if (!IsValidUtf8(line)) return false;
  JsonObjectAppender obj(out);
  std::vector<std::string_view> keys;
  const size_t n = line.size();
  size_t i = 0;
  for (;;) {
    while (i < n && IsLogfmtSpace(line[i])) ++i;
    if (i == n) break;
    const size_t key_begin = i;
    while (i < n && !IsLogfmtSpace(line[i]) && line[i] != '=' && line[i] != '"') ++i;
    if (i == key_begin) return false;  // `=value`, or a quote where a key should start
    const std::string_view key = line.substr(key_begin, i - key_begin);
    keys.push_back(key);
    obj.Key(key);
    if (i == n || IsLogfmtSpace(line[i])) {
      obj.True();
      continue;
    }
    if (line[i] == '"') return false;  // `key"...`
    ++i;                               // '='
    if (i < n && line[i] == '"') {
      ++i;
      obj.OpenString();
      size_t part = i;  // the start of the text not yet written
      for (;;) {
        i = line.find_first_of("\"\\", i);
        if (i == std::string_view::npos || (line[i] == '\\' && i + 1 == n)) return false;  // unterminated
        if (line[i] == '"') break;
        if (const char* plain = LogfmtUnescape(line[i + 1])) {
          obj.StringPart(line.substr(part, i - part));
          obj.StringPart(plain);
          i += 2;
          part = i;
        } else {
          ++i;  // the backslash stays; the byte after it is read as usual
        }
      }
      obj.StringPart(line.substr(part, i - part));
      obj.CloseString();
      ++i;
      if (i < n && !IsLogfmtSpace(line[i])) return false;  // `a="x"y`
    } else {
      const size_t value_begin = i;
      while (i < n && !IsLogfmtSpace(line[i])) {
        if (line[i] == '"') return false;  // `a=x"y`
        ++i;
      }
      obj.String(line.substr(value_begin, i - value_begin));
    }
  }
  if (keys.empty() || HasDuplicateLogfmtKey(keys)) return false;
  obj.Commit();
  return true;
}

}  // namespace sluice
