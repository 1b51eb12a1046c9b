// redact: removes or masks named fields (`fields`, mode = "remove" | "mask")
// and masks matches of `patterns` (built-in "email", "ipv4", "ipv6", "card"
// with a Luhn check, or a regex) in every string under `in` (default: msg,
// payload and fields: the message, the MQTT payload and parsed fields).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/transforms/json_doc.h"
#include "agent/transforms/transform.h"
#include "core/config/reader.h"

namespace sluice {

struct RedactConfig {
  std::vector<JsonPath> fields;
  bool remove = true;  // mode: remove the field, or replace its value with `mask`
  std::string mask = "[REDACTED]";
  std::vector<std::string> patterns;
  std::optional<std::string> pattern_mask;  // unset: "[REDACTED:<pattern>]"
  std::vector<JsonPath> in;
};

RedactConfig ParseRedactConfig(TableReader& r);
TransformBuilder MakeRedactTransform(RedactConfig config);

}  // namespace sluice
