#include "transfer/drop/landing.h"

#include <fmt/format.h>

#include <array>
#include <ctime>

#include "transfer/drop/source_layout.h"
#include "transfer/rel_path.h"

namespace sluice::transfer::drop {
namespace {

constexpr std::array<std::string_view, 7> kVariables = {"drop", "date", "path", "name", "stem", "ext", "version"};

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  }
  return true;
}

// Splits at the first '.' that is not the leading one (".hidden.csv" -> ".hidden", ".csv").
std::pair<std::string_view, std::string_view> SplitExtension(std::string_view name) {
  const size_t dot = name.find('.', name.starts_with('.') ? 1 : 0);
  if (dot == std::string_view::npos) return {name, {}};
  return {name.substr(0, dot), name.substr(dot)};
}

}  // namespace

std::string LandingTemplateProblem(std::string_view t) {
  if (t.empty()) return "is empty";
  if (t.front() == '/') return "must be relative to the destination (no leading '/')";
  bool has_name = false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '}') return fmt::format("\"{}\": '}}' without '{{' at offset {}", t, i);
    if (t[i] != '{') continue;
    const size_t close = t.find('}', i);
    if (close == std::string_view::npos) return fmt::format("\"{}\": '{{' without '}}' at offset {}", t, i);
    const std::string_view var = t.substr(i + 1, close - i - 1);
    bool known = false;
    for (std::string_view v : kVariables) known = known || v == var;
    if (!known) {
      return fmt::format(
          "\"{}\": unknown variable {{{}}}; known: {{drop}} {{date}} {{path}} {{name}} {{stem}} {{ext}} "
          "{{version}}",
          t, var);
    }
    has_name = has_name || var == "name" || var == "path" || var == "stem";
    i = close;
  }
  if (!has_name) return fmt::format("\"{}\" must contain {{name}}, {{path}} or {{stem}}", t);
  if (t.back() == '/') return fmt::format("\"{}\" must end with a file name", t);
  // Every expansion must stay a clean relative path.
  LandingInput probe{"d", "a/b.csv", "2026-01-01", 2, false};
  const std::string expanded = ExpandLandingTemplate(t, probe);
  Result<std::string> norm = NormalizePath(expanded);
  if (!norm.ok() || norm.value() != expanded) {
    return fmt::format("\"{}\" must be a plain relative path (no '.', '..' or empty components)", t);
  }
  return "";
}

std::string ExpandLandingTemplate(std::string_view t, const LandingInput& in) {
  std::string path(in.path);
  if (in.decompress) path.resize(path.size() - CompressionSuffix(path).size());
  std::string name(NameView(path));
  const bool places_version = t.find("{version}") != std::string_view::npos;
  if (in.version > 1 && !places_version) {
    auto [stem, ext] = SplitExtension(name);
    name = fmt::format("{}.v{}{}", stem, in.version, ext);
    const std::string_view dir = ParentView(path);
    path = dir.empty() ? name : fmt::format("{}/{}", dir, name);
  }
  auto [stem, ext] = SplitExtension(name);
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '{') {
      out += t[i];
      continue;
    }
    const size_t close = t.find('}', i);
    const std::string_view var = t.substr(i + 1, close - i - 1);
    if (var == "drop")
      out += in.drop;
    else if (var == "date")
      out += in.date;
    else if (var == "path")
      out += path;
    else if (var == "name")
      out += name;
    else if (var == "stem")
      out += stem;
    else if (var == "ext")
      out += ext;
    else if (var == "version")
      out += std::to_string(in.version);
    i = close;
  }
  return out;
}

std::string_view CompressionSuffix(std::string_view name) {
  if (EndsWithNoCase(name, ".gz") && name.size() > 3) return name.substr(name.size() - 3);
  if (EndsWithNoCase(name, ".zst") && name.size() > 4) return name.substr(name.size() - 4);
  return {};
}

std::string CompanionPath(std::string_view name_template, std::string_view path) {
  const std::string_view dir = ParentView(path);
  std::string name(name_template);
  const size_t at = name.find("{name}");
  name.replace(at, 6, NameView(path));
  return dir.empty() ? name : fmt::format("{}/{}", dir, name);
}

std::string UtcDate(int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

}  // namespace sluice::transfer::drop
