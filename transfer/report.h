// What a transfer did, entry by entry, and its totals: written as JSON by
// --report FILE (atomically: a temporary file renamed into place), and the
// source of the summary line and of --progress=json's events.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace sluice::transfer {

struct ReportEntry {
  std::string path;
  std::string action;   // ActionName: copy, mkdir, symlink, delete, up-to-date, skip, fail
  std::string reason;   // why the planner chose it
  std::string outcome;  // copied, up-to-date, created, deleted, skipped, failed, cancelled, planned (dry run)
  uint64_t bytes = 0;   // file size
  uint64_t bytes_written = 0;
  uint64_t resumed_from = 0;
  std::string hash;  // hex; empty when not computed
  std::string verified_by;
  int attempts = 0;
  int64_t duration_ms = 0;
  std::string error;
  std::string warning;  // done, but something was not kept (an owner the destination refused)
  bool failed() const { return outcome == "failed" || outcome == "cancelled"; }
};

struct ReportTotals {
  uint64_t files_copied = 0;
  uint64_t files_up_to_date = 0;
  uint64_t files_failed = 0;  // every failed entry, files or not
  uint64_t dirs_created = 0;
  uint64_t symlinks = 0;
  uint64_t deleted = 0;
  uint64_t skipped = 0;
  uint64_t warnings = 0;       // entries with a warning
  uint64_t bytes_copied = 0;   // size of the files copied
  uint64_t bytes_written = 0;  // sent (a resume sends less)
  int64_t duration_ms = 0;
};

struct TransferReport {
  std::string command;  // copy | sync
  std::string source;
  std::string destination;
  std::string hash_algorithm;
  bool dry_run = false;
  bool interrupted = false;
  std::string started_at;  // RFC 3339 UTC
  std::vector<ReportEntry> entries;
  ReportTotals totals;
  bool ok() const { return totals.files_failed == 0 && !interrupted; }
};

nlohmann::json ToJson(const ReportEntry& e);
nlohmann::json ToJson(const ReportTotals& t);
nlohmann::json ToJson(const TransferReport& r);

// Writes the report to `path` through a temporary file and a rename.
Status WriteReport(const TransferReport& report, const std::string& path);

}  // namespace sluice::transfer
