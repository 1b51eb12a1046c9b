#include "agent/transforms/json_index.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace sluice {

namespace od = simdjson::ondemand;
using simdjson::error_code;

const size_t JsonIndexer::kPadding = simdjson::SIMDJSON_PADDING;

struct JsonIndexer::Impl {
  od::parser parser;
  // For documents that are one scalar (a value an edit set, read again): On-Demand
  // does not check what follows a scalar at the root ("falsee" passed as false).
  std::unique_ptr<simdjson::dom::parser> scalar_parser;
};

JsonIndexer::JsonIndexer() : impl_(std::make_unique<Impl>()) {}
JsonIndexer::~JsonIndexer() = default;

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A token as On-Demand gives it runs to the next token: the spaces after it are cut.
std::string_view TrimRight(std::string_view t) {
  while (!t.empty() && IsSpace(t.back())) t.remove_suffix(1);
  return t;
}

// Fills nodes[at] (made by the caller) and its subtree from `v`, and checks
// every value in it the way the DOM parser would have: On-Demand validates
// only what is read, so everything is read.
class Builder {
 public:
  explicit Builder(std::vector<JsonNode>& nodes) : nodes_(nodes) {}

  // Checks `v` as Value does, without making nodes; sets `end` to where its text ends.
  error_code Check(od::value& v, size_t depth, const char*& end) {
    if (depth > simdjson::DEFAULT_MAX_DEPTH) return simdjson::DEPTH_ERROR;
    od::json_type t;
    if (const error_code e = v.type().get(t)) return e;
    const std::string_view token = v.raw_json_token();
    const std::string_view text = TrimRight(token);
    end = text.data() + text.size();
    switch (t) {
      case od::json_type::object: {
        od::object obj;
        if (const error_code e = v.get_object().get(obj)) return e;
        const char* last_end = token.data() + 1;
        for (simdjson::simdjson_result<od::field> member : obj) {
          if (const error_code e = member.error()) return e;
          od::field& f = member.value_unsafe();
          std::string_view key_raw;
          if (const error_code e = Key(f, key_raw, nullptr)) return e;
          if (const error_code e = Check(f.value(), depth + 1, last_end)) return e;
        }
        return CloseAt(last_end, '}', end);
      }
      case od::json_type::array: {
        od::array arr;
        if (const error_code e = v.get_array().get(arr)) return e;
        const char* last_end = token.data() + 1;
        for (simdjson::simdjson_result<od::value> element : arr) {
          if (const error_code e = element.error()) return e;
          if (const error_code e = Check(element.value_unsafe(), depth + 1, last_end)) return e;
        }
        return CloseAt(last_end, ']', end);
      }
      case od::json_type::string:
      case od::json_type::number:
      case od::json_type::boolean:
      case od::json_type::null:
        return CheckScalar(v, t, text, nullptr);
    }
    return simdjson::INCORRECT_TYPE;
  }

  // `depth`: the value's nesting level, the root's being 1. Deeper than the
  // DOM parser's limit is refused as it refuses it (On-Demand does not count).
  error_code Value(od::value& v, size_t at, size_t depth) {
    if (depth > simdjson::DEFAULT_MAX_DEPTH) return simdjson::DEPTH_ERROR;
    od::json_type t;
    if (const error_code e = v.type().get(t)) return e;
    const std::string_view token = v.raw_json_token();
    switch (t) {
      case od::json_type::object:
        return Object(v, token, at, depth);
      case od::json_type::array:
        return Array(v, token, at, depth, /*elements=*/false);
      case od::json_type::string:
        return CheckScalar(v, t, Scalar(at, JsonType::kString, token).text, &nodes_[at].str);
      case od::json_type::number:
        Scalar(at, JsonType::kNumber, token);
        return CheckScalar(v, t, {}, nullptr);
      case od::json_type::boolean:
        Scalar(at, JsonType::kBool, token);
        return CheckScalar(v, t, {}, nullptr);
      case od::json_type::null:
        Scalar(at, JsonType::kNull, token);
        return CheckScalar(v, t, {}, nullptr);
    }
    return simdjson::INCORRECT_TYPE;
  }

