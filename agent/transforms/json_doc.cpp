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

namespace {
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
// after the first records, reading and editing one allocates nothing.
struct JsonParsers::Impl {
  // A path component in a document's edit tree: the edit made at the path
  // it ends (null when edits were made only below it), and the components
  // that follow it, a list by index.
  struct EditNode {
    std::string key;  // an object's key, or an array element's index in decimal
    const JsonDoc::Edit* edit = nullptr;
    JsonDoc::NodeId first_child = JsonDoc::kNoNode;
    JsonDoc::NodeId last_child = JsonDoc::kNoNode;  // where the next key is appended
    JsonDoc::NodeId next_sibling = JsonDoc::kNoNode;
    uint32_t seq = 0;  // when `edit` was made: the order of the members edits add
  };
  std::vector<EditNode> edit_nodes;  // by index: the vector grows while documents hold ids
  // Write's and the visitors' lists of the members edits add, one range per level.
  std::vector<JsonDoc::NodeId> added;
  size_t edit_nodes_used = 0;
  JsonDoc::NodeId NewEditNode(std::string_view key) {
    if (edit_nodes_used == edit_nodes.size()) edit_nodes.emplace_back();
    const auto id = static_cast<JsonDoc::NodeId>(edit_nodes_used++);
    EditNode& n = edit_nodes[id];
    n.key.assign(key);  // reuses the string's capacity
    n.edit = nullptr;
    n.first_child = n.last_child = n.next_sibling = JsonDoc::kNoNode;
    n.seq = 0;
    return id;
  }
  // Makes the edit node for `key` the last child of `parent`.
  JsonDoc::NodeId AddEditNode(JsonDoc::NodeId parent, std::string_view key) {
    const JsonDoc::NodeId id = NewEditNode(key);
    EditNode& p = edit_nodes[parent];
    if (p.last_child == JsonDoc::kNoNode) {
      p.first_child = id;
    } else {
      edit_nodes[p.last_child].next_sibling = id;
    }
    p.last_child = id;
    return id;
  }

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
  JsonDoc::Edit& NewEdit(bool remove, std::string_view raw, bool copy = true) {
    if (edits_used == edits.size()) edits.push_back(std::make_unique<JsonDoc::Edit>());
    JsonDoc::Edit& e = *edits[edits_used++];
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
    edit_nodes_used = 0;
    texts_used = 0;
  }
};

std::string_view TrimJson(std::string_view t) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  size_t b = 0;
  while (b < t.size() && space(t[b])) ++b;
  size_t e = t.size();
  while (e > b && space(t[e - 1])) --e;
  return t.substr(b, e - b);
}

JsonParsers::JsonParsers() : impl_(std::make_unique<Impl>()) {}
JsonParsers::~JsonParsers() = default;
void JsonParsers::Reset() { impl_->Reset(); }

namespace {

void AppendString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
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

}  // namespace

// The document seen through its edits: shared by Find, the edits, Write and
// the visitors. An edit node id goes along with each value: the node of the
// path that reached the value, whose children are the edits below it
// (kNoNode: none).
struct JsonDoc::Walker {
  explicit Walker(const JsonDoc& d) : doc(d), pool_(d.parsers_->impl()) {}
  const JsonDoc& doc;
  JsonParsers::Impl& pool_;

  using EditNode = JsonParsers::Impl::EditNode;
  JsonParsers::Impl& pool() const { return pool_; }
  const EditNode& node(NodeId id) const { return pool().edit_nodes[id]; }

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

  // The edit node for `key` among the children of `parent`; kNoNode when there is none.
  NodeId EditChild(NodeId parent, std::string_view key) const {
    if (parent == kNoNode) return kNoNode;
    for (NodeId c = node(parent).first_child; c != kNoNode; c = node(c).next_sibling) {
      if (SameKey(node(c).key, key)) return c;
    }
    return kNoNode;
  }

  const JsonNode* Parsed(const Edit& e) const {
    if (!e.parsed) {
      std::string_view error;
      if (!pool().Parse(e.Raw(), e.parsed_root, error)) return nullptr;
      e.parsed = true;
    }
    return e.parsed_root;
  }

