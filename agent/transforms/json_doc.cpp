#include "agent/transforms/json_doc.h"

#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <deque>
#include <type_traits>

#include "core/util/utf8.h"

namespace sluice {

using simdjson::dom::element;
using simdjson::dom::element_type;

static_assert(sizeof(element) <= 16 && alignof(element) <= 8);
static_assert(std::is_trivially_copyable_v<element>);

struct JsonParsers::Impl {
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers;
  size_t used = 0;

  simdjson::dom::parser& Next() {
    if (used == parsers.size()) parsers.push_back(std::make_unique<simdjson::dom::parser>());
    return *parsers[used++];
  }
};

JsonParsers::JsonParsers() : impl_(std::make_unique<Impl>()) {}
JsonParsers::~JsonParsers() = default;
void JsonParsers::Reset() { impl_->used = 0; }

struct JsonDoc::Edit {
  JsonPath path;
  bool remove = false;
  std::string raw;
  // The raw text parsed, once something looks inside it.
  mutable bool parsed = false;
  mutable element parsed_root;
};

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

template <class T>
void AppendNumber(std::string& out, T v) {
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
}

// Writes a subtree that no edit touches.
void WritePlain(const element& e, std::string& out) {
  switch (e.type()) {
    case element_type::OBJECT: {
      out += '{';
      bool first = true;
      const simdjson::dom::object obj = e.get_object().value_unsafe();  // a copy: the result is a temporary
      for (simdjson::dom::key_value_pair kv : obj) {
        if (!first) out += ',';
        first = false;
        AppendString(out, kv.key);
        out += ':';
        WritePlain(kv.value, out);
      }
      out += '}';
      return;
    }
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      const simdjson::dom::array arr = e.get_array().value_unsafe();  // a copy: the result is a temporary
      for (element x : arr) {
        if (!first) out += ',';
        first = false;
        WritePlain(x, out);
      }
      out += ']';
      return;
    }
    case element_type::STRING:
      AppendString(out, e.get_string().value_unsafe());
      return;
    case element_type::INT64:
      AppendNumber(out, e.get_int64().value_unsafe());
      return;
    case element_type::UINT64:
      AppendNumber(out, e.get_uint64().value_unsafe());
      return;
    case element_type::DOUBLE:
      AppendNumber(out, e.get_double().value_unsafe());
      return;
    case element_type::BOOL:
      out += e.get_bool().value_unsafe() ? "true" : "false";
      return;
    case element_type::NULL_VALUE:
      out += "null";
      return;
  }
}

// A scalar's text as Find reports it.
std::string ScalarText(const element& e) {
  switch (e.type()) {
    case element_type::STRING:
      return std::string(e.get_string().value_unsafe());
    case element_type::OBJECT:
    case element_type::ARRAY:
      return {};
    default: {
      std::string out;
      WritePlain(e, out);
      return out;
    }
  }
}

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

template <class P>
bool IsPrefix(const P& prefix, const JsonPath& path) {
  if (prefix.size() > path.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != path[i]) return false;
  }
  return true;
}

}  // namespace

// The edits seen from a path: shared by Find, Write and the visitors.
struct JsonDoc::Walker {
  const JsonDoc& doc;

  template <class P>
  const Edit* At(const P& path) const {
    for (const auto& e : doc.edits_) {
      if (e->path.size() == path.size() && IsPrefix(path, e->path)) return e.get();
    }
    return nullptr;
  }
  template <class P>
  bool AnyBelow(const P& path) const {
    for (const auto& e : doc.edits_) {
      if (e->path.size() > path.size() && IsPrefix(path, e->path)) return true;
    }
    return false;
  }

  std::optional<element> Parsed(const Edit& e) const {
    if (!e.parsed) {
      simdjson::dom::parser& p = doc.parsers_->impl().Next();
      if (p.parse(e.raw.data(), e.raw.size()).get(e.parsed_root) != simdjson::SUCCESS) return std::nullopt;
      e.parsed = true;
    }
    return e.parsed_root;
  }

  // The element at `path`, edits applied.
  std::optional<element> Resolve(const JsonPath& path) const {
    element cur = LoadElement(doc.root_);
    std::vector<std::string_view> prefix;
    for (const std::string& key : path) {
      prefix.push_back(key);
      if (const Edit* e = At(prefix)) {
        if (e->remove) return std::nullopt;
        std::optional<element> p = Parsed(*e);
        if (!p) return std::nullopt;
        cur = *p;
        continue;
      }
      std::optional<element> c = Child(cur, key);
      if (!c) return std::nullopt;
      cur = *c;
    }
    return cur;
  }

