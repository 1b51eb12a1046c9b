// schema: watches the shape of records' JSON (the MQTT payload or parsed
// fields: every field's path and type; arrays are leaves) per source, and
// per MQTT topic filter when `topics` lists some. Each record is compared
// with the last shape seen for its key: a new field, a vanished field or a
// type change increments sluice_transform_schema_changes_total{change} and
// writes one event record to _events with all the differences. Records pass
// through unchanged.
//
// The shapes are saved with the source's checkpoint, in the same commit as
// the record that changed them, so a restart neither forgets a shape nor
// reports a change twice. The first record of a key sets its shape quietly.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/transforms/json_doc.h"
#include "agent/transforms/transform.h"
#include "core/config/reader.h"

namespace sluice {

struct SchemaConfig {
  std::optional<JsonPath> field;  // unset: "payload", else "fields"
  std::vector<std::string> topics;
};

SchemaConfig ParseSchemaConfig(TableReader& r);
TransformBuilder MakeSchemaTransform(SchemaConfig config);

}  // namespace sluice
