#include "core/config/reader.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "core/config/units.h"

namespace sluice {

const toml::table TableReader::kEmpty{};

namespace {

std::string TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

}  // namespace

std::string TomlQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string EffectiveConfig::ToToml() const {
  // Group by section, keeping first-appearance order of sections and keys.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const EffectiveSetting*>> by_table;
  for (const auto& s : settings_) {
    auto [it, inserted] = by_table.try_emplace(s.table);
    if (inserted) order.push_back(s.table);
    it->second.push_back(&s);
  }
  std::ostringstream out;
  bool first = true;
  for (const auto& table : order) {
    if (!first) out << "\n";
    first = false;
    if (!table.empty()) out << "[" << table << "]\n";
    size_t width = 0;
    for (const auto* s : by_table[table]) width = std::max(width, s->key.size() + 3 + s->value.size());
    for (const auto* s : by_table[table]) {
      std::string line = s->key + " = " + s->value;
      out << line;
      if (!s->doc.empty()) out << std::string(width - line.size() + 2, ' ') << "# " << s->doc;
      out << "\n";
    }
  }
  return out.str();
}

ConfigDocument ConfigDocument::Parse(std::string_view text, const std::string& path_for_errors) {
  ConfigDocument doc;
  doc.path_ = std::make_shared<const std::string>(path_for_errors);
  try {
    doc.root_ = std::make_shared<toml::table>(toml::parse(text, path_for_errors));
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path_for_errors << ":" << e.source().begin.line << ":" << e.source().begin.column
        << ": invalid TOML: " << e.description();
    throw ConfigError(msg.str());
  }
  return doc;
}

ConfigDocument ConfigDocument::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

TableReader::TableReader(const toml::table& table, std::string key_path, std::shared_ptr<const std::string> file,
                         EffectiveConfig* effective, std::string print_table, std::string print_prefix)
    : table_(&table),
      key_path_(std::move(key_path)),
      file_(std::move(file)),
      effective_(effective),
      print_table_(std::move(print_table)),
      print_prefix_(std::move(print_prefix)),
      used_(std::make_shared<std::set<std::string, std::less<>>>()) {}

TableReader::TableReader(const ConfigDocument& doc, EffectiveConfig* effective)
    : TableReader(doc.root(), "", doc.shared_path(), effective) {}

std::string TableReader::FullKey(std::string_view key) const {
  if (key_path_.empty()) return std::string(key);
  if (key.empty()) return key_path_;
  return key_path_ + "." + std::string(key);
}

std::string TableReader::Where(const toml::source_region& region) const {
  std::ostringstream out;
  out << *file_;
  if (region.begin.line > 0) out << ":" << region.begin.line << ":" << region.begin.column;
  return out.str();
}

void TableReader::Fail(std::string_view key, std::string_view message) const {
  const toml::node* n = key.empty() ? nullptr : table_->get(key);
  const toml::source_region region = n ? n->source() : table_->source();
  std::string msg = Where(region) + ": ";
  const std::string full = FullKey(key);
  if (!full.empty()) msg += "key '" + full + "': ";
  msg += message;
  throw ConfigError(msg);
}

bool TableReader::Has(std::string_view key) const { return table_->contains(key); }

std::vector<std::string> TableReader::Keys() const {
  std::vector<std::string> keys;
  for (const auto& [k, v] : *table_) keys.emplace_back(k.str());
  return keys;
}

const toml::node* TableReader::Node(std::string_view key) {
  used_->emplace(key);
  return table_->get(key);
}

void TableReader::Record(std::string_view key, std::string value, std::string_view doc) {
  if (effective_ == nullptr) return;
  // Keys that are data (an MQTT topic filter in topic_qos) need quoting to print as TOML.
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  effective_->Add({print_table_.empty() ? key_path_ : print_table_,
                   print_prefix_ + (bare ? std::string(key) : TomlQuote(key)), std::move(value), std::string(doc)});
}

std::string TableReader::String(std::string_view key, std::string_view def, std::string_view doc) {
  const toml::node* n = Node(key);
  std::string v(def);
  if (n != nullptr) {
    if (!n->is_string()) Fail(key, "expected a string, got " + TypeName(*n));
    v = n->value<std::string>().value();
  }
  Record(key, TomlQuote(v), doc);
  return v;
}

std::string TableReader::RequiredString(std::string_view key, std::string_view doc) {
  const toml::node* n = Node(key);
  if (n == nullptr) Fail("", "missing required key '" + std::string(key) + "' (" + std::string(doc) + ")");
  if (!n->is_string()) Fail(key, "expected a string, got " + TypeName(*n));
  std::string v = n->value<std::string>().value();
  if (v.empty()) Fail(key, "must not be empty");
  Record(key, TomlQuote(v), doc);
  return v;
}

std::optional<std::string> TableReader::OptionalString(std::string_view key, std::string_view doc) {
  const toml::node* n = Node(key);
  if (n == nullptr) return std::nullopt;
  if (!n->is_string()) Fail(key, "expected a string, got " + TypeName(*n));
  std::string v = n->value<std::string>().value();
  Record(key, TomlQuote(v), doc);
  return v;
}

std::string TableReader::Enum(std::string_view key, std::string_view def,
                              std::initializer_list<std::string_view> allowed, std::string_view doc) {
  const toml::node* n = Node(key);
  std::string v(def);
  if (n != nullptr) {
    if (!n->is_string()) Fail(key, "expected a string, got " + TypeName(*n));
    v = n->value<std::string>().value();
  }
  bool ok = false;
  std::string choices;
  for (auto a : allowed) {
    if (a == v) ok = true;
    if (!choices.empty()) choices += ", ";
    choices += "\"" + std::string(a) + "\"";
  }
  if (!ok) Fail(key, "expected one of " + choices + ", got \"" + v + "\"");
  Record(key, TomlQuote(v), doc);
  return v;
}

int64_t TableReader::Int(std::string_view key, int64_t def, int64_t min, int64_t max, std::string_view doc) {
  const toml::node* n = Node(key);
  int64_t v = def;
  if (n != nullptr) {
    if (!n->is_integer()) Fail(key, "expected an integer, got " + TypeName(*n));
    v = n->value<int64_t>().value();
    if (v < min || v > max)
      Fail(key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                    std::to_string(v));
  }
  Record(key, std::to_string(v), doc);
  return v;
}

bool TableReader::Bool(std::string_view key, bool def, std::string_view doc) {
  const toml::node* n = Node(key);
  bool v = def;
  if (n != nullptr) {
    if (!n->is_boolean()) Fail(key, "expected true or false, got " + TypeName(*n));
    v = n->value<bool>().value();
  }
  Record(key, v ? "true" : "false", doc);
  return v;
}

uint64_t TableReader::Size(std::string_view key, std::string_view def, uint64_t min, uint64_t max,
                           std::string_view doc) {
  const toml::node* n = Node(key);
  Result<uint64_t> parsed = ParseSize(def);
  if (n != nullptr) {
    if (n->is_integer()) {
      const int64_t i = n->value<int64_t>().value();
      if (i < 0) Fail(key, "expected a size such as \"512MiB\", got a negative number");
      parsed = static_cast<uint64_t>(i);
    } else if (n->is_string()) {
      parsed = ParseSize(n->value<std::string>().value());
    } else {
      Fail(key, "expected a size such as \"512MiB\", got " + TypeName(*n));
    }
  }
  if (!parsed.ok()) Fail(key, parsed.status().message());
  const uint64_t v = parsed.value();
  if (v < min || v > max)
    Fail(key, "expected a size from " + FormatSize(min) + " to " + FormatSize(max) + ", got " + FormatSize(v));
  Record(key, TomlQuote(FormatSize(v)), doc);
  return v;
}

std::chrono::milliseconds TableReader::Duration(std::string_view key, std::string_view def, std::string_view doc,
                                                std::chrono::milliseconds min) {
  const toml::node* n = Node(key);
  Result<std::chrono::milliseconds> parsed = ParseDuration(def);
  if (n != nullptr) {
    if (!n->is_string()) Fail(key, "expected a duration such as \"30s\", got " + TypeName(*n));
    parsed = ParseDuration(n->value<std::string>().value());
  }
  if (!parsed.ok()) Fail(key, parsed.status().message());
  if (parsed.value() < min) Fail(key, "must be at least " + FormatDuration(min));
  Record(key, TomlQuote(FormatDuration(parsed.value())), doc);
  return parsed.value();
}

std::vector<std::string> TableReader::Strings(std::string_view key, const std::vector<std::string>& def,
                                              std::string_view doc) {
  const toml::node* n = Node(key);
  std::vector<std::string> v = def;
  if (n != nullptr) {
    v.clear();
    if (n->is_string()) {
      v.push_back(n->value<std::string>().value());
    } else if (const toml::array* arr = n->as_array()) {
      size_t i = 0;
      for (const toml::node& e : *arr) {
        if (!e.is_string())
          Fail(key, "expected an array of strings, but element " + std::to_string(i) + " is " + TypeName(e));
        v.push_back(e.value<std::string>().value());
        ++i;
      }
    } else {
      Fail(key, "expected an array of strings, got " + TypeName(*n));
    }
  }
  std::string rendered = "[";
  for (size_t i = 0; i < v.size(); ++i) rendered += (i ? ", " : "") + TomlQuote(v[i]);
  rendered += "]";
  Record(key, rendered, doc);
  return v;
}

std::vector<std::string> TableReader::RequiredStrings(std::string_view key, std::string_view doc) {
  if (!Has(key)) Fail("", "missing required key '" + std::string(key) + "' (" + std::string(doc) + ")");
  std::vector<std::string> v = Strings(key, {}, doc);
  if (v.empty()) Fail(key, "must name at least one entry");
  return v;
}

TableReader TableReader::Table(std::string_view key) {
  const toml::node* n = Node(key);
  const toml::table* t = &kEmpty;
  if (n != nullptr) {
    t = n->as_table();
    if (t == nullptr) Fail(key, "expected a table, got " + TypeName(*n));
  }
  return TableReader(*t, FullKey(key), file_, effective_, print_table_.empty() ? key_path_ : print_table_,
                     print_prefix_ + std::string(key) + ".");
}

TableReader TableReader::Section(std::string_view key) {
  const toml::node* n = Node(key);
  const toml::table* t = &kEmpty;
  if (n != nullptr) {
    t = n->as_table();
    if (t == nullptr) Fail(key, "expected a table, got " + TypeName(*n));
  }
  return TableReader(*t, FullKey(key), file_, effective_);
}

std::vector<std::pair<std::string, std::string>> TableReader::Settings(std::string_view key, std::string_view doc,
                                                                       const SettingCheck& check) {
  TableReader sub = Table(key);
  std::vector<std::pair<std::string, std::string>> out;
  std::function<void(const toml::table&, const std::string&)> walk = [&](const toml::table& t,
                                                                         const std::string& prefix) {
    for (const auto& [k, v] : t) {
      const std::string name = prefix + std::string(k.str());
      if (const toml::table* nested = v.as_table()) {
        walk(*nested, name + ".");
        continue;
      }
      std::string value;
      if (v.is_string()) {
        value = v.value<std::string>().value();
      } else if (v.is_integer()) {
        value = std::to_string(v.value<int64_t>().value());
      } else if (v.is_boolean()) {
        value = v.value<bool>().value() ? "true" : "false";
      } else if (v.is_floating_point()) {
        std::ostringstream f;
        f << v.value<double>().value();
        value = f.str();
      } else {
        throw ConfigError(sub.Where(v.source()) + ": key '" + sub.FullKey(name) +
                          "': expected a string, number or boolean, got " + TypeName(v));
      }
      if (check) {
        if (std::string problem = check(name, value); !problem.empty()) {
          throw ConfigError(sub.Where(v.source()) + ": key '" + sub.FullKey(name) + "': " + problem);
        }
      }
      sub.Record(name, TomlQuote(value), doc);
      out.emplace_back(name, std::move(value));
    }
  };
  walk(*sub.table_, "");
  return out;
}

void TableReader::RequireReadable(std::string_view key, const std::string& path) const {
  if (::access(path.c_str(), R_OK) != 0) Fail(key, "\"" + path + "\" is not readable: " + std::strerror(errno));
}

void TableReader::Finish() const {
  for (const auto& [k, v] : *table_) {
    if (used_->count(k.str()) != 0) continue;
    std::string msg = Where(k.source()) + ": unknown key '" + FullKey(k.str()) + "'";
    throw ConfigError(msg);
  }
}

}  // namespace sluice
