#include "transfer/report.h"

#include "core/util/durable_file.h"
#include "core/util/utf8.h"

namespace sluice::transfer {

nlohmann::json ToJson(const ReportEntry& e) {
  nlohmann::json j = {{"path", e.path}, {"action", e.action}, {"outcome", e.outcome}};
  // A name that is not UTF-8 cannot be a JSON string as it is: "path" gets
  // replacement characters and the exact bytes go alongside.
  if (!IsValidUtf8(e.path)) j["path_base64"] = Base64(e.path);
  if (!e.reason.empty()) j["reason"] = e.reason;
  if (e.action == "copy" || e.action == "up-to-date") {
    j["bytes"] = e.bytes;
    j["bytes_written"] = e.bytes_written;
  }
  if (e.resumed_from > 0) j["resumed_from"] = e.resumed_from;
  if (!e.hash.empty()) j["hash"] = e.hash;
  if (!e.verified_by.empty()) j["verified_by"] = e.verified_by;
  if (e.attempts > 0) j["attempts"] = e.attempts;
  if (e.duration_ms > 0 || e.action == "copy") j["duration_ms"] = e.duration_ms;
  if (!e.error.empty()) j["error"] = e.error;
  if (!e.warning.empty()) j["warning"] = e.warning;
  return j;
}

nlohmann::json ToJson(const ReportTotals& t) {
  return {{"files_copied", t.files_copied}, {"files_up_to_date", t.files_up_to_date},
          {"failed", t.files_failed},       {"dirs_created", t.dirs_created},
          {"symlinks", t.symlinks},         {"deleted", t.deleted},
          {"skipped", t.skipped},           {"warnings", t.warnings},
          {"bytes_copied", t.bytes_copied}, {"bytes_written", t.bytes_written},
          {"duration_ms", t.duration_ms}};
}

nlohmann::json ToJson(const TransferReport& r) {
  nlohmann::json entries = nlohmann::json::array();
  for (const ReportEntry& e : r.entries) entries.push_back(ToJson(e));
  return {{"command", r.command},         {"source", r.source},
          {"destination", r.destination}, {"hash_algorithm", r.hash_algorithm},
          {"dry_run", r.dry_run},         {"interrupted", r.interrupted},
          {"started_at", r.started_at},   {"ok", r.ok()},
          {"totals", ToJson(r.totals)},   {"entries", std::move(entries)}};
}

Status WriteReport(const TransferReport& report, const std::string& path) {
  Result<AtomicFile> file = AtomicFile::Create(path, true);
  if (!file.ok()) return file.status();
  // Names that are not UTF-8 are replaced rather than failing the report.
  const std::string text = ToJson(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (Status s = file.value().Append(text); !s.ok()) return s;
  return file.value().Commit();
}

}  // namespace sluice::transfer