 private:
  // Reads a scalar as far as validating it takes: a string's escapes by
  // unescaping it (`str`, when given, gets its unescaped bytes; `text` is the
  // string as written), a number by parsing it, true, false and null by their
  // letters. Without a backslash a string has nothing to unescape, and the
  // parser's first stage has checked its bytes (UTF-8, no control characters).
  static error_code CheckScalar(od::value& v, od::json_type t, std::string_view text, std::string_view* str) {
    switch (t) {
      case od::json_type::string: {
        const std::string_view inner = text.substr(1, text.size() - 2);
        if (std::memchr(inner.data(), '\\', inner.size()) == nullptr) {
          if (str != nullptr) *str = inner;
          return simdjson::SUCCESS;
        }
        std::string_view s;
        if (const error_code e = v.get_string().get(s)) return e;
        if (str != nullptr) *str = s;
        return simdjson::SUCCESS;
      }
      case od::json_type::number: {
        od::number n;
        return v.get_number().get(n);
      }
      case od::json_type::boolean: {
        bool b = false;
        return v.get_bool().get(b);
      }
      case od::json_type::null: {
        bool is_null = false;
        if (const error_code e = v.is_null().get(is_null)) return e;
        return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
      }
      default:
        return simdjson::INCORRECT_TYPE;
    }
  }

  // The member's key as written and (when `key` is given) unescaped. The key
  // runs from its opening quote to the closing one, which is found back from
  // the value: only the ':' and spaces are between. A key with a backslash
  // is unescaped even when only checked, which checks its escapes.
  static error_code Key(od::field& f, std::string_view& key_raw, std::string_view* key) {
    const char* key_begin = reinterpret_cast<const char*>(f.key().raw()) - 1;
    const char* key_end = f.value().raw_json_token().data() - 1;
    while (*key_end != ':') --key_end;
    --key_end;
    while (IsSpace(*key_end)) --key_end;
    const auto key_size = static_cast<size_t>(key_end - key_begin) + 1;
    key_raw = std::string_view(key_begin, key_size);
    std::string_view unescaped(key_begin + 1, key_size - 2);
    if (std::memchr(unescaped.data(), '\\', unescaped.size()) != nullptr) {
      if (const error_code e = f.unescaped_key().get(unescaped)) return e;
    }
    if (key != nullptr) *key = unescaped;
    return simdjson::SUCCESS;
  }

  // A container's text ends at the bracket after its last child (or after
  // its opening bracket when it has none), past spaces only.
  static error_code CloseAt(const char* last_end, char bracket, const char*& end) {
    while (IsSpace(*last_end)) ++last_end;
    if (*last_end != bracket) return simdjson::TAPE_ERROR;  // not expected: the iteration checked the structure
    end = last_end + 1;
    return simdjson::SUCCESS;
  }

  JsonNode& Scalar(size_t at, JsonType type, std::string_view token) {
    JsonNode& n = nodes_[at];
    n.type = type;
    n.text = TrimRight(token);
    return n;
  }

  error_code Object(od::value& v, std::string_view token, size_t at, size_t depth) {
    od::object obj;
    if (const error_code e = v.get_object().get(obj)) return e;
    const char* last_end = token.data() + 1;  // after the '{'
    uint32_t count = 0;
    for (simdjson::simdjson_result<od::field> member : obj) {
      if (const error_code e = member.error()) return e;
      // Not moved out of the result: that copy per member cost ~15% of an index (perf).
      od::field& f = member.value_unsafe();
      const size_t child = nodes_.size();
      od::value& fv = f.value();
      {
        JsonNode& n = nodes_.emplace_back();
        if (const error_code e = Key(f, n.key_raw, &n.key)) return e;
      }
      if (const error_code e = Value(fv, child, depth + 1)) return e;
      last_end = nodes_[child].text.data() + nodes_[child].text.size();
      ++count;
    }
    return Close(at, JsonType::kObject, token, last_end, '}', count);
  }

