// The export's resume journal, `.sluice-export/journal.jsonl` on the device:
// one record per object written, appended and fsynced only after the object
// itself was committed under its final name. A record is an "object" line,
// its entries (manifest form, with their hashes) and a "commit" line; a
// record without its commit line (kill -9 while appending) is ignored. The
// first line is the export's options fingerprint: a rerun with other options
// (compression, encryption, packing) starts a fresh journal.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "appliance/manifest.h"
#include "core/status.h"

namespace sluice::appliance {

struct JournalRecord {
  ObjectInfo object;
  std::vector<Entry> entries;
};

class ExportJournal {
 public:
  static Result<ExportJournal> Open(const std::filesystem::path& device, const std::string& fingerprint);
  ExportJournal(ExportJournal&& o) noexcept;
  ExportJournal& operator=(ExportJournal&&) = delete;
  ExportJournal(const ExportJournal&) = delete;
  ~ExportJournal();

  // Committed records by object name (the last one wins).
  const std::map<std::string, JournalRecord>& records() const { return records_; }
  Status Record(const ObjectInfo& object, const std::vector<Entry>& entries);

 private:
  ExportJournal(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
  std::map<std::string, JournalRecord> records_;
};

}  // namespace sluice::appliance