  // Calls fn(key, child) for the effective children of `e` at `path`.
  void Children(const element& e, JsonPath& path, const std::function<void(const element&)>& fn) const {
    if (e.type() == element_type::OBJECT) {
      const simdjson::dom::object obj = e.get_object().value_unsafe();
      for (simdjson::dom::key_value_pair kv : obj) {
        path.emplace_back(kv.key);
        if (const Edit* ed = At(path)) {
          if (!ed->remove) {
            if (std::optional<element> p = Parsed(*ed)) fn(*p);
          }
        } else {
          fn(kv.value);
        }
        path.pop_back();
      }
      for (const auto& ed : doc.edits_) {
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
        if (const Edit* ed = At(path)) {
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

  void Write(const element& e, std::vector<std::string_view>& path, std::deque<std::string>& index_names,
             std::string& out) const {
    if (!AnyBelow(path)) {
      WritePlain(e, out);
      return;
    }
    const auto write_child = [&](std::string_view key, const element& child, bool in_object, bool& first) {
      path.push_back(key);
      const Edit* ed = At(path);
      if (ed == nullptr || !ed->remove) {
        if (!first) out += ',';
        first = false;
        if (in_object) {
          AppendString(out, key);
          out += ':';
        }
        if (ed == nullptr) {
          Write(child, path, index_names, out);
        } else {
          WriteEdit(*ed, path, index_names, out);
        }
      }
      path.pop_back();
    };
    bool first = true;
    if (e.type() == element_type::OBJECT) {
      const simdjson::dom::object obj = e.get_object().value_unsafe();
      out += '{';
      for (simdjson::dom::key_value_pair kv : obj) write_child(kv.key, kv.value, true, first);
      for (const auto& ed : doc.edits_) {
        if (ed->remove || ed->path.size() != path.size() + 1 || !IsPrefix(path, ed->path)) continue;
        element existing;
        if (obj.at_key(ed->path.back()).get(existing) == simdjson::SUCCESS) continue;
        if (!first) out += ',';
        first = false;
        AppendString(out, ed->path.back());
        out += ':';
        path.push_back(ed->path.back());
        WriteEdit(*ed, path, index_names, out);
        path.pop_back();
      }
      out += '}';
    } else if (e.type() == element_type::ARRAY) {
      out += '[';
      size_t i = 0;
      const simdjson::dom::array arr = e.get_array().value_unsafe();  // a copy: the result is a temporary
      for (element x : arr) {
        // The index's name must outlive its use as a path component.
        if (index_names.size() <= path.size()) index_names.resize(path.size() + 1);
        std::string& name = index_names[path.size()];
        name = std::to_string(i++);
        write_child(name, x, false, first);
      }
      out += ']';
    } else {
      WritePlain(e, out);
    }
  }

  void WriteEdit(const Edit& ed, std::vector<std::string_view>& path, std::deque<std::string>& index_names,
                 std::string& out) const {
    if (AnyBelow(path)) {
      if (std::optional<element> p = Parsed(ed)) {
        Write(*p, path, index_names, out);
        return;
      }
    }
    out += ed.raw;
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
  const simdjson::error_code err = parsers.impl().Next().parse(text.data(), text.size()).get(root);
  if (err != simdjson::SUCCESS) return Status::InvalidArgument(simdjson::error_message(err));
  std::memcpy(doc.root_.data(), static_cast<const void*>(&root), sizeof root);
  return doc;
}

std::optional<JsonValue> JsonDoc::Find(const JsonPath& path) const {
  const Walker w{*this};
  std::optional<element> e = w.Resolve(path);
  if (!e) return std::nullopt;
  JsonValue v;
  v.type = TypeOf(*e);
  if (v.type == JsonType::kObject || v.type == JsonType::kArray) {
    std::vector<std::string_view> p(path.begin(), path.end());
    std::deque<std::string> index_names;  // stable references: path views into it
    w.Write(*e, p, index_names, v.text);
  } else {
    v.text = ScalarText(*e);
  }
  return v;
}

bool JsonDoc::Has(const JsonPath& path) const { return Walker{*this}.Resolve(path).has_value(); }

std::optional<JsonType> JsonDoc::TypeAt(const JsonPath& path) const {
  std::optional<element> e = Walker{*this}.Resolve(path);
  if (!e) return std::nullopt;
  return TypeOf(*e);
}

bool JsonDoc::Set(const JsonPath& path, std::string raw_json) {
  if (path.empty()) return false;
  const Walker w{*this};
  const JsonPath parent(path.begin(), path.end() - 1);
  std::optional<element> p = w.Resolve(parent);
  if (!p) return false;
  if (p->type() == element_type::ARRAY) {
    if (!Child(*p, path.back())) return false;
  } else if (p->type() != element_type::OBJECT) {
    return false;
  }
  std::erase_if(edits_, [&](const std::shared_ptr<Edit>& e) { return IsPrefix(path, e->path); });
  auto e = std::make_shared<Edit>();
  e->path = path;
  e->raw = std::move(raw_json);
  edits_.push_back(std::move(e));
  return true;
}

bool JsonDoc::SetParsed(const JsonPath& path, std::string_view text, bool object_only) {
  element parsed;
  if (parsers_->impl().Next().parse(text.data(), text.size()).get(parsed) != simdjson::SUCCESS) return false;
  if (object_only && parsed.type() != element_type::OBJECT) return false;
  if (!Set(path, std::string(text))) return false;
  const Edit& e = *edits_.back();
  e.parsed_root = parsed;
  e.parsed = true;
  return true;
}

bool JsonDoc::Remove(const JsonPath& path) {
  if (path.empty() || !Has(path)) return false;
  std::erase_if(edits_, [&](const std::shared_ptr<Edit>& e) { return IsPrefix(path, e->path); });
  auto e = std::make_shared<Edit>();
  e->path = path;
  e->remove = true;
  edits_.push_back(std::move(e));
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
  std::vector<std::string_view> path;
  std::deque<std::string> index_names;  // stable references: path views into it
  Walker{*this}.Write(LoadElement(root_), path, index_names, out);
}

}  // namespace sluice
