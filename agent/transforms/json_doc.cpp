#include "agent/transforms/json_doc.h"

#include <simdjson.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "agent/record/json_record.h"
#include "core/util/utf8.h"

namespace sluice {

using simdjson::dom::element;
using simdjson::dom::element_type;

static_assert(sizeof(element) <= 16 && alignof(element) <= 8);
static_assert(std::is_trivially_copyable_v<element>);

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
  mutable element parsed_root;
};

// Everything a record's documents hold lives here and is reused after Reset:
// after the first records, reading and editing one allocates nothing but the
// document's list of edits.
struct JsonParsers::Impl {
  struct Slot {
    simdjson::dom::parser parser;
    std::string text;  // the padded copy simdjson reads; its DOM's strings point into the parser
  };
  std::vector<std::unique_ptr<Slot>> slots;
  size_t slots_used = 0;
  std::vector<std::unique_ptr<JsonDoc::Edit>> edits;
  size_t edits_used = 0;
  // ParseKept's documents, which outlive Reset: a few, replaced in turn.
  struct Kept {
    simdjson::dom::parser parser;
    std::string text;  // padded; its first `size` bytes are the document
    size_t size = 0;
    bool breaks = false;  // the document has line breaks between tokens
    element root;
  };
  std::vector<std::unique_ptr<Kept>> kept_docs;
  size_t kept_next = 0;
  static constexpr size_t kMaxKept = 8;
  std::vector<std::unique_ptr<std::string>> texts;  // containers Find rendered
  size_t texts_used = 0;
  // Write's lists of the edits below the value it writes, one range per level.
  std::vector<const JsonDoc::Edit*> scratch;

  // Parses `text` with the next free parser. The copy is ours to pad, so
  // simdjson does not allocate a padded one per call; `kept` views it and
  // stays valid, like the DOM, until Reset.
  simdjson::error_code Parse(std::string_view text, element& root, std::string_view* kept = nullptr) {
    if (slots_used == slots.size()) slots.push_back(std::make_unique<Slot>());
    Slot& s = *slots[slots_used++];
    s.text.assign(text);
    s.text.append(simdjson::SIMDJSON_PADDING, '\0');
    if (kept != nullptr) *kept = std::string_view(s.text.data(), text.size());
    return s.parser.parse(s.text.data(), text.size(), false).get(root);
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
  simdjson::error_code ParseKept(std::string_view text, Kept*& out) {
    if (kept_docs.size() < kMaxKept) {
      kept_docs.push_back(std::make_unique<Kept>());
      out = kept_docs.back().get();
    } else {
      out = kept_docs[kept_next].get();
      kept_next = (kept_next + 1) % kMaxKept;
    }
    out->text.assign(text);
    out->text.append(simdjson::SIMDJSON_PADDING, '\0');
    out->size = text.size();
    out->breaks = HasLineBreaks(text);
    const simdjson::error_code err = out->parser.parse(out->text.data(), text.size(), false).get(out->root);
    if (err != simdjson::SUCCESS) out->size = 0;  // never found again
    return err;
  }

  std::string& NewText() {
    if (texts_used == texts.size()) texts.push_back(std::make_unique<std::string>());
    std::string& t = *texts[texts_used++];
    t.clear();
    return t;
  }

  void Reset() {
    slots_used = 0;
    edits_used = 0;
    texts_used = 0;
  }
};

JsonParsers::JsonParsers() : impl_(std::make_unique<Impl>()) {}
JsonParsers::~JsonParsers() = default;
void JsonParsers::Reset() { impl_->Reset(); }

namespace {

element LoadElement(const std::array<std::byte, 16>& storage) {
  element e;
  std::memcpy(static_cast<void*>(&e), storage.data(), sizeof e);
  return e;
}

JsonType TypeOf(const element& e) {
  switch (e.type()) {
    case element_type::ARRAY:
      return JsonType::kArray;
    case element_type::OBJECT:
      return JsonType::kObject;
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return JsonType::kNumber;
    case element_type::STRING:
      return JsonType::kString;
    case element_type::BOOL:
      return JsonType::kBool;
    case element_type::NULL_VALUE:
      return JsonType::kNull;
  }
  return JsonType::kNull;
}

void AppendString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
}

// Where values begin and end in JSON text that simdjson has already
// validated. Written here because simdjson 3.0's DOM keeps no source
// positions; on valid text finding boundaries is all there is to do. Edited
// records are written from their original text with the edited values
// spliced in, so everything no transform touched (number spellings, escapes,
// key order) leaves as it came.
bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view t, size_t i) {
  while (i < t.size() && IsJsonSpace(t[i])) ++i;
  return i;
}

