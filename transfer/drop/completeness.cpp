#include "transfer/drop/completeness.h"

#include <algorithm>
#include <unordered_map>

#include "transfer/drop/landing.h"
#include "transfer/planner.h"
#include "transfer/rel_path.h"

namespace sluice::transfer::drop {
namespace {

bool HasTemplateForm(std::string_view name, std::string_view t) {
  const size_t at = t.find("{name}");
  const std::string_view prefix = t.substr(0, at);
  const std::string_view suffix = t.substr(at + 6);
  return name.size() > prefix.size() + suffix.size() && name.starts_with(prefix) && name.ends_with(suffix);
}

}  // namespace

bool IsCompanionName(std::string_view name, const DropSpec& spec) {
  if (!spec.done_marker.empty() && HasTemplateForm(name, spec.done_marker)) return true;
  return std::any_of(spec.sidecars.begin(), spec.sidecars.end(),
                     [&](const std::string& t) { return HasTemplateForm(name, t); });
}

bool IsIgnored(std::string_view path, const DropSpec& spec) {
  const std::string_view name = NameView(path);
  if (IsPartialName(name)) return true;
  for (const Glob& g : spec.ignore) {
    if (g.MatchPathOrName(path)) return true;
  }
  for (const Glob& g : spec.exclude) {
    if (g.MatchPathOrName(path)) return true;
  }
  if (spec.include.empty() || IsCompanionName(name, spec)) return false;
  return std::none_of(spec.include.begin(), spec.include.end(), [&](const Glob& g) { return g.MatchPathOrName(path); });
}

InboxAssessment AssessInbox(const std::vector<ListedFile>& listing, const std::map<std::string, Observation>& previous,
                            int64_t now_ms, const DropSpec& spec) {
  InboxAssessment out;
  const int64_t stable_ms = spec.stable_for.count();
  std::unordered_map<std::string_view, const ListedFile*> by_path;
  std::unordered_map<std::string_view, Observation> current;  // observation after this listing
  std::unordered_map<std::string_view, bool> changed_now;
  std::unordered_map<std::string_view, bool> grew;  // changed since an earlier listing
  for (const ListedFile& f : listing) {
    if (IsIgnored(f.path, spec)) continue;
    by_path.emplace(f.path, &f);
    auto prev = previous.find(f.path);
    Observation o;
    if (prev == previous.end()) {
      o = {f.path, f.size, f.mtime_ns, now_ms, now_ms};
      out.put.push_back(o);
      changed_now[f.path] = true;
      grew[f.path] = false;
    } else if (prev->second.size != f.size || prev->second.mtime_ns != f.mtime_ns) {
      o = {f.path, f.size, f.mtime_ns, prev->second.first_seen_ms, now_ms};
      out.put.push_back(o);
      changed_now[f.path] = true;
      grew[f.path] = true;
    } else {
      o = prev->second;
      changed_now[f.path] = false;
      grew[f.path] = false;
    }
    current.emplace(f.path, o);
  }
  for (const auto& [path, o] : previous) {
    if (by_path.find(path) == by_path.end()) out.removed.push_back(path);
  }

  // Stable: unchanged in this listing and for stable_for since the change.
  auto stable = [&](std::string_view path) {
    const Observation& o = current.at(path);
    return !changed_now.at(path) && now_ms - o.unchanged_since_ms >= stable_ms;
  };

  for (const auto& [path, file] : by_path) {
    if (IsCompanionName(NameView(path), spec)) continue;
    ReadyFile r{std::string(path), file->size, file->mtime_ns, current.at(path).first_seen_ms, {}, {}};
    bool ready = true;
    for (const std::string& t : spec.sidecars) {
      const std::string sc = CompanionPath(t, path);
      if (by_path.count(sc) == 0) continue;
      r.sidecars.push_back(sc);
      if (spec.done_marker.empty() && !stable(sc)) ready = false;
    }
    if (spec.require_sidecar && r.sidecars.empty()) ready = false;
    if (!spec.done_marker.empty()) {
      r.marker = CompanionPath(spec.done_marker, path);
      if (by_path.count(r.marker) == 0) ready = false;
    } else if (!stable(path)) {
      ready = false;
    }
    if (ready) {
      out.ready.push_back(std::move(r));
      continue;
    }
    ++out.waiting;
    if (out.oldest_waiting_first_seen_ms == 0 || r.first_seen_ms < out.oldest_waiting_first_seen_ms) {
      out.oldest_waiting_first_seen_ms = r.first_seen_ms;
    }
    if (!grew.at(path) && spec.done_marker.empty() && !(spec.require_sidecar && r.sidecars.empty())) {
      ++out.waiting_unchanged;
    }
  }
  std::sort(out.ready.begin(), out.ready.end(), [](const ReadyFile& a, const ReadyFile& b) { return a.path < b.path; });
  return out;
}

}  // namespace sluice::transfer::drop
