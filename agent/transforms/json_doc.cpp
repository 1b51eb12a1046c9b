#include "agent/transforms/json_doc.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "agent/record/json_record.h"
#include "core/util/utf8.h"

namespace sluice {

namespace {
// One pass for both bytes (a record's msg is looked at for each edit that sets it).
bool HasLineBreaks(std::string_view t) {
  size_t i = 0;
#ifdef __SSE2__
  const __m128i nl = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  for (; i + 16 <= t.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data() + i));
    if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, cr))) != 0) return true;
  }
#endif
  for (; i < t.size(); ++i) {
    if (t[i] == '\n' || t[i] == '\r') return true;
  }
  return false;
}

// Keys compared where they are compared most (an edit's path against a
// member's key): most differ in their length or their first or last byte,
// which is told without a call to memcmp.
[[gnu::always_inline]] inline bool SameKey(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  if (n == 0) return true;
  if (a[0] != b[0] || a[n - 1] != b[n - 1]) return false;
  if (n > 16) return std::memcmp(a.data() + 1, b.data() + 1, n - 2) == 0;
  for (size_t i = 1; i + 1 < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

void Append(std::string& out, std::string_view text, bool breaks) {
  if (breaks) {
    AppendJsonOneLine(out, text);
  } else {
    out += text;
  }
}
}  // namespace

struct JsonDoc::Edit {
  JsonPath path;
  bool remove = false;
  // A string set by SetString: its unescaped text, escaped into `raw` only
  // when something needs the JSON (Write, or a look inside by a visitor).
  bool is_string = false;
  std::string text;
  mutable bool raw_stale = false;
  // The value's JSON: raw_store's bytes, or (SetParsed) the pool's copy of
  // the text it was parsed from, valid as long as the edit.
  mutable std::string_view raw;
  mutable std::string raw_store;
  bool breaks = false;  // raw has line breaks (between tokens) to turn into spaces when written

  std::string_view Raw() const {
    if (raw_stale) {
      raw_store.assign(1, '"');
      AppendJsonEscaped(raw_store, text);
      raw_store += '"';
      raw = raw_store;
      raw_stale = false;
    }
    return raw;
  }
  // The raw text parsed, once something looks inside it.
  mutable bool parsed = false;
  mutable const JsonNode* parsed_root = nullptr;
};

// Everything a record's documents hold lives here and is reused after Reset:
// after the first records, reading and editing one allocates nothing but the
// document's list of edits.
struct JsonParsers::Impl {
  struct Slot {
    JsonIndexer indexer;
    std::string text;  // the padded copy simdjson reads; the nodes' views point into it and into the indexer
    std::vector<JsonNode> nodes;
  };
  std::vector<std::unique_ptr<Slot>> slots;
  size_t slots_used = 0;
  std::vector<std::unique_ptr<JsonDoc::Edit>> edits;
  size_t edits_used = 0;
  // ParseKept's documents, which outlive Reset: a few, replaced in turn.
  struct Kept {
    JsonIndexer indexer;
    std::string text;  // padded; its first `size` bytes are the document
    size_t size = 0;
    bool breaks = false;  // the document has line breaks between tokens
    std::vector<JsonNode> nodes;
  };
  std::vector<std::unique_ptr<Kept>> kept_docs;
  size_t kept_next = 0;
  static constexpr size_t kMaxKept = 8;
  std::vector<std::unique_ptr<std::string>> texts;  // containers Find rendered
  size_t texts_used = 0;
  // Write's lists of the edits below the value it writes, one range per level.
  std::vector<const JsonDoc::Edit*> scratch;
  // A slot's nodes beyond this many are given back at Reset: a rare huge
  // record does not keep its index's memory for the rest of the run.
  static constexpr size_t kMaxKeptNodes = 1 << 16;

  // Parses `text` with the next free slot. The copy is ours to pad, so
  // simdjson does not allocate a padded one per call; `kept` views it and
  // stays valid, like the nodes, until Reset.
  // `elements`: the root array's elements get nodes (Elements).
  bool Parse(std::string_view text, const JsonNode*& root, std::string_view& error, std::string_view* kept = nullptr,
             bool elements = false) {
    if (slots_used == slots.size()) slots.push_back(std::make_unique<Slot>());
    Slot& s = *slots[slots_used++];
    s.text.assign(text);
    s.text.append(JsonIndexer::kPadding, '\0');
    const std::string_view view(s.text.data(), text.size());
    if (kept != nullptr) *kept = view;
    if (!s.indexer.Index(view, s.nodes, error, elements)) return false;
    root = s.nodes.data();
    return true;
  }

  // `copy`: the edit keeps a copy of `raw`; else `raw` is valid as long as the edit (the pool's own text).
  JsonDoc::Edit& NewEdit(const JsonPath& path, bool remove, std::string_view raw, bool copy = true) {
    if (edits_used == edits.size()) edits.push_back(std::make_unique<JsonDoc::Edit>());
    JsonDoc::Edit& e = *edits[edits_used++];
    e.path = path;  // reuses the vector's and the strings' capacity
    e.remove = remove;
    if (copy) {
      e.raw_store.assign(raw);
      e.raw = e.raw_store;
    } else {
      e.raw = raw;
    }
    e.breaks = HasLineBreaks(raw);
    e.parsed = false;
    e.is_string = false;
    e.raw_stale = false;
    return e;
  }

  Kept* FindKept(std::string_view text) {
    for (auto& k : kept_docs) {
      if (std::string_view(k->text.data(), k->size) == text) return k.get();
    }
    return nullptr;
  }
  bool ParseKept(std::string_view text, Kept*& out, std::string_view& error) {
    if (kept_docs.size() < kMaxKept) {
      kept_docs.push_back(std::make_unique<Kept>());
      out = kept_docs.back().get();
    } else {
      out = kept_docs[kept_next].get();
      kept_next = (kept_next + 1) % kMaxKept;
    }
    out->text.assign(text);
    out->text.append(JsonIndexer::kPadding, '\0');
    out->size = text.size();
    out->breaks = HasLineBreaks(text);
    if (!out->indexer.Index(std::string_view(out->text.data(), text.size()), out->nodes, error)) {
      out->size = 0;  // never found again
      return false;
    }
    return true;
  }

  std::string& NewText() {
    if (texts_used == texts.size()) texts.push_back(std::make_unique<std::string>());
    std::string& t = *texts[texts_used++];
    t.clear();
    return t;
  }

  // The first element of `array`, whose elements the index only checked: its
  // text indexed again, with them, once per Reset. Null when it has none.
  const JsonNode* Elements(const JsonNode* array) {
    for (const auto& [a, first] : expansions) {
      if (a == array) return first;
    }
    const JsonNode* root = nullptr;
    std::string_view error;
    if (!Parse(array->text, root, error, nullptr, /*elements=*/true)) return nullptr;  // not expected: checked
    const JsonNode* first = root->count > 0 ? root->first_child() : nullptr;
    expansions.emplace_back(array, first);
    return first;
  }
  std::vector<std::pair<const JsonNode*, const JsonNode*>> expansions;  // array -> its first element, until Reset

  void Reset() {
    expansions.clear();
    for (size_t i = 0; i < slots_used; ++i) {
      if (slots[i]->nodes.capacity() > kMaxKeptNodes) std::vector<JsonNode>().swap(slots[i]->nodes);
    }
    slots_used = 0;
    edits_used = 0;
    texts_used = 0;
  }
};

JsonParsers::JsonParsers() : impl_(std::make_unique<Impl>()) {}
JsonParsers::~JsonParsers() = default;
void JsonParsers::Reset() { impl_->Reset(); }

namespace {

void AppendString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
}

std::string_view TrimJson(std::string_view t) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  size_t b = 0;
  while (b < t.size() && space(t[b])) ++b;
  size_t e = t.size();
  while (e > b && space(t[e - 1])) --e;
  return t.substr(b, e - b);
}