std::string_view TrimJson(std::string_view t) {
  const size_t b = SkipSpace(t, 0);
  size_t e = t.size();
  while (e > b && IsJsonSpace(t[e - 1])) --e;
  return t.substr(b, e - b);
}

// `i` at a string's opening quote; returns the index after its closing quote.
// Sixteen bytes at a time where SSE2 is there: a log line in a msg is full of
// escaped quotes, and stopping at each cost more than the rest of a write.
// A block with a run of backslashes (an escaped backslash) is left to the
// byte loop, which knows which of them escape.
size_t SkipString(std::string_view t, size_t i) {
  ++i;
  const size_t n = t.size();
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  unsigned carry = 0;  // 1: the last block ended with a backslash, which escapes this block's first byte
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data() + i));
    const auto q = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)));
    const auto b = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)));
    if ((b & (b << 1)) != 0 || (b & carry) != 0) break;
    // Lone backslashes only: each escapes the byte after it.
    const unsigned closing = q & ~((b << 1) | carry) & 0xFFFFu;
    if (closing != 0) return i + static_cast<unsigned>(__builtin_ctz(closing)) + 1;
    carry = (b >> 15) & 1u;
    i += 16;
  }
  i += carry;
#endif
  for (; i < n; ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    }
  }
  return n;
}