  // The value at the first `len` components of `path`, edits applied, and
  // the edit node there (`at`, kNoNode when no edit reaches so far); null
  // when there is no value.
  // `string_edit`, when given, gets a string that SetString set at `path`
  // itself, which is then not parsed (cur is returned as it was before it).
  const JsonNode* Resolve(const JsonPath& path, size_t len, NodeId& at, const Edit** string_edit = nullptr) const {
    const JsonNode* cur = doc.root_;
    NodeId n = doc.edits_;
    for (size_t i = 0; i < len; ++i) {
      n = EditChild(n, path[i]);
      const Edit* e = n == kNoNode ? nullptr : node(n).edit;
      if (e != nullptr) {
        if (e->remove) return nullptr;
        if (string_edit != nullptr && e->is_string && i + 1 == len) {
          *string_edit = e;
          at = n;
          return cur;
        }
        cur = Parsed(*e);
      } else {
        cur = Child(cur, path[i]);
      }
      if (cur == nullptr) return nullptr;
    }
    at = n;
    return cur;
  }
  const JsonNode* Resolve(const JsonPath& path) const {
    NodeId at = kNoNode;
    return Resolve(path, path.size(), at);
  }

  // The edit made at exactly `path`; null when there is none.
  const Edit* At(const JsonPath& path) const {
    NodeId n = doc.edits_;
    for (const std::string& key : path) {
      n = EditChild(n, key);
      if (n == kNoNode) return nullptr;
    }
    return n == kNoNode ? nullptr : node(n).edit;
  }

  // Pushes onto the pool's list the edit nodes below `n` whose edits add a
  // member (`present(c)`: the object has the key of `c` already), in the
  // order the edits were made; returns where they begin. The caller pops
  // them (resize to the start) once written; a nested call pushes above.
  template <class Present>
  size_t PushAdded(NodeId n, const Present& present) const {
    std::vector<NodeId>& s = pool().added;
    const size_t begin = s.size();
    for (NodeId c = node(n).first_child; c != kNoNode; c = node(c).next_sibling) {
      const Edit* ed = node(c).edit;
      if (ed == nullptr || ed->remove || present(c)) continue;
      s.push_back(c);
      for (size_t j = s.size() - 1; j > begin && node(s[j - 1]).seq > node(s[j]).seq; --j) std::swap(s[j - 1], s[j]);
    }
    return begin;
  }

  // Calls fn(child, its edit node) for the effective children of `e`, whose edit node is `n`.
  void Children(const JsonNode* e, NodeId n, JsonPath& path,
                const std::function<void(const JsonNode*, NodeId)>& fn) const {
    const auto visit = [&](const JsonNode* c, NodeId cn) {
      const Edit* ed = cn == kNoNode ? nullptr : node(cn).edit;
      if (ed == nullptr) {
        fn(c, cn);
      } else if (!ed->remove) {
        if (const JsonNode* p = Parsed(*ed)) fn(p, cn);
      }
    };
    if (e->type == JsonType::kObject) {
      const JsonNode* c = e->first_child();
      for (uint32_t m = 0; m < e->count; ++m, c = c->next_sibling()) {
        path.emplace_back(c->key);
        visit(c, EditChild(n, c->key));
        path.pop_back();
      }
      if (n == kNoNode) return;
      std::vector<NodeId>& added = pool().added;
      const size_t begin = PushAdded(n, [&](NodeId a) { return Member(e, node(a).key) != nullptr; });
      const size_t end = added.size();
      for (size_t i = begin; i < end; ++i) {
        path.push_back(node(added[i]).key);
        visit(nullptr, added[i]);
        path.pop_back();
      }
      added.resize(begin);
    } else if (e->type == JsonType::kArray) {
      const JsonNode* c = FirstChild(e);
      for (uint32_t i = 0; c != nullptr && i < e->count; ++i, c = c->next_sibling()) {
        path.push_back(std::to_string(i));
        visit(c, EditChild(n, path.back()));
        path.pop_back();
      }
    }
  }

