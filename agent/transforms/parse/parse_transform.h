// parse: turns a record's text (a log line's msg, or an MQTT payload that is
// text) into fields: `format = "json" | "logfmt" | "regex" | "csv"`. The
// fields become one object at `target` (default "fields"); the text is
// removed unless keep_original. A text that fails to parse is kept as it was
// and counted (sluice_transform_parse_failures_total), never dropped.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/transforms/json_doc.h"
#include "agent/transforms/transform.h"
#include "core/config/reader.h"

namespace sluice {

// Parses one text into a JSON object's text, appended to `out`; returns false
// leaving `out` as it was. One per thread (parsers keep scratch state).
class TextParser {
 public:
  virtual ~TextParser() = default;
  virtual bool Parse(std::string_view text, std::string& out) = 0;
};

struct ParseConfig {
  std::string format = "json";
  std::optional<JsonPath> field;  // unset: "msg", else a string "payload"
  std::string target = "fields";
  bool keep_original = false;
  // regex
  std::string pattern;
  // csv
  std::vector<std::string> columns;
  std::string delimiter = ",";
};

ParseConfig ParseParseConfig(TableReader& r);
TransformBuilder MakeParseTransform(ParseConfig config);

}  // namespace sluice