std::optional<size_t> ParseIndex(std::string_view s) {
  size_t v = 0;
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The member `key` of an object (the first of duplicates); null when there is none.
const JsonNode* Member(const JsonNode* e, std::string_view key) {
  if (e->type != JsonType::kObject) return nullptr;
  const JsonNode* c = e->first_child();
  for (uint32_t m = 0; m < e->count; ++m, c = c->next_sibling()) {
    if (SameKey(c->key, key)) return c;
  }
  return nullptr;
}

const char* EndOf(std::string_view t) { return t.data() + t.size(); }

// True when the first `len` components of `a` and `b` are equal (both have as many).
template <class P>
[[gnu::always_inline]] inline bool SamePrefix(const P& a, const JsonPath& b, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    if (!SameKey(a[i], b[i])) return false;
  }
  return true;
}

template <class P>
[[gnu::always_inline]] inline bool IsPrefix(const P& prefix, const JsonPath& path) {
  return prefix.size() <= path.size() && SamePrefix(prefix, path, prefix.size());
}

}  // namespace

// The edits seen from a path: shared by Find, Write and the visitors.
struct JsonDoc::Walker {
  const JsonDoc& doc;

  JsonParsers::Impl& pool() const { return doc.parsers_->impl(); }

  // A container's first child (null when it has none), an array's elements indexed if they were not.
  const JsonNode* FirstChild(const JsonNode* e) const {
    if (e->count == 0) return nullptr;
    return e->elements_indexed ? e->first_child() : pool().Elements(e);
  }