  // Writes `e`, whose edit node is `n`, with the edits below `n` spliced in;
  // what no edit touches is copied as it was written.
  //
  // `breaks`: the text may hold line breaks between tokens (known per parsed
  // text), which become spaces; without, what is copied needs no look.
  void Write(const JsonNode* e, bool breaks, NodeId n, std::string& out) const {
    if (n == kNoNode || node(n).first_child == kNoNode ||
        (e->type != JsonType::kObject && e->type != JsonType::kArray)) {
      Append(out, e->text, breaks);
      return;
    }
    bool sep = false;
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
    // A child that an edit node names: the edit's value, or the child with
    // the edits below it.
    const auto write_child = [&](std::string_view key_text, const JsonNode* child, NodeId cn) {
      const Edit* ed = node(cn).edit;
      flush_run();  // a removed child ends the run too: the text after it is copied apart
      if (ed != nullptr && ed->remove) return;
      if (sep) out += ',';
      sep = true;
      if (!key_text.empty()) {
        out += key_text;
        out += ':';
      }
      if (ed != nullptr) {
        WriteEdit(*ed, cn, out);
      } else {
        Write(child, breaks, cn, out);
      }
    };
    // The edit nodes below `n`, a few, in an array: a child whose key is
    // none of theirs is copied without a look at them. Left uninitialized:
    // the first `count` are set. More than that: looked up one by one.
    constexpr size_t kMaxKeys = 8;
    struct Key {  // trivial, unlike std::string_view: the array is not cleared first
      const char* data;
      size_t size;
    };
    NodeId named[kMaxKeys];  // NOLINT: small arrays on the stack
    Key keys[kMaxKeys];      // NOLINT: their keys, compared with each member's
    size_t count = 0;
    bool more = false;
    for (NodeId c = node(n).first_child; c != kNoNode; c = node(c).next_sibling) {
      if (count == kMaxKeys) {
        more = true;
        break;
      }
      keys[count] = Key{node(c).key.data(), node(c).key.size()};
      named[count++] = c;
    }
    if (e->type == JsonType::kObject) {
      bool found[kMaxKeys] = {};  // a member of the object has the key of named[j]
      out += '{';
      const JsonNode* c = e->first_child();
      for (uint32_t m = 0; m < e->count; ++m, c = c->next_sibling()) {
        NodeId cn = kNoNode;
        if (more) {
          cn = EditChild(n, c->key);
        } else {
          for (size_t j = 0; j < count; ++j) {
            if (SameKey(std::string_view(keys[j].data, keys[j].size), c->key)) {
              cn = named[j];
              found[j] = true;
              break;
            }
          }
        }
        if (cn == kNoNode) {
          extend_run(c->key_raw.data(), EndOf(c->text));
          continue;
        }
        write_child(c->key_raw, c, cn);
      }
      flush_run();
      // Members the edits add, in the order they were made. A few edit
      // nodes (the usual case) are sorted here on the stack, with what the
      // member loop found: this is every record's write, and the pool's
      // list (PushAdded) cost it ~10 ns (bench/README, transforms).
      std::vector<NodeId>& added = pool().added;
      size_t begin = added.size();
      NodeId few[kMaxKeys];  // NOLINT: a small array on the stack
      size_t k = 0;
      if (more) {
        begin = PushAdded(n, [&](NodeId a) { return Member(e, node(a).key) != nullptr; });
        k = added.size() - begin;
      } else {
        for (size_t j = 0; j < count; ++j) {
          const EditNode& a = node(named[j]);
          if (found[j] || a.edit == nullptr || a.edit->remove) continue;
          size_t i = k++;
          for (; i > 0 && node(few[i - 1]).seq > a.seq; --i) few[i] = few[i - 1];
          few[i] = named[j];
        }
      }
      for (size_t i = 0; i < k; ++i) {
        const NodeId id = more ? added[begin + i] : few[i];  // `added` may grow below: indexed again
        if (sep) out += ',';
        sep = true;
        AppendString(out, node(id).key);
        out += ':';
        WriteEdit(*node(id).edit, id, out);
      }
      added.resize(begin);
      out += '}';
    } else {
      // The elements the edit nodes name, by index (none for a key that is not one).
      size_t index[kMaxKeys];  // NOLINT: a small array on the stack
      for (size_t j = 0; j < count; ++j) index[j] = ParseIndex(node(named[j]).key).value_or(SIZE_MAX);
      out += '[';
      const JsonNode* c = FirstChild(e);
      for (uint32_t i = 0; c != nullptr && i < e->count; ++i, c = c->next_sibling()) {
        NodeId cn = kNoNode;
        if (more) {
          cn = EditChild(n, std::to_string(i));
        } else {
          for (size_t j = 0; j < count; ++j) {
            if (index[j] == i) {
              cn = named[j];
              break;
            }
          }
        }
        if (cn == kNoNode) {
          extend_run(c->text.data(), EndOf(c->text));
          continue;
        }
        write_child({}, c, cn);
      }
      flush_run();
      out += ']';
    }
  }

