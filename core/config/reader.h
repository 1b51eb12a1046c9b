// Reading validated configuration out of a TOML document.
//
// A TableReader walks one TOML table. Every getter names the key, its default
// and a one-line doc; the reader (1) validates the value's type and range,
// (2) records the effective value (given or default) with its doc so
// `sluice agent check` can print the whole effective configuration, and
// (3) remembers which keys were read so Finish() can reject unknown keys.
//
// Every error is a ConfigError whose message names file:line:column, the full
// dotted key and what was expected. ConfigError is the one exception that
// crosses the config-loading boundary; callers turn it into exit status 2.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One effective setting, for printing: `table` is the [section] it belongs to.
struct EffectiveSetting {
  std::string table;
  std::string key;    // may be dotted within the table, e.g. "multiline.start"
  std::string value;  // rendered as a TOML value
  std::string doc;
};

// The settings of a whole document, in the order they were read.
class EffectiveConfig {
 public:
  void Add(EffectiveSetting s) { settings_.push_back(std::move(s)); }
  const std::vector<EffectiveSetting>& settings() const { return settings_; }
  // TOML text with each setting's doc as a trailing comment.
  std::string ToToml() const;

 private:
  std::vector<EffectiveSetting> settings_;
};

// A parsed TOML file: owns the document that TableReaders point into.
class ConfigDocument {
 public:
  // Throws ConfigError naming the file, line and column of a syntax error.
  static ConfigDocument Load(const std::string& path);
  static ConfigDocument Parse(std::string_view text, const std::string& path_for_errors);

  const toml::table& root() const { return *root_; }
  const std::string& path() const { return *path_; }
  std::shared_ptr<const std::string> shared_path() const { return path_; }

 private:
  std::shared_ptr<toml::table> root_;
  std::shared_ptr<const std::string> path_;
};

class TableReader {
 public:
  // `key_path` is the dotted path of this table ("sources.app"); `print_table`
  // is the [section] its settings print under and `print_prefix` the prefix of
  // their keys there (non-empty for inline sub-tables such as "multiline.").
  TableReader(const toml::table& table, std::string key_path, std::shared_ptr<const std::string> file,
              EffectiveConfig* effective, std::string print_table = {}, std::string print_prefix = {});
  // Root of a document.
  TableReader(const ConfigDocument& doc, EffectiveConfig* effective);

  bool Has(std::string_view key) const;
  // Keys present in this table (for tables of named components).
  std::vector<std::string> Keys() const;

  std::string String(std::string_view key, std::string_view def, std::string_view doc);
  std::string RequiredString(std::string_view key, std::string_view doc);
  std::optional<std::string> OptionalString(std::string_view key, std::string_view doc);
  // One of `allowed`.
  std::string Enum(std::string_view key, std::string_view def, std::initializer_list<std::string_view> allowed,
                   std::string_view doc);
  int64_t Int(std::string_view key, int64_t def, int64_t min, int64_t max, std::string_view doc);
  bool Bool(std::string_view key, bool def, std::string_view doc);
  // A size in bytes; `def` in the same notation ("1GiB"). Must be within [min, max].
  uint64_t Size(std::string_view key, std::string_view def, uint64_t min, uint64_t max, std::string_view doc);
  std::chrono::milliseconds Duration(std::string_view key, std::string_view def, std::string_view doc,
                                     std::chrono::milliseconds min = std::chrono::milliseconds(0));
  // An array of strings; a single string is accepted as a one-element array.
  std::vector<std::string> Strings(std::string_view key, const std::vector<std::string>& def, std::string_view doc);
  std::vector<std::string> RequiredStrings(std::string_view key, std::string_view doc);

  // A sub-table: `[parent.key]` or an inline/dotted `key.x = ...`. Missing
  // tables read as empty so defaults still apply and print.
  TableReader Table(std::string_view key);
  // A sub-table printed as its own [section] (used for named components).
  TableReader Section(std::string_view key);

  // A free-form table of name = value settings passed to a library (the
  // librdkafka properties of a Kafka sink): nested tables are joined with
  // '.', so `linger.ms = 5` and `"linger.ms" = "5"` are the same setting;
  // numbers and booleans become their text. `check` returns "" or what is
  // wrong with one setting, reported at its line.
  using SettingCheck = std::function<std::string(const std::string& name, const std::string& value)>;
  std::vector<std::pair<std::string, std::string>> Settings(std::string_view key, std::string_view doc,
                                                            const SettingCheck& check);

  // Rejects any key that no getter asked for, naming it and where it is.
  void Finish() const;

  // Fails at `key` unless `path` (its value: a certificate, a key, a password
  // file) is readable now, so `agent check` finds it, not the first delivery.
  void RequireReadable(std::string_view key, const std::string& path) const;

  // An error about `key` (or the table itself when empty) at its location.
  [[noreturn]] void Fail(std::string_view key, std::string_view message) const;

  const std::string& key_path() const { return key_path_; }
  std::string FullKey(std::string_view key) const;

 private:
  const toml::node* Node(std::string_view key);
  std::string Where(const toml::source_region& region) const;
  void Record(std::string_view key, std::string value, std::string_view doc);

  const toml::table* table_;
  std::string key_path_;
  std::shared_ptr<const std::string> file_;
  EffectiveConfig* effective_;
  std::string print_table_;
  std::string print_prefix_;
  std::shared_ptr<std::set<std::string, std::less<>>> used_;
  static const toml::table kEmpty;
};

// Quotes a string as a TOML basic string.
std::string TomlQuote(std::string_view s);

}  // namespace sluice