  // The member `key` of an object or the element at index `key` of an array; null when there is none.
  const JsonNode* Child(const JsonNode* e, std::string_view key) const {
    if (e->type == JsonType::kObject) return Member(e, key);
    if (e->type == JsonType::kArray) {
      const std::optional<size_t> index = ParseIndex(key);
      if (!index || *index >= e->count) return nullptr;
      const JsonNode* c = FirstChild(e);
      for (size_t i = 0; c != nullptr && i < *index; ++i) c = c->next_sibling();
      return c;
    }
    return nullptr;
  }

  // The edit at exactly the first `len` components of `path`.
  template <class P>
  const Edit* At(const P& path, size_t len) const {
    for (const Edit* e : doc.edits_) {
      if (e->path.size() == len && SamePrefix(path, e->path, len)) return e;
    }
    return nullptr;
  }

  const JsonNode* Parsed(const Edit& e) const {
    if (!e.parsed) {
      std::string_view error;
      if (!pool().Parse(e.Raw(), e.parsed_root, error)) return nullptr;
      e.parsed = true;
    }
    return e.parsed_root;
  }

  // The value at the first `len` components of `path`, edits applied; null when there is none.
  const JsonNode* Resolve(const JsonPath& path, size_t len) const {
    const JsonNode* cur = doc.root_;
    for (size_t i = 0; i < len; ++i) {
      if (const Edit* e = At(path, i + 1)) {
        if (e->remove) return nullptr;
        cur = Parsed(*e);
      } else {
        cur = Child(cur, path[i]);
      }
      if (cur == nullptr) return nullptr;
    }
    return cur;
  }
  const JsonNode* Resolve(const JsonPath& path) const { return Resolve(path, path.size()); }

  // Calls fn(child) for the effective children of `e` at `path`.
  void Children(const JsonNode* e, JsonPath& path, const std::function<void(const JsonNode*)>& fn) const {
    if (e->type == JsonType::kObject) {
      const JsonNode* c = e->first_child();
      for (uint32_t m = 0; m < e->count; ++m, c = c->next_sibling()) {
        path.emplace_back(c->key);
        if (const Edit* ed = At(path, path.size())) {
          if (!ed->remove) {
            if (const JsonNode* p = Parsed(*ed)) fn(p);
          }
        } else {
          fn(c);
        }
        path.pop_back();
      }
      for (const Edit* ed : doc.edits_) {
        if (ed->remove || ed->path.size() != path.size() + 1 || !IsPrefix(path, ed->path)) continue;
        if (Child(e, ed->path.back()) != nullptr) continue;
        path.push_back(ed->path.back());
        if (const JsonNode* p = Parsed(*ed)) fn(p);
        path.pop_back();
      }
    } else if (e->type == JsonType::kArray) {
      const JsonNode* c = FirstChild(e);
      for (uint32_t i = 0; c != nullptr && i < e->count; ++i, c = c->next_sibling()) {
        path.push_back(std::to_string(i));
        if (const Edit* ed = At(path, path.size())) {
          if (!ed->remove) {
            if (const JsonNode* p = Parsed(*ed)) fn(p);
          }
        } else {
          fn(c);
        }
        path.pop_back();
      }
    }
  }

  // Pushes onto the scratch list the edits of [first, last) that lie below
  // `depth` under the child `matches` picks; returns their range and sets
  // `at` to the edit of the child itself. (An edit at a path drops the
  // earlier ones at and below it, so those below `at` came after it and
  // apply to its value.)
  template <class Matches>
  std::pair<size_t, size_t> ChildEdits(size_t depth, size_t first, size_t last, const Matches& matches,
                                       const Edit*& at) const {
    std::vector<const Edit*>& s = pool().scratch;
    const size_t begin = s.size();
    at = nullptr;
    for (size_t i = first; i < last; ++i) {
      const Edit* ed = s[i];
      if (!matches(ed->path[depth])) continue;
      if (ed->path.size() == depth + 1) {
        at = ed;
      } else {
        s.push_back(ed);
      }
    }
    return {begin, s.size()};
  }

