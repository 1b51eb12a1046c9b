// A record under edit by the transforms: its JSON line parsed once into a
// read-only index (json_index.h: each value and where it is in the text) plus
// edits (set or remove the value at a path) that are applied when the record
// is written out.
//
// Why not a mutable tree (nlohmann::json): a transform changes one or two
// fields of many, and a read-only index is several times faster to build and
// to walk; records pass through the transforms at the rate a log is read.
//
// The edits form a tree of the paths they were made at (the pool's edit
// nodes: one per path component an edit's path passes through or ends at),
// walked alongside the index: finding, editing and writing a record touch
// only the components on their way, not a list of every edit.
//
// Invariants:
//  - The index, the edits and the text of the values Find returns live in the
//    JsonParsers pool given to Parse and are valid until that pool is Reset
//    (the pipeline does so once per record). ParseKept's indexes outlive
//    Reset (the pool keeps the last few), the edits made on them do not.
//  - Write copies what no edit touches from the parsed text as it was written
//    (only line breaks between tokens become spaces), splicing the edited
//    values in; Find reports a number, bool or null as written too.
//  - A value set by an edit is raw JSON text, valid by construction (the
//    callers build it with AppendJsonEscaped or take it from a parsed value).
//    When a later edit or Find reaches inside it, it is parsed lazily with
//    another parser of the same pool.
//  - An edit at a path replaces earlier edits at that path and below it.
//    Members that edits add are written after the others, in the order the
//    edits were made. An edit at a key applies to every member with that key
//    (an object may repeat a key, and JSON readers disagree on which counts:
//    a tokenized or redacted value must not survive in another); Find and
//    the edits below it read the first.
//  - A copy of a document has its own edits (its own edit nodes; the edits'
//    values, which never change, are shared).
// Not thread-safe; a JsonDoc and its pool belong to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/transforms/json_index.h"
#include "core/status.h"

namespace sluice {

std::string_view JsonTypeName(JsonType type);

// The text without JSON whitespace at either end, as Parse and SetParsed take it.
std::string_view TrimJson(std::string_view text);
// True when `text` holds '\n' or '\r' (which Write turns into spaces between tokens).
bool HasLineBreaks(std::string_view text);

// A field's path: object keys from the record's root ({"fields", "user"});
// inside an array a component is the element's index in decimal.
using JsonPath = std::vector<std::string>;
// "fields.user.email" -> {"fields", "user", "email"}. Empty components are an error.
Result<JsonPath> ParseJsonPath(std::string_view dotted);
std::string JsonPathString(const JsonPath& path);

// One thread's parsers. A parser keeps its buffers between documents, so
// after the first records no parse allocates.
class JsonParsers {
 public:
  JsonParsers();
  ~JsonParsers();
  JsonParsers(const JsonParsers&) = delete;
  JsonParsers& operator=(const JsonParsers&) = delete;
  // Every document parsed before is invalid after this.
  void Reset();

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A value as Find sees it. Its text lives in the document's pool: valid
// until the pool's Reset (copy it to keep it longer).
struct JsonValue {
  JsonType type = JsonType::kNull;
  // A string's unescaped UTF-8 bytes; a number's, a bool's or null's JSON
  // text as written; for arrays and objects, their JSON text (built on demand).
  std::string_view text;
};

class JsonDoc {
 public:
  // Parses one JSON value (any type). The error is simdjson's reason.
  static Result<JsonDoc> Parse(JsonParsers& parsers, std::string_view text);
  // Like Parse, for a text that recurs (a log file's record envelope, whose
  // values the caller then sets): its parse is kept in the pool across Reset,
  // for the last few such texts, and found again by the text.
  static Result<JsonDoc> ParseKept(JsonParsers& parsers, std::string_view text);

  // The value at `path` with the edits applied; nullopt when there is none.
  std::optional<JsonValue> Find(const JsonPath& path) const;
  bool Has(const JsonPath& path) const;
  // The type at `path` without rendering it (Find renders containers).
  std::optional<JsonType> TypeAt(const JsonPath& path) const;
  // Sets the value at `path` to `raw_json`. The parent must be an object (or,
  // for an index, an array holding it); returns false, changing nothing, when it is not.
  bool Set(const JsonPath& path, std::string_view raw_json);
  // Sets the value at `path` to the string `text` (its unescaped UTF-8
  // bytes). Find gives it back as it is; it is escaped only where it is
  // written, so a string that a later edit removes costs a copy.
  bool SetString(const JsonPath& path, std::string_view text);
  // Sets the value at `path` to the JSON `text`, parsed here with this
  // document's pool (so a later Find or edit inside it does not parse it
  // again). False, changing nothing, when `text` is not JSON, is not an
  // object while `object_only`, or when the parent is not there.
  bool SetParsed(const JsonPath& path, std::string_view text, bool object_only);
  // Removes the value at `path`; false when there was none.
  bool Remove(const JsonPath& path);

  // Every string value (not keys) under `under`, edits applied, with its path.
  void ForEachString(const JsonPath& under, const std::function<void(const JsonPath&, std::string_view)>& fn) const;
  // Every field under `under`: objects' members recursively, each with its
  // type; arrays are leaves (their elements are not visited).
  void ForEachField(const JsonPath& under, const std::function<void(const JsonPath&, JsonType)>& fn) const;

  // True once an edit was made: Write then differs from the parsed text.
  bool edited() const { return edited_; }
  // Appends the document, edits applied, on one line (no newline at the end).
  void Write(std::string& out) const;

  JsonDoc(const JsonDoc& other);
  JsonDoc& operator=(const JsonDoc& other);
  JsonDoc(JsonDoc&&) noexcept = default;
  JsonDoc& operator=(JsonDoc&&) noexcept = default;
  ~JsonDoc() = default;

  struct Edit;
  struct Walker;
  // An edit node's index in the pool; kNoNode for none.
  using NodeId = uint32_t;
  static constexpr NodeId kNoNode = UINT32_MAX;

 private:
  JsonDoc(JsonParsers* parsers);
  // Set's work: the new edit (the pool's), or null when the parent is not there.
  // `copy`: false when `raw_json` is the pool's, valid as long as the edit.
  Edit* Place(const JsonPath& path, std::string_view raw_json, bool remove, bool copy = true);

  JsonParsers* parsers_ = nullptr;
  const JsonNode* root_ = nullptr;  // the parsed text's index, in the pool
  bool text_breaks_ = false;        // the parsed text has line breaks between tokens
  bool edited_ = false;
  NodeId edits_ = kNoNode;  // the edit tree's root (the document's own), in the pool
  uint32_t seq_ = 0;        // edits made, for the order of added members
};

}  // namespace sluice
