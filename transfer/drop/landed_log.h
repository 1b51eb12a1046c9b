// The landed log: one JSON line per file that reached an end state (landed,
// duplicate, quarantined), appended and fdatasync'ed before the ledger marks
// the row as logged. So a line is never missing; after a crash between the
// two, a line may appear twice, with the same "id" (readers dedupe on it).
// Shared by every drop of the ingester; thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "transfer/drop/ledger.h"

namespace sluice::transfer::drop {

class LandedLog {
 public:
  static Result<std::unique_ptr<LandedLog>> Open(const std::string& path);
  ~LandedLog();
  LandedLog(const LandedLog&) = delete;
  LandedLog& operator=(const LandedLog&) = delete;

  Status Append(const std::vector<FileRow>& rows);
  const std::string& path() const { return path_; }

  // The line for one row (also used by --status --json).
  static std::string Line(const FileRow& row);

 private:
  LandedLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  std::mutex mu_;
  int fd_;
  std::string path_;
};

}  // namespace sluice::transfer::drop
