#include "agent/sinks/entry_packers.h"

namespace sluice {

RecordPerEntry::RecordPerEntry(uint64_t max_entry_bytes, std::string suffix, EntryKeyFn key)
    : max_entry_bytes_(max_entry_bytes), suffix_(std::move(suffix)), key_(std::move(key)) {}

bool RecordPerEntry::Add(std::string_view record, const BatchInfo& batch, RecordRef ref, std::vector<Entry>& out) {
  Entry e;
  e.key = key_ ? key_(record, batch) : std::string();
  if (record.size() + suffix_.size() + e.key.size() > max_entry_bytes_) return false;
  e.data.reserve(record.size() + suffix_.size());
  e.data.append(record);
  e.data += suffix_;
  e.records.push_back(ref);
  out.push_back(std::move(e));
  return true;
}

CombinedLines::CombinedLines(uint64_t max_entry_bytes) : max_entry_bytes_(max_entry_bytes) {}

bool CombinedLines::Add(std::string_view record, const BatchInfo&, RecordRef ref, std::vector<Entry>& out) {
  const uint64_t size = record.size() + 1;
  if (size > max_entry_bytes_) return false;
  if (open_.data.size() + size > max_entry_bytes_) Flush(out);
  open_.data.append(record);
  open_.data += '\n';
  open_.records.push_back(ref);
  return true;
}

void CombinedLines::Flush(std::vector<Entry>& out) {
  if (open_.records.empty()) return;
  out.push_back(std::move(open_));
  open_ = Entry();
}

}  // namespace sluice
