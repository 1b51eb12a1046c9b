// Where an ingested file lands and which names travel with it. Pure functions
// of their arguments, so the ledger can recompute and the tests can pin them.
//
// A landing template ("raw/{drop}/dt={date}/{name}") is expanded with:
//   {drop}     the drop's name
//   {date}     the UTC date the file was taken (YYYY-MM-DD), fixed in the ledger
//   {path}     its path below the inbox (differs from {name} with recursive = true)
//   {name}     its file name, as landed: without .gz/.zst when decompressed, and
//              with ".v<N>" before the extensions for version N > 1 (a re-upload
//              with new content) unless the template places {version} itself
//   {stem} {ext}  {name} split at its first '.' ("a.csv.gz" -> "a", ".csv.gz")
//   {version}  1, 2, ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::transfer::drop {

// "" when `t` is a usable template, else what is wrong with it.
std::string LandingTemplateProblem(std::string_view t);

struct LandingInput {
  std::string_view drop;
  std::string_view path;  // below the inbox, '/'-separated
  std::string_view date;  // YYYY-MM-DD
  int version = 1;
  bool decompress = false;
};

// The landed path (relative to the destination root).
std::string ExpandLandingTemplate(std::string_view t, const LandingInput& in);

// ".gz" / ".zst" when `name` ends with one (case-insensitive), else "".
std::string_view CompressionSuffix(std::string_view name);

// A "{name}.sha256"-style template applied to the path of a data file: the
// companion sits in the same folder.
std::string CompanionPath(std::string_view name_template, std::string_view path);

// The UTC date of `unix_ms` as YYYY-MM-DD.
std::string UtcDate(int64_t unix_ms);

}  // namespace sluice::transfer::drop
