#include "agent/transforms/transform.h"

namespace sluice {

std::string RecordOrigin(const TransformRecord& record) {
  static const JsonPath kTopic{"topic"};
  static const JsonPath kPath{"path"};
  if (std::optional<JsonValue> v = record.doc.Find(kTopic); v && v->type == JsonType::kString)
    return std::string(v->text);
  if (std::optional<JsonValue> v = record.doc.Find(kPath); v && v->type == JsonType::kString)
    return std::string(v->text);
  return {};
}

}  // namespace sluice
