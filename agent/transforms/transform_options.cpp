#include "agent/transforms/transform_options.h"

#include "protocols/mqtt/mqtt_topic.h"

namespace sluice {

std::optional<JsonPath> OptionalFieldPath(TableReader& r, std::string_view key, std::string_view doc) {
  std::optional<std::string> text = r.OptionalString(key, doc);
  if (!text) return std::nullopt;
  Result<JsonPath> p = ParseJsonPath(*text);
  if (!p.ok()) r.Fail(key, p.status().message());
  return std::move(p).value();
}

std::vector<JsonPath> FieldPaths(TableReader& r, std::string_view key, const std::vector<std::string>& def,
                                 std::string_view doc, bool refuse_envelope) {
  std::vector<JsonPath> out;
  for (const std::string& f : r.Strings(key, def, doc)) {
    Result<JsonPath> p = ParseJsonPath(f);
    if (!p.ok()) r.Fail(key, p.status().message());
    if (refuse_envelope && p->size() == 1 && (p->front() == "ts" || p->front() == "source" || p->front() == "host")) {
      r.Fail(key, "\"" + f + "\" is part of every record's envelope; a transform cannot change it");
    }
    out.push_back(std::move(p).value());
  }
  return out;
}

std::vector<std::string> TopicFilters(TableReader& r, std::string_view doc) {
  std::vector<std::string> topics = r.Strings("topics", {}, doc);
  for (const std::string& t : topics) {
    if (std::string problem = TopicFilterProblem(t); !problem.empty()) r.Fail("topics", problem + ": \"" + t + "\"");
  }
  return topics;
}

}  // namespace sluice
