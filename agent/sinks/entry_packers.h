// The simple ways user records become entries (entry_shipper.h):
//   - RecordPerEntry: each record is one entry, with a suffix (Firehose
//     gets "\n" so its S3 objects are JSON Lines) and a key per record
//     (Kinesis partition keys);
//   - CombinedLines: consecutive records joined, each ending in "\n", into
//     entries of up to the entry limit (Firehose concatenates records, and
//     bills and throttles per record, so fewer larger records cost less).
// Invariant: no entry is larger than `max_entry_bytes` (data + key).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "agent/sinks/entry_shipper.h"

namespace sluice {

using EntryKeyFn = std::function<std::string(std::string_view record, const BatchInfo& batch)>;

class RecordPerEntry final : public EntryPacker {
 public:
  // `key` may be null (no keys).
  RecordPerEntry(uint64_t max_entry_bytes, std::string suffix, EntryKeyFn key);
  bool Add(std::string_view record, const BatchInfo& batch, RecordRef ref, std::vector<Entry>& out) override;
  void Flush(std::vector<Entry>&) override {}

 private:
  uint64_t max_entry_bytes_;
  std::string suffix_;
  EntryKeyFn key_;
};

class CombinedLines final : public EntryPacker {
 public:
  explicit CombinedLines(uint64_t max_entry_bytes);
  bool Add(std::string_view record, const BatchInfo& batch, RecordRef ref, std::vector<Entry>& out) override;
  void Flush(std::vector<Entry>& out) override;

 private:
  uint64_t max_entry_bytes_;
  Entry open_;
};

}  // namespace sluice