  // Writes `e` with the edits in scratch[first, last) (all below it, their
  // paths' component `depth` naming its child) spliced in; what no edit
  // touches is copied as it was written.
  //
  // `breaks`: the text may hold line breaks between tokens (known per parsed
  // text), which become spaces; without, what is copied needs no look.
  void Write(const JsonNode* e, bool breaks, size_t depth, size_t first, size_t last, std::string& out) const {
    if (first == last || (e->type != JsonType::kObject && e->type != JsonType::kArray)) {
      Append(out, e->text, breaks);
      return;
    }
    std::vector<const Edit*>& s = pool().scratch;
    bool sep = false;
    const auto write_child = [&](std::string_view key_text, const Edit* at, const JsonNode* child,
                                 std::pair<size_t, size_t> below) {
      if (at == nullptr || !at->remove) {
        if (sep) out += ',';
        sep = true;
        if (!key_text.empty()) {
          out += key_text;
          out += ':';
        }
        if (at != nullptr) {
          WriteEdit(*at, depth + 1, below.first, below.second, out);
        } else {
          Write(child, breaks, depth + 1, below.first, below.second, out);
        }
      }
      s.resize(below.first);
    };
    // Consecutive members (or elements) that no edit touches are copied in
    // one piece, separators and all.
    const char* run_begin = nullptr;
    const char* run_end = nullptr;
    const auto extend_run = [&](const char* from, const char* to) {
      if (run_begin == nullptr) run_begin = from;
      run_end = to;
    };
    const auto flush_run = [&] {
      if (run_begin == nullptr) return;
      if (sep) out += ',';
      sep = true;
      Append(out, std::string_view(run_begin, static_cast<size_t>(run_end - run_begin)), breaks);
      run_begin = nullptr;
    };
    if (e->type == JsonType::kObject) {
      // The keys the edits name here (a few): a member whose key is none of
      // them is copied without a look at the edits. Left uninitialized: the
      // first n_keys are set.
      constexpr size_t kMaxKeys = 8;
      struct Key {  // trivial, unlike std::string_view: the array is not cleared first
        const char* data;
        size_t size;
      };
      Key keys[kMaxKeys];        // NOLINT: a small array on the stack
      bool key_found[kMaxKeys];  // a member of the object has the key
      size_t n_keys = 0;
      bool any_key = false;  // more keys than that: every member is looked at
      const auto key_index = [&](std::string_view k) __attribute__((always_inline)) {
        size_t j = 0;
        while (j < n_keys && !SameKey(std::string_view(keys[j].data, keys[j].size), k)) ++j;
        return j;
      };
      for (size_t i = first; i < last; ++i) {
        const std::string_view k = s[i]->path[depth];
        if (key_index(k) < n_keys) continue;
        if (n_keys == kMaxKeys) {
          any_key = true;
          break;
        }
        key_found[n_keys] = false;
        keys[n_keys++] = Key{k.data(), k.size()};
      }
      out += '{';
      const JsonNode* c = e->first_child();
      for (uint32_t m = 0; m < e->count; ++m, c = c->next_sibling()) {
        if (!any_key) {
          const size_t j = key_index(c->key);
          if (j == n_keys) {
            extend_run(c->key_raw.data(), EndOf(c->text));
            continue;
          }
          key_found[j] = true;
        }
        const Edit* at = nullptr;
        const auto below = ChildEdits(
            depth, first, last, [&](const std::string& k) { return SameKey(k, c->key); }, at);
        if (at == nullptr && below.first == below.second) {
          extend_run(c->key_raw.data(), EndOf(c->text));
          continue;
        }
        flush_run();
        write_child(c->key_raw, at, c, below);
      }
      flush_run();
      // Members the edits add, in the order they were made.
      for (size_t i = first; i < last; ++i) {
        const Edit* ed = s[i];
        if (ed->remove || ed->path.size() != depth + 1) continue;
        if (any_key) {
          if (Child(e, ed->path[depth]) != nullptr) continue;
        } else if (key_found[key_index(ed->path[depth])]) {
          continue;
        }
        if (sep) out += ',';
        sep = true;
        AppendString(out, ed->path[depth]);
        out += ':';
        const Edit* at = nullptr;
        const auto below = ChildEdits(
            depth, first, last, [&](const std::string& k) { return SameKey(k, ed->path[depth]); }, at);
        WriteEdit(*ed, depth + 1, below.first, below.second, out);
        s.resize(below.first);
      }
      out += '}';
    } else {
      out += '[';
      const JsonNode* c = FirstChild(e);
      for (uint32_t i = 0; c != nullptr && i < e->count; ++i, c = c->next_sibling()) {
        const Edit* at = nullptr;
        const auto below = ChildEdits(
            depth, first, last, [&](const std::string& k) { return ParseIndex(k) == i; }, at);
        if (at == nullptr && below.first == below.second) {
          extend_run(c->text.data(), EndOf(c->text));
          continue;
        }
        flush_run();
        write_child({}, at, c, below);
      }
      flush_run();
      out += ']';
    }
  }

