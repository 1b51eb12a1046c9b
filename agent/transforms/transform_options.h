// Options several transforms read the same way: field paths, MQTT topic
// filters, and the builder that makes a transform's factory at start.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/transforms/json_doc.h"
#include "agent/transforms/transform.h"
#include "core/config/reader.h"

namespace sluice {

// A dotted field path at `key`, if set; a malformed path fails at the key.
std::optional<JsonPath> OptionalFieldPath(TableReader& r, std::string_view key, std::string_view doc);
// A list of field paths at `key` (`def` when absent). With `refuse_envelope`,
// "ts", "source" and "host", which every record needs, are refused.
std::vector<JsonPath> FieldPaths(TableReader& r, std::string_view key, const std::vector<std::string>& def,
                                 std::string_view doc, bool refuse_envelope);
// MQTT topic filters at "topics" (empty when absent), each checked.
std::vector<std::string> TopicFilters(TableReader& r, std::string_view doc);

// The builder of a transform whose factory is made from its configuration
// (and the context) with nothing to read at start.
template <class Factory, class Config>
TransformBuilder FactoryBuilder(Config config) {
  return [config](const TransformContext& ctx) -> Result<std::unique_ptr<TransformFactory>> {
    return std::unique_ptr<TransformFactory>(std::make_unique<Factory>(config, ctx));
  };
}

}  // namespace sluice
