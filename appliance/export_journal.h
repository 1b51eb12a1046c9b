// The export's resume journal, `.sluice-export/journal.jsonl` on the device:
// one record per object written, appended and fsynced only after the object
// itself was committed under its final name. A record is an "object" line,
// its entries (manifest form, with their hashes) and a "commit" line; a
// record without its commit line (kill -9 while appending) is ignored. The
// first line is the export's options fingerprint: a rerun with other options
// (compression, encryption, packing) starts a fresh journal. On an encrypted
// export each record is one "sealed" line instead (XChaCha20-Poly1305 under
// the export key, random nonce), so the journal names no source path either.
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
  // `key`: the 32-byte encryption key, or empty.
  static Result<ExportJournal> Open(const std::filesystem::path& device, const std::string& fingerprint,
                                    const std::string& key);
  ExportJournal(ExportJournal&& o) noexcept;
  ExportJournal& operator=(ExportJournal&&) = delete;
  ExportJournal(const ExportJournal&) = delete;
  ~ExportJournal();

  // The records earlier runs committed, by object name (the last one wins),
  // as Open found them: what this run records is not added.
  const std::map<std::string, JournalRecord>& records() const { return records_; }
  // Appends the record of an object just committed and fsyncs it.
  Status Record(const ObjectInfo& object, const std::vector<Entry>& entries);

 private:
  ExportJournal(int fd, std::string path, std::string key) : fd_(fd), path_(std::move(path)), key_(std::move(key)) {}
  int fd_ = -1;
  std::string path_;
  std::string key_;
  std::map<std::string, JournalRecord> records_;
};

}  // namespace sluice::appliance
