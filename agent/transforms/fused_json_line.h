// The worker's fast path for the commonest chain on a tailed log line: parse
// (json) of the line into a top-level key, then tokenize of members of that
// object, stored. The record is written straight from the line's index: the
// envelope's members, then the line with the tokens spliced in, byte for byte
// what JsonDoc writes for the same chain (a unit test compares the two on
// many lines, StreamWriter's general path against this one).
//
// Why: through JsonDoc such a record costs six edits (ts, msg set and
// removed, the parsed line, two tokens), their paths walked each time, the
// line copied twice and the document walked again to write it; written from
// the index it does none of that (bench/README, transforms).
//
// Invariants:
//  - Write declines (false, `out` untouched) every line it is not sure of:
//    not a JSON object, line breaks in it, a tokenized member that is an
//    object or an array, or a token that could not be made. The general
//    path then takes the record, and counts what it counts.
//  - Tokens are made in the order of the tokenize transform's fields, each
//    of the value of the first member with its key (as Find reads it); every
//    member with that key gets it (as JsonDoc's edits apply to duplicates).
// Not thread-safe: one per worker.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/transforms/json_index.h"
#include "agent/transforms/transform.h"

namespace sluice {

class FusedJsonLine {
 public:
  // At most this many tokenized fields (their scratch is on the stack).
  static constexpr size_t kMaxFields = 8;
  // An index of more nodes than this is given back before the next line (as JsonParsers does).
  static constexpr size_t kMaxKeptNodes = 1 << 16;

  // The chain's shape, checked: `target` is parse's key, `tokens` the
  // tokenize transform's. False when the fields are not members of `target`
  // (one level below it), repeat a key, or are more than kMaxFields.
  static bool Fits(const std::string& target, FieldTokens& tokens);

  FusedJsonLine(const std::string& target, FieldTokens& tokens);
  FusedJsonLine(const FusedJsonLine&) = delete;
  FusedJsonLine& operator=(const FusedJsonLine&) = delete;

  // Appends the record of `line` (no line end): `{"ts":` + `ts_json` +
  // `envelope_rest` (the envelope's members after ts, before msg, each with its
  // leading comma) + the target's member + `}`. False when the general path
  // must take the line.
  bool Write(std::string_view ts_json, std::string_view envelope_rest, std::string_view line, std::string& out);

 private:
  FieldTokens& tokens_;
  std::string member_;            // `,"target":`
  std::vector<std::string> keys_;  // the tokenized members' keys, in the fields' order
  std::vector<std::string> made_;  // scratch: each field's token JSON
  JsonIndexer indexer_;
  std::string padded_;  // the line, with the padding simdjson reads past its end
  std::vector<JsonNode> nodes_;
};

}  // namespace sluice
