// A record under edit by the transforms: its JSON line parsed once into a
// read-only index (json_index.h: each value and where it is in the text) plus
// edits (set or remove the value at a path) that are applied when the record
// is written out.
//
// Why not a mutable tree (nlohmann::json): a transform changes one or two
// fields of many, and a read-only index is several times faster to build and
// to walk; records pass through the transforms at the rate a log is read.
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
//  - Edits are kept in order; an edit at a path replaces earlier edits at that
//    path and below it.
// Not thread-safe; a JsonDoc and its pool belong to one thread.
#pragma once

#include <array>
#include <cstddef>
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
  bool edited() const { return !edits_.empty(); }
  // Appends the document, edits applied, on one line (no newline at the end).
  void Write(std::string& out) const;

  struct Edit;
  struct Walker;

 private:
  JsonDoc(JsonParsers* parsers);
  // Set's work: the new edit (the pool's), or null when the parent is not there.
  // `copy`: false when `raw_json` is the pool's, valid as long as the edit.
  Edit* Place(const JsonPath& path, std::string_view raw_json, bool copy = true);
  // The document's edits, in order: the first few held here (a record's
  // transforms make a handful, and a record's document is made per record),
  // more on the heap.
  class EditList {
   public:
    EditList() = default;
    EditList(const EditList&) = default;
    EditList& operator=(const EditList&) = default;
    EditList(EditList&& o) noexcept : inline_(o.inline_), heap_(std::move(o.heap_)), size_(std::exchange(o.size_, 0)) {}
    EditList& operator=(EditList&& o) noexcept {
      inline_ = o.inline_;
      heap_ = std::move(o.heap_);
      size_ = std::exchange(o.size_, 0);
      return *this;
    }
    const Edit* const* begin() const { return heap_.empty() ? inline_.data() : heap_.data(); }
    const Edit* const* end() const { return begin() + size_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const Edit* back() const { return begin()[size_ - 1]; }
    void push_back(const Edit* e) {
      if (heap_.empty() && size_ < kInline) {
        inline_[size_++] = e;
        return;
      }
      if (heap_.empty()) heap_.assign(inline_.begin(), inline_.end());
      heap_.push_back(e);
      ++size_;
    }
    // Drops the edits `drop` is true for, keeping the others' order.
    template <class Pred>
    void erase_if(const Pred& drop) {
      const Edit** d = heap_.empty() ? inline_.data() : heap_.data();
      size_t kept = 0;
      for (size_t i = 0; i < size_; ++i) {
        if (!drop(d[i])) d[kept++] = d[i];
      }
      size_ = kept;
      if (!heap_.empty()) heap_.resize(kept);  // none left: back to the inline array
    }

   private:
    static constexpr size_t kInline = 8;
    std::array<const Edit*, kInline> inline_{};
    std::vector<const Edit*> heap_;  // all of them, once there were more than kInline
    size_t size_ = 0;
  };

  JsonParsers* parsers_ = nullptr;
  const JsonNode* root_ = nullptr;  // the parsed text's index, in the pool
  bool text_breaks_ = false;        // the parsed text has line breaks between tokens
  EditList edits_;                  // in the pool; a copy of the document shares them (they never change)
};

}  // namespace sluice
