#include "agent/transforms/parse/regex_line_parser.h"

#include <algorithm>

#include "agent/transforms/parse/json_object_appender.h"

namespace sluice {

Result<RegexLineParser> RegexLineParser::Create(std::string_view pattern) {
  Result<PcreRegex> re = PcreRegex::Compile(pattern);
  if (!re.ok()) return re.status();
  std::vector<Field> fields;
  for (const PcreNamedGroup& g : re->named_groups()) {
    auto same = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == g.name; });
    if (same != fields.end()) {
      same->groups.push_back(g.index);
    } else {
      fields.push_back(Field{g.name, {g.index}});
    }
  }
  if (fields.empty()) {
    return Status::InvalidArgument("the regular expression has no named group such as (?<name>...): no field to fill");
  }
  return RegexLineParser(std::move(re).value(), std::move(fields));
}

bool RegexLineParser::Parse(std::string_view line, std::string& out) {
  const PcreSubject subject(line);
  if (!subject.valid_utf8() || !re_.Find(subject)) return false;
  JsonObjectAppender obj(out);
  for (const Field& f : fields_) {
    for (size_t g : f.groups) {
      if (std::optional<PcreSpan> s = re_.Group(g)) {
        obj.Key(f.name);
        obj.String(line.substr(s->begin, s->size()));
        break;
      }
    }
  }
  obj.Commit();
  return true;
}

std::vector<std::string> RegexLineParser::fields() const {
  std::vector<std::string> names;
  names.reserve(fields_.size());
  for (const Field& f : fields_) names.push_back(f.name);
  return names;
}

}  // namespace sluice