  void WriteEdit(const Edit& ed, size_t depth, size_t first, size_t last, std::string& out) const {
    if (first != last) {
      if (const JsonNode* p = Parsed(ed)) {
        Write(p, ed.breaks, depth, first, last, out);
        return;
      }
    }
    Append(out, ed.Raw(), ed.breaks);
  }

  // Writes the value at the first `len` components of `path` (found as `e`)
  // with the edits below it.
  void WriteAt(const JsonPath& path, size_t len, const JsonNode* e, bool breaks, std::string& out) const {
    std::vector<const Edit*>& s = pool().scratch;
    const size_t begin = s.size();
    for (const Edit* ed : doc.edits_) {
      if (ed->path.size() > len && SamePrefix(path, ed->path, len)) s.push_back(ed);
    }
    Write(e, breaks, len, begin, s.size(), out);
    s.resize(begin);
  }
};
std::string_view JsonTypeName(JsonType type) {
  switch (type) {
    case JsonType::kNull:
      return "null";
    case JsonType::kBool:
      return "bool";
    case JsonType::kNumber:
      return "number";
    case JsonType::kString:
      return "string";
    case JsonType::kArray:
      return "array";
    case JsonType::kObject:
      return "object";
  }
  return "null";
}

Result<JsonPath> ParseJsonPath(std::string_view dotted) {
  JsonPath path;
  size_t start = 0;
  for (;;) {
    const size_t dot = dotted.find('.', start);
    const std::string_view part = dotted.substr(start, dot == std::string_view::npos ? dotted.npos : dot - start);
    if (part.empty()) {
      return Status::InvalidArgument("\"" + std::string(dotted) +
                                     "\" is not a field path: write keys separated by dots, e.g. \"fields.user\"");
    }
    path.emplace_back(part);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return path;
}

std::string JsonPathString(const JsonPath& path) {
  std::string out;
  for (const std::string& p : path) {
    if (!out.empty()) out += '.';
    out += p;
  }
  return out;
}

JsonDoc::JsonDoc(JsonParsers* parsers) : parsers_(parsers) {}

Result<JsonDoc> JsonDoc::Parse(JsonParsers& parsers, std::string_view text) {
  JsonDoc doc(&parsers);
  std::string_view kept;
  std::string_view error;
  if (!parsers.impl().Parse(TrimJson(text), doc.root_, error, &kept)) {
    return Status::InvalidArgument(std::string(error));
  }
  doc.text_breaks_ = HasLineBreaks(kept);
  return doc;
}

Result<JsonDoc> JsonDoc::ParseKept(JsonParsers& parsers, std::string_view text) {
  JsonParsers::Impl& pool = parsers.impl();
  JsonParsers::Impl::Kept* k = pool.FindKept(text);
  if (k == nullptr) {
    std::string_view error;
    if (!pool.ParseKept(text, k, error)) return Status::InvalidArgument(std::string(error));
  }
  JsonDoc doc(&parsers);
  doc.root_ = k->nodes.data();
  doc.text_breaks_ = k->breaks;
  return doc;
}

std::optional<JsonValue> JsonDoc::Find(const JsonPath& path) const {
  const Walker w{*this};
  // An edit at exactly `path` is its value (a later edit above it would have
  // replaced it); a string set by SetString is read as it was given.
  if (const Edit* e = w.At(path, path.size()); e != nullptr && e->is_string) {
    return JsonValue{JsonType::kString, e->text};
  }
  const JsonNode* e = w.Resolve(path);
  if (e == nullptr) return std::nullopt;
  JsonValue v;
  v.type = e->type;
  if (v.type == JsonType::kString) {
    v.text = e->str;
  } else if (v.type == JsonType::kObject || v.type == JsonType::kArray) {
    std::string& rendered = w.pool().NewText();
    w.WriteAt(path, path.size(), e, /*breaks=*/true, rendered);
    v.text = rendered;
  } else {
    v.text = e->text;  // as written in the record: a number keeps its spelling
  }
  return v;
}

bool JsonDoc::Has(const JsonPath& path) const {
  const Walker w{*this};
  if (const Edit* e = w.At(path, path.size())) return !e->remove;
  return w.Resolve(path) != nullptr;
}

std::optional<JsonType> JsonDoc::TypeAt(const JsonPath& path) const {
  const Walker w{*this};
  if (const Edit* e = w.At(path, path.size()); e != nullptr && e->is_string) return JsonType::kString;
  const JsonNode* e = w.Resolve(path);
  if (e == nullptr) return std::nullopt;
  return e->type;
}

bool JsonDoc::Set(const JsonPath& path, std::string_view raw_json) { return Place(path, raw_json) != nullptr; }

JsonDoc::Edit* JsonDoc::Place(const JsonPath& path, std::string_view raw_json, bool copy) {
  if (path.empty()) return nullptr;
  const Walker w{*this};
  const JsonNode* p = w.Resolve(path, path.size() - 1);
  if (p == nullptr) return nullptr;
  if (p->type == JsonType::kArray) {
    if (w.Child(p, path.back()) == nullptr) return nullptr;
  } else if (p->type != JsonType::kObject) {
    return nullptr;
  }
  edits_.erase_if([&](const Edit* e) { return IsPrefix(path, e->path); });
  Edit* e = &w.pool().NewEdit(path, false, raw_json, copy);
  edits_.push_back(e);
  return e;
}

bool JsonDoc::SetString(const JsonPath& path, std::string_view text) {
  Edit* e = Place(path, {});
  if (e == nullptr) return false;
  e->is_string = true;
  e->text.assign(text);
  e->raw_stale = true;
  return true;
}

bool JsonDoc::SetParsed(const JsonPath& path, std::string_view text, bool object_only) {
  const JsonNode* parsed = nullptr;
  std::string_view kept;  // the pool's copy of the text, which the edit takes as its own
  std::string_view error;
  if (!parsers_->impl().Parse(TrimJson(text), parsed, error, &kept)) return false;
  if (object_only && parsed->type != JsonType::kObject) return false;
  Edit* e = Place(path, kept, /*copy=*/false);
  if (e == nullptr) return false;
  e->parsed_root = parsed;
  e->parsed = true;
  return true;
}

bool JsonDoc::Remove(const JsonPath& path) {
  if (path.empty() || !Has(path)) return false;
  edits_.erase_if([&](const Edit* e) { return IsPrefix(path, e->path); });
  edits_.push_back(&parsers_->impl().NewEdit(path, true, {}));
  return true;
}

void JsonDoc::ForEachString(const JsonPath& under,
                            const std::function<void(const JsonPath&, std::string_view)>& fn) const {
  const Walker w{*this};
  const JsonNode* start = w.Resolve(under);
  if (start == nullptr) return;
  JsonPath path = under;
  std::function<void(const JsonNode*)> visit = [&](const JsonNode* e) {
    if (e->type == JsonType::kString) {
      fn(path, e->str);
    } else {
      w.Children(e, path, visit);
    }
  };
  visit(start);
}

void JsonDoc::ForEachField(const JsonPath& under, const std::function<void(const JsonPath&, JsonType)>& fn) const {
  const Walker w{*this};
  const JsonNode* start = w.Resolve(under);
  if (start == nullptr || start->type != JsonType::kObject) return;
  JsonPath path = under;
  std::function<void(const JsonNode*)> visit = [&](const JsonNode* e) {
    fn(path, e->type);
    if (e->type == JsonType::kObject) w.Children(e, path, visit);
  };
  w.Children(start, path, visit);
}

void JsonDoc::Write(std::string& out) const { Walker{*this}.WriteAt({}, 0, root_, text_breaks_, out); }

}  // namespace sluice