  // `elements`: make nodes for the elements; else they are only checked
  // (JsonNode::elements_indexed).
  error_code Array(od::value& v, std::string_view token, size_t at, size_t depth, bool elements) {
    od::array arr;
    if (const error_code e = v.get_array().get(arr)) return e;
    const char* last_end = token.data() + 1;  // after the '['
    uint32_t count = 0;
    for (simdjson::simdjson_result<od::value> element : arr) {
      if (const error_code e = element.error()) return e;
      od::value& ev = element.value_unsafe();
      if (elements) {
        const size_t child = nodes_.size();
        nodes_.emplace_back();
        if (const error_code e = Value(ev, child, depth + 1)) return e;
        last_end = nodes_[child].text.data() + nodes_[child].text.size();
      } else if (const error_code e = Check(ev, depth + 1, last_end)) {
        return e;
      }
      ++count;
    }
    if (const error_code e = Close(at, JsonType::kArray, token, last_end, ']', count)) return e;
    nodes_[at].elements_indexed = elements;
    return simdjson::SUCCESS;
  }

 public:
  // The root when it is an array.
  error_code RootArray(od::value& v, bool elements) { return Array(v, v.raw_json_token(), 0, 1, elements); }

 private:
  // Fills in the container at `at` once its children are read (CloseAt finds its end).
  error_code Close(size_t at, JsonType type, std::string_view token, const char* last_end, char bracket,
                   uint32_t count) {
    const char* end = nullptr;
    if (const error_code e = CloseAt(last_end, bracket, end)) return e;
    JsonNode& n = nodes_[at];
    n.type = type;
    n.text = std::string_view(token.data(), static_cast<size_t>(end - token.data()));
    n.count = count;
    const size_t size = nodes_.size() - at;
    if (size > std::numeric_limits<uint32_t>::max()) return simdjson::CAPACITY;
    n.size = static_cast<uint32_t>(size);
    return simdjson::SUCCESS;
  }

  std::vector<JsonNode>& nodes_;
};

// A document that is one scalar, read by the DOM parser (see Impl).
error_code IndexScalar(simdjson::dom::parser& dom, std::string_view text, JsonNode& n) {
  simdjson::dom::element e;
  if (const error_code err = dom.parse(text.data(), text.size(), false).get(e)) return err;
  const size_t begin = static_cast<size_t>(std::find_if_not(text.begin(), text.end(), IsSpace) - text.begin());
  n.text = TrimRight(text.substr(begin));
  switch (e.type()) {
    case simdjson::dom::element_type::STRING:
      n.type = JsonType::kString;
      n.str = e.get_string().value_unsafe();
      return simdjson::SUCCESS;
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      n.type = JsonType::kNumber;
      return simdjson::SUCCESS;
    case simdjson::dom::element_type::BOOL:
      n.type = JsonType::kBool;
      return simdjson::SUCCESS;
    case simdjson::dom::element_type::NULL_VALUE:
      n.type = JsonType::kNull;
      return simdjson::SUCCESS;
    default:
      return simdjson::INCORRECT_TYPE;  // not expected: the caller saw a scalar
  }
}

}  // namespace

bool JsonIndexer::Index(std::string_view text, std::vector<JsonNode>& nodes, std::string_view& error, bool elements) {
  nodes.clear();
  nodes.emplace_back();
  const auto fail = [&](error_code e) {
    error = simdjson::error_message(e);
    nodes.clear();
    return false;
  };
  od::document doc;
  if (const error_code e = impl_->parser.iterate(text.data(), text.size(), text.size() + kPadding).get(doc)) {
    return fail(e);
  }
  od::json_type t;
  if (const error_code e = doc.type().get(t)) return fail(e);
  if (t == od::json_type::object || t == od::json_type::array) {
    od::value root;
    if (const error_code e = doc.get_value().get(root)) return fail(e);
    Builder b(nodes);
    if (const error_code e = t == od::json_type::array ? b.RootArray(root, elements) : b.Value(root, 0, 1)) {
      return fail(e);
    }
  } else {
    if (!impl_->scalar_parser) impl_->scalar_parser = std::make_unique<simdjson::dom::parser>();
    if (const error_code e = IndexScalar(*impl_->scalar_parser, text, nodes[0])) return fail(e);
    return true;
  }
  // Anything after the value: the iterator is not at its end.
  const char* after = nullptr;
  if (doc.current_location().get(after) == simdjson::SUCCESS) return fail(simdjson::TRAILING_CONTENT);
  return true;
}

}  // namespace sluice
