#include "agent/sinks/http/bulk_response.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace sluice {

Result<std::vector<BulkItem>> ParseBulkResponse(std::string_view body, size_t actions) {
  // Elasticsearch and OpenSearch write "errors" before "items": when it says
  // false, the (large) item list need not be parsed at all.
  const size_t items_at = body.find("\"items\"");
  const std::string_view head = body.substr(0, items_at);
  if (items_at != std::string_view::npos && head.find("\"errors\":false") != std::string_view::npos) {
    return std::vector<BulkItem>{};
  }
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto truncated = [&] { return std::string(body.substr(0, 200)); };
  if (!doc.is_object() || !doc.contains("errors") || !doc.contains("items") || !doc["items"].is_array()) {
    return Status::Io("not a _bulk answer: " + truncated());
  }
  if (doc["errors"] == false) return std::vector<BulkItem>{};
  const nlohmann::json& items = doc["items"];
  if (items.size() != actions) {
    return Status::Io(fmt::format("the _bulk answer has {} items for {} actions", items.size(), actions));
  }
  std::vector<BulkItem> out;
  out.reserve(actions);
  for (const nlohmann::json& item : items) {
    // {"create": {"status": 201, ...}}: one member, named after the action.
    if (!item.is_object() || item.size() != 1 || !item.begin()->is_object()) {
      return Status::Io("a _bulk answer item is not {\"<action>\":{...}}: " + truncated());
    }
    const nlohmann::json& result = *item.begin();
    BulkItem b;
    b.status = result.value("status", 0);
    if (b.status == 0) return Status::Io("a _bulk answer item has no status: " + truncated());
    if (auto e = result.find("error"); e != result.end()) {
      if (e->is_object()) {
        b.error = e->value("type", "") + ": " + e->value("reason", "");
      } else {
        b.error = e->dump();
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace sluice
