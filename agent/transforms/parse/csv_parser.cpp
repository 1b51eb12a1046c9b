#include "agent/transforms/parse/csv_parser.h"

#include <unordered_set>

#include "agent/transforms/parse/json_object_appender.h"
#include "agent/transforms/parse/line_text.h"
#include "core/util/utf8.h"

namespace sluice {

namespace {

std::string CsvQuoted(std::string_view s) {
  std::string out = "\"";
  AppendJsonEscaped(out, s);
  out += '"';
  return out;
}

}  // namespace

Result<CsvParser> CsvParser::Create(CsvOptions options) {
  if (options.columns.empty()) return Status::InvalidArgument("columns: at least one column name is required");
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < options.columns.size(); ++i) {
    const std::string& name = options.columns[i];
    if (name.empty()) return Status::InvalidArgument("columns: column " + std::to_string(i + 1) + " has an empty name");
    if (!IsValidUtf8(name)) {
      return Status::InvalidArgument("columns: column " + std::to_string(i + 1) + " is not valid UTF-8");
    }
    if (!seen.insert(name).second) {
      return Status::InvalidArgument("columns: " + CsvQuoted(name) + " appears more than once");
    }
  }
  const std::string& d = options.delimiter;
  if (d.size() != 1) {
    return Status::InvalidArgument("delimiter: must be one byte, not " + std::to_string(d.size()) + " (" +
                                   (IsValidUtf8(d) ? CsvQuoted(d) : "not UTF-8") + ")");
  }
  const auto byte = static_cast<unsigned char>(d[0]);
  if (byte == '"') return Status::InvalidArgument("delimiter: cannot be '\"', which quotes fields");
  if (byte == '\n' || byte == '\r') return Status::InvalidArgument("delimiter: cannot be a line break");
  // A byte >= 0x80 is part of a multibyte character: splitting there would cut characters.
  if (byte >= 0x80) return Status::InvalidArgument("delimiter: must be an ASCII character");
  return CsvParser(std::move(options.columns), d[0]);
}

bool CsvParser::Parse(std::string_view line, std::string& out) const {
  line = WithoutTrailingCr(line);
  if (!IsValidUtf8(line)) return false;
  JsonObjectAppender obj(out);
  const size_t n = line.size();
  size_t i = 0;
  size_t column = 0;
  for (;;) {
    if (column == columns_.size()) return false;  // more fields than columns
    obj.Key(columns_[column++]);
    obj.OpenString();
    if (i < n && line[i] == '"') {
      ++i;
      size_t part = i;  // the start of the text not yet written
      for (;;) {
        const size_t q = line.find('"', i);
        if (q == std::string_view::npos) return false;  // unterminated
        if (q + 1 < n && line[q + 1] == '"') {
          obj.StringPart(line.substr(part, q + 1 - part));  // up to and with one of the two quotes
          i = q + 2;
          part = i;
          continue;
        }
        obj.StringPart(line.substr(part, q - part));
        i = q + 1;
        break;
      }
      if (i < n && line[i] != delimiter_) return false;  // `"a"b`
    } else {
      const size_t begin = i;
      while (i < n && line[i] != delimiter_) {
        if (line[i] == '"') return false;  // `a"b`
        ++i;
      }
      obj.StringPart(line.substr(begin, i - begin));
    }
    obj.CloseString();
    if (i == n) break;
    ++i;  // the delimiter: another field follows, perhaps empty
  }
  if (column != columns_.size()) return false;  // fewer fields than columns
  obj.Commit();
  return true;
}

}  // namespace sluice