  // An edit's value, with the edits below its node `n` applied.
  void WriteEdit(const Edit& ed, NodeId n, std::string& out) const {
    if (node(n).first_child != kNoNode) {
      if (const JsonNode* p = Parsed(ed)) {
        Write(p, ed.breaks, n, out);
        return;
      }
    }
    Append(out, ed.Raw(), ed.breaks);
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

namespace {
// Copies the edit node `from` and everything below it; the copy's id. The
// edits themselves are shared: they never change.
JsonDoc::NodeId CopyEditNodes(JsonParsers::Impl& pool, JsonDoc::NodeId from) {
  const JsonDoc::NodeId to = pool.NewEditNode({});  // may grow the vector: `from`'s key is copied after
  pool.edit_nodes[to].key = pool.edit_nodes[from].key;
  pool.edit_nodes[to].edit = pool.edit_nodes[from].edit;
  pool.edit_nodes[to].seq = pool.edit_nodes[from].seq;
  JsonDoc::NodeId last = JsonDoc::kNoNode;
  for (JsonDoc::NodeId c = pool.edit_nodes[from].first_child; c != JsonDoc::kNoNode;
       c = pool.edit_nodes[c].next_sibling) {
    const JsonDoc::NodeId copy = CopyEditNodes(pool, c);  // may grow the vector: no references held across
    if (last == JsonDoc::kNoNode) {
      pool.edit_nodes[to].first_child = copy;
    } else {
      pool.edit_nodes[last].next_sibling = copy;
    }
    last = copy;
  }
  pool.edit_nodes[to].last_child = last;
  return to;
}
}  // namespace

JsonDoc::JsonDoc(const JsonDoc& other)
    : parsers_(other.parsers_),
      root_(other.root_),
      text_breaks_(other.text_breaks_),
      edited_(other.edited_),
      seq_(other.seq_) {
  if (other.edits_ != kNoNode) edits_ = CopyEditNodes(parsers_->impl(), other.edits_);
}

JsonDoc& JsonDoc::operator=(const JsonDoc& other) {
  if (this != &other) *this = JsonDoc(other);
  return *this;
}

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
  NodeId at = kNoNode;
  const Edit* string_edit = nullptr;
  const JsonNode* e = w.Resolve(path, path.size(), at, &string_edit);
  if (e == nullptr) return std::nullopt;
  // A string set by SetString is read as it was given.
  if (string_edit != nullptr) return JsonValue{JsonType::kString, string_edit->text};
  JsonValue v;
  v.type = e->type;
  if (v.type == JsonType::kString) {
    v.text = e->str;
  } else if (v.type == JsonType::kObject || v.type == JsonType::kArray) {
    std::string& rendered = w.pool().NewText();
    w.Write(e, /*breaks=*/true, at, rendered);
    v.text = rendered;
  } else {
    v.text = e->text;  // as written in the record: a number keeps its spelling
  }
  return v;
}

bool JsonDoc::Has(const JsonPath& path) const {
  const Walker w{*this};
  if (const Edit* e = w.At(path)) return !e->remove;
  return w.Resolve(path) != nullptr;
}

std::optional<JsonType> JsonDoc::TypeAt(const JsonPath& path) const {
  const Walker w{*this};
  if (const Edit* e = w.At(path); e != nullptr && e->is_string) return JsonType::kString;
  const JsonNode* e = w.Resolve(path);
  if (e == nullptr) return std::nullopt;
  return e->type;
}

bool JsonDoc::Set(const JsonPath& path, std::string_view raw_json) {
  return Place(path, raw_json, /*remove=*/false) != nullptr;
}

JsonDoc::Edit* JsonDoc::Place(const JsonPath& path, std::string_view raw_json, bool remove, bool copy) {
  if (path.empty()) return nullptr;
  const Walker w{*this};
  JsonParsers::Impl& pool = w.pool();
  // One walk: the path's edit nodes as far as there are some (the others are
  // made once the parent is known to be there), and the parent's value.
  // A removal's caller found the value already.
  constexpr size_t kInline = 8;
  NodeId ids_inline[kInline];  // NOLINT: a small array on the stack
  std::vector<NodeId> ids_heap;
  NodeId* ids = ids_inline;
  if (path.size() > kInline) {
    ids_heap.resize(path.size());
    ids = ids_heap.data();
  }
  const JsonNode* cur = root_;
  NodeId n = edits_;
  for (size_t i = 0; i < path.size(); ++i) {
    n = w.EditChild(n, path[i]);
    ids[i] = n;
    if (remove || i + 1 == path.size()) continue;
    const Edit* e = n == kNoNode ? nullptr : w.node(n).edit;
    if (e != nullptr) {
      if (e->remove) return nullptr;
      cur = w.Parsed(*e);
    } else {
      cur = w.Child(cur, path[i]);
    }
    if (cur == nullptr) return nullptr;
  }
  if (!remove) {
    if (cur->type == JsonType::kArray) {
      if (w.Child(cur, path.back()) == nullptr) return nullptr;  // an array's elements are replaced, not added
    } else if (cur->type != JsonType::kObject) {
      return nullptr;
    }
  }
  if (edits_ == kNoNode) edits_ = pool.NewEditNode({});
  NodeId parent = edits_;
  for (size_t i = 0; i < path.size(); ++i) {
    if (ids[i] == kNoNode) ids[i] = pool.AddEditNode(parent, path[i]);
    parent = ids[i];
  }
  Edit* e = &pool.NewEdit(remove, raw_json, copy);
  // An edit here replaces the earlier ones here and below.
  JsonParsers::Impl::EditNode& at = pool.edit_nodes[parent];
  at.edit = e;
  at.first_child = at.last_child = kNoNode;
  at.seq = ++seq_;
  edited_ = true;
  return e;
}

bool JsonDoc::SetString(const JsonPath& path, std::string_view text) {
  Edit* e = Place(path, {}, /*remove=*/false);
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
  Edit* e = Place(path, kept, /*remove=*/false, /*copy=*/false);
  if (e == nullptr) return false;
  e->parsed_root = parsed;
  e->parsed = true;
  return true;
}

bool JsonDoc::Remove(const JsonPath& path) {
  if (path.empty() || !Has(path)) return false;
  return Place(path, {}, /*remove=*/true) != nullptr;
}

void JsonDoc::ForEachString(const JsonPath& under,
                            const std::function<void(const JsonPath&, std::string_view)>& fn) const {
  const Walker w{*this};
  NodeId at = kNoNode;
  const JsonNode* start = w.Resolve(under, under.size(), at);
  if (start == nullptr) return;
  JsonPath path = under;
  std::function<void(const JsonNode*, NodeId)> visit = [&](const JsonNode* e, NodeId n) {
    if (e->type == JsonType::kString) {
      fn(path, e->str);
    } else {
      w.Children(e, n, path, visit);
    }
  };
  visit(start, at);
}

void JsonDoc::ForEachField(const JsonPath& under, const std::function<void(const JsonPath&, JsonType)>& fn) const {
  const Walker w{*this};
  NodeId at = kNoNode;
  const JsonNode* start = w.Resolve(under, under.size(), at);
  if (start == nullptr || start->type != JsonType::kObject) return;
  JsonPath path = under;
  std::function<void(const JsonNode*, NodeId)> visit = [&](const JsonNode* e, NodeId n) {
    fn(path, e->type);
    if (e->type == JsonType::kObject) w.Children(e, n, path, visit);
  };
  w.Children(start, at, path, visit);
}

void JsonDoc::Write(std::string& out) const { Walker{*this}.Write(root_, text_breaks_, edits_, out); }

}  // namespace sluice