// `i` at a value's first byte; returns the index after its last.
size_t SkipValue(std::string_view t, size_t i) {
  if (i >= t.size()) return i;
  if (t[i] == '"') return SkipString(t, i);
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    while (i < t.size()) {
      const char c = t[i];
      if (c == '"') {
        i = SkipString(t, i);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && !IsJsonSpace(t[i])) ++i;
  return i;
}

// Steps through an object's members or an array's elements in their text, in
// step with simdjson's iteration of the same container (both in document order).
class SpanCursor {
 public:
  explicit SpanCursor(std::string_view container) : t_(container), i_(SkipSpace(container, 0) + 1) {}

  // The next member: its key as written (with quotes) and its value's text.
  void NextMember(std::string_view& key, std::string_view& value) {
    Separator();
    const size_t k = i_;
    i_ = SkipString(t_, i_);
    key = t_.substr(k, i_ - k);
    i_ = SkipSpace(t_, SkipSpace(t_, i_) + 1);  // past the ':'
    value = Value();
  }
  std::string_view NextElement() {
    Separator();
    return Value();
  }
  // The members (or elements) not read yet, in one piece: from the next
  // one's first byte to the last one's last (empty when none is left).
  std::string_view Rest() {
    Separator();
    size_t e = t_.size();
    while (e > i_ && IsJsonSpace(t_[e - 1])) --e;
    if (e > i_) --e;  // the closing bracket
    while (e > i_ && IsJsonSpace(t_[e - 1])) --e;
    return t_.substr(i_, e - i_);
  }

 private:
  void Separator() {
    i_ = SkipSpace(t_, i_);
    if (i_ < t_.size() && t_[i_] == ',') i_ = SkipSpace(t_, i_ + 1);
  }
  std::string_view Value() {
    const size_t v = i_;
    i_ = SkipValue(t_, i_);
    return t_.substr(v, i_ - v);
  }
  std::string_view t_;
  size_t i_;
};

std::optional<size_t> ParseIndex(std::string_view s) {
  size_t v = 0;
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<element> Child(const element& e, std::string_view key) {
  if (e.type() == element_type::OBJECT) {
    element c;
    if (e.at_key(key).get(c) != simdjson::SUCCESS) return std::nullopt;
    return c;
  }
  if (e.type() == element_type::ARRAY) {
    const std::optional<size_t> i = ParseIndex(key);
    if (!i) return std::nullopt;
    element c;
    if (e.at(*i).get(c) != simdjson::SUCCESS) return std::nullopt;
    return c;
  }
  return std::nullopt;
}

// The text of `parent`'s child `key` (a member's value, or an element by
// index), `text` being the parent's own; empty when there is none.
std::string_view ChildText(const element& parent, std::string_view text, std::string_view key) {
  SpanCursor cursor(text);
  if (parent.type() == element_type::OBJECT) {
    const simdjson::dom::object obj = parent.get_object().value_unsafe();  // a copy: the result is a temporary
    for (simdjson::dom::key_value_pair kv : obj) {
      std::string_view key_text;
      std::string_view value;
      cursor.NextMember(key_text, value);
      if (kv.key == key) return value;  // the first of duplicates, as at_key finds it
    }
    return {};
  }
  if (parent.type() == element_type::ARRAY) {
    const std::optional<size_t> index = ParseIndex(key);
    const simdjson::dom::array arr = parent.get_array().value_unsafe();  // a copy: the result is a temporary
    if (!index || *index >= arr.size()) return {};
    for (size_t i = 0; i < *index; ++i) cursor.NextElement();
    return cursor.NextElement();
  }
  return {};
}

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

  // The edit at exactly the first `len` components of `path`.
  template <class P>
  const Edit* At(const P& path, size_t len) const {
    for (const Edit* e : doc.edits_) {
      if (e->path.size() == len && SamePrefix(path, e->path, len)) return e;
    }
    return nullptr;
  }

  std::optional<element> Parsed(const Edit& e) const {
    if (!e.parsed) {
      if (pool().Parse(e.Raw(), e.parsed_root) != simdjson::SUCCESS) return std::nullopt;
      e.parsed = true;
    }
    return e.parsed_root;
  }

  // The element at the first `len` components of `path`, edits applied, and
  // when asked its text (which costs a scan of the text on the way down).
  std::optional<element> Resolve(const JsonPath& path, size_t len, std::string_view* text = nullptr) const {
    element cur = LoadElement(doc.root_);
    std::string_view cur_text = doc.text_;
    for (size_t i = 0; i < len; ++i) {
      if (const Edit* e = At(path, i + 1)) {
        if (e->remove) return std::nullopt;
        std::optional<element> p = Parsed(*e);
        if (!p) return std::nullopt;
        cur = *p;
        if (text != nullptr) cur_text = TrimJson(e->Raw());
        continue;
      }
      std::optional<element> c = Child(cur, path[i]);
      if (!c) return std::nullopt;
      if (text != nullptr) cur_text = ChildText(cur, cur_text, path[i]);
      cur = *c;
    }
    if (text != nullptr) *text = cur_text;
    return cur;
  }
  std::optional<element> Resolve(const JsonPath& path, std::string_view* text = nullptr) const {
    return Resolve(path, path.size(), text);
  }

  // Calls fn(key, child) for the effective children of `e` at `path`.
  void Children(const element& e, JsonPath& path, const std::function<void(const element&)>& fn) const {
    if (e.type() == element_type::OBJECT) {
      const simdjson::dom::object obj = e.get_object().value_unsafe();
      for (simdjson::dom::key_value_pair kv : obj) {
        path.emplace_back(kv.key);
        if (const Edit* ed = At(path, path.size())) {
          if (!ed->remove) {
            if (std::optional<element> p = Parsed(*ed)) fn(*p);
          }
        } else {
          fn(kv.value);
        }
        path.pop_back();
      }
      for (const Edit* ed : doc.edits_) {
        if (ed->remove || ed->path.size() != path.size() + 1 || !IsPrefix(path, ed->path)) continue;
        element existing;
        if (obj.at_key(ed->path.back()).get(existing) == simdjson::SUCCESS) continue;
        path.push_back(ed->path.back());
        if (std::optional<element> p = Parsed(*ed)) fn(*p);
        path.pop_back();
      }
    } else if (e.type() == element_type::ARRAY) {
      size_t i = 0;
      const simdjson::dom::array arr = e.get_array().value_unsafe();  // a copy: the result is a temporary
      for (element x : arr) {
        path.push_back(std::to_string(i++));
        if (const Edit* ed = At(path, path.size())) {
          if (!ed->remove) {
            if (std::optional<element> p = Parsed(*ed)) fn(*p);
          }
        } else {
          fn(x);
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

  // Writes `e`, whose text is `text`, with the edits in scratch[first, last)
  // (all below it, their paths' component `depth` naming its child) spliced
  // in; what no edit touches is copied as it was written.
  //
  // `breaks`: the text may hold line breaks between tokens (known per parsed
  // text), which become spaces; without, what is copied needs no look.
  void Write(const element& e, std::string_view text, bool breaks, size_t depth, size_t first, size_t last,
             std::string& out) const {
    if (first == last) {
      Append(out, text, breaks);
      return;
    }
    std::vector<const Edit*>& s = pool().scratch;
    bool sep = false;
    const auto write_child = [&](std::string_view key_text, const Edit* at, const element* child,
                                 std::string_view child_text, std::pair<size_t, size_t> below) {
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
          Write(*child, child_text, breaks, depth + 1, below.first, below.second, out);
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
    SpanCursor cursor(text);
    if (e.type() == element_type::OBJECT) {
      const simdjson::dom::object obj = e.get_object().value_unsafe();  // a copy: the result is a temporary
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
      // Which members have one of the keys, from the DOM (no look at the
      // text): the members after the last of them are copied in one piece,
      // without stepping through their text.
      // `touched` has bit m set for the m-th member with one of the keys,
      // for the first 64 members (after those, the keys are compared again).
      constexpr size_t kNone = ~size_t{0};
      size_t last_touched = kNone;
      uint64_t touched = 0;
      if (!any_key) {
        size_t m = 0;
        for (simdjson::dom::key_value_pair kv : obj) {
          if (const size_t j = key_index(kv.key); j < n_keys) {
            key_found[j] = true;
            last_touched = m;
            if (m < 64) touched |= uint64_t{1} << m;
          }
          ++m;
        }
      }
      out += '{';
      size_t m = 0;
      for (simdjson::dom::key_value_pair kv : obj) {
        if (!any_key && (last_touched == kNone || m > last_touched)) {
          const std::string_view rest = cursor.Rest();
          if (!rest.empty()) extend_run(rest.data(), rest.data() + rest.size());
          break;
        }
        const bool untouched = !any_key && (m < 64 ? ((touched >> m) & 1) == 0 : key_index(kv.key) == n_keys);
        ++m;
        std::string_view key_text;
        std::string_view value;
        cursor.NextMember(key_text, value);
        if (untouched) {
          extend_run(key_text.data(), value.data() + value.size());
          continue;
        }
        const Edit* at = nullptr;
        const auto below = ChildEdits(
            depth, first, last, [&](const std::string& k) { return SameKey(k, kv.key); }, at);
        if (at == nullptr && below.first == below.second) {
          extend_run(key_text.data(), value.data() + value.size());
          continue;
        }
        flush_run();
        write_child(key_text, at, &kv.value, value, below);
      }
      flush_run();
      // Members the edits add, in the order they were made.
      for (size_t i = first; i < last; ++i) {
        const Edit* ed = s[i];
        if (ed->remove || ed->path.size() != depth + 1) continue;
        if (any_key) {
          element existing;
          if (obj.at_key(ed->path[depth]).get(existing) == simdjson::SUCCESS) continue;
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
    } else if (e.type() == element_type::ARRAY) {
      out += '[';
      size_t i = 0;
      const simdjson::dom::array arr = e.get_array().value_unsafe();  // a copy: the result is a temporary
      for (element x : arr) {
        const std::string_view value = cursor.NextElement();
        const Edit* at = nullptr;
        const auto below = ChildEdits(
            depth, first, last, [&](const std::string& k) { return ParseIndex(k) == i; }, at);
        ++i;
        if (at == nullptr && below.first == below.second) {
          extend_run(value.data(), value.data() + value.size());
          continue;
        }
        flush_run();
        write_child({}, at, &x, value, below);
      }
      flush_run();
      out += ']';
    } else {
      Append(out, text, breaks);
    }
  }

  void WriteEdit(const Edit& ed, size_t depth, size_t first, size_t last, std::string& out) const {
    if (first != last) {
      if (std::optional<element> p = Parsed(ed)) {
        Write(*p, TrimJson(ed.Raw()), ed.breaks, depth, first, last, out);
        return;
      }
    }
    Append(out, ed.Raw(), ed.breaks);
  }

  // Writes the value at the first `len` components of `path` (found as `e`
  // with its `text`) with the edits below it.
  void WriteAt(const JsonPath& path, size_t len, const element& e, std::string_view text, bool breaks,
               std::string& out) const {
    std::vector<const Edit*>& s = pool().scratch;
    const size_t begin = s.size();
    for (const Edit* ed : doc.edits_) {
      if (ed->path.size() > len && SamePrefix(path, ed->path, len)) s.push_back(ed);
    }
    Write(e, text, breaks, len, begin, s.size(), out);
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
  element root;
  std::string_view kept;
  const simdjson::error_code err = parsers.impl().Parse(TrimJson(text), root, &kept);
  if (err != simdjson::SUCCESS) return Status::InvalidArgument(simdjson::error_message(err));
  doc.text_ = kept;
  doc.text_breaks_ = HasLineBreaks(kept);
  std::memcpy(doc.root_.data(), static_cast<const void*>(&root), sizeof root);
  return doc;
}

Result<JsonDoc> JsonDoc::ParseKept(JsonParsers& parsers, std::string_view text) {
  JsonParsers::Impl& pool = parsers.impl();
  JsonParsers::Impl::Kept* k = pool.FindKept(text);
  if (k == nullptr) {
    if (const simdjson::error_code err = pool.ParseKept(text, k); err != simdjson::SUCCESS) {
      return Status::InvalidArgument(simdjson::error_message(err));
    }
  }
  JsonDoc doc(&parsers);
  doc.text_ = std::string_view(k->text.data(), k->size);
  doc.text_breaks_ = k->breaks;
  std::memcpy(doc.root_.data(), static_cast<const void*>(&k->root), sizeof k->root);
  return doc;
}

std::optional<JsonValue> JsonDoc::Find(const JsonPath& path) const {
  const Walker w{*this};
  // An edit at exactly `path` is its value (a later edit above it would have
  // replaced it); a string set by SetString is read as it was given.
  if (const Edit* e = w.At(path, path.size()); e != nullptr && e->is_string) {
    return JsonValue{JsonType::kString, e->text};
  }
  std::optional<element> e = w.Resolve(path);
  if (!e) return std::nullopt;
  JsonValue v;
  v.type = TypeOf(*e);
  if (v.type == JsonType::kString) {
    v.text = e->get_string().value_unsafe();
    return v;
  }
  // Anything else as written in the record (a number keeps its spelling):
  // resolved again, this time finding its text.
  std::string_view text;
  if (!w.Resolve(path, &text)) return std::nullopt;
  if (v.type == JsonType::kObject || v.type == JsonType::kArray) {
    std::string& rendered = w.pool().NewText();
    w.WriteAt(path, path.size(), *e, text, /*breaks=*/true, rendered);
    v.text = rendered;
  } else {
    v.text = text;
  }
  return v;
}

bool JsonDoc::Has(const JsonPath& path) const {
  const Walker w{*this};
  if (const Edit* e = w.At(path, path.size())) return !e->remove;
  return w.Resolve(path).has_value();
}

std::optional<JsonType> JsonDoc::TypeAt(const JsonPath& path) const {
  const Walker w{*this};
  if (const Edit* e = w.At(path, path.size()); e != nullptr && e->is_string) return JsonType::kString;
  std::optional<element> e = w.Resolve(path);
  if (!e) return std::nullopt;
  return TypeOf(*e);
}

bool JsonDoc::Set(const JsonPath& path, std::string_view raw_json) { return Place(path, raw_json) != nullptr; }

JsonDoc::Edit* JsonDoc::Place(const JsonPath& path, std::string_view raw_json, bool copy) {
  if (path.empty()) return nullptr;
  const Walker w{*this};
  std::optional<element> p = w.Resolve(path, path.size() - 1);
  if (!p) return nullptr;
  if (p->type() == element_type::ARRAY) {
    if (!Child(*p, path.back())) return nullptr;
  } else if (p->type() != element_type::OBJECT) {
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
  element parsed;
  std::string_view kept;  // the pool's copy of the text, which the edit takes as its own
  if (parsers_->impl().Parse(TrimJson(text), parsed, &kept) != simdjson::SUCCESS) return false;
  if (object_only && parsed.type() != element_type::OBJECT) return false;
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
  std::optional<element> start = w.Resolve(under);
  if (!start) return;
  JsonPath path = under;
  std::function<void(const element&)> visit = [&](const element& e) {
    if (e.type() == element_type::STRING) {
      fn(path, e.get_string().value_unsafe());
    } else {
      w.Children(e, path, visit);
    }
  };
  visit(*start);
}

void JsonDoc::ForEachField(const JsonPath& under, const std::function<void(const JsonPath&, JsonType)>& fn) const {
  const Walker w{*this};
  std::optional<element> start = w.Resolve(under);
  if (!start || start->type() != element_type::OBJECT) return;
  JsonPath path = under;
  std::function<void(const element&)> visit = [&](const element& e) {
    const JsonType t = TypeOf(e);
    fn(path, t);
    if (t == JsonType::kObject) w.Children(e, path, visit);
  };
  w.Children(*start, path, visit);
}

void JsonDoc::Write(std::string& out) const {
  Walker{*this}.WriteAt({}, 0, LoadElement(root_), text_, text_breaks_, out);
}

}  // namespace sluice
