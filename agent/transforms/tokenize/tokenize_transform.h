// tokenize: replaces named fields with keyed tokens (HmacTokenizer): a
// string's UTF-8 bytes, a number's or bool's JSON text, an object's or
// array's compact JSON; null stays null. The key comes from `key_file` (its
// first line, at least 16 bytes), read at start. A record whose token cannot
// be computed is dropped and counted rather than shipped with the value.
// Each worker remembers the tokens of recent values per field (`cache`),
// which changes how fast a token comes, never what it is.
#pragma once

#include <string>
#include <vector>

#include "agent/transforms/json_doc.h"
#include "agent/transforms/transform.h"
#include "core/config/reader.h"

namespace sluice {

struct TokenizeConfig {
  std::vector<JsonPath> fields;
  std::string key_file;
  std::string prefix;
  // Values per field and worker whose tokens are remembered (TokenCache).
  size_t cache = 8192;
};

TokenizeConfig ParseTokenizeConfig(TableReader& r);
TransformBuilder MakeTokenizeTransform(TokenizeConfig config);

}  // namespace sluice
