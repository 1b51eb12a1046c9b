// The dead-letter directory of a sink: records that can never be delivered
// (too large for the destination, a topic name it refuses, a 4xx answer) are
// written here instead of being dropped or blocking the sink forever.
//
// Layout: <dir>/<source>/<batch id>-<first record>.jsonl, the records as
// stored (JSON Lines), a file per run of records of one batch. The name is
// the batch and the index of its first record, so the same records always
// get the same name: a redelivery after a crash rewrites the file instead of
// adding a copy, and records found later in the same batch get a file of
// their own. Each file is complete when it appears (written under a
// temporary name, fsynced, renamed). Counted in
// sluice_sink_dead_letter_records_total{sink}.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sinks/sink.h"

namespace sluice {

class DeadLetters {
 public:
  // `dir` "" means <data_dir>/dead-letter/<sink>.
  DeadLetters(std::string sink, std::filesystem::path dir, const SinkContext& ctx);

  // Writes `lines` (`count` records of batch `b`, the first at index
  // `first_record`, each ending in '\n'); `why` goes into the warning logged
  // with the file's path.
  Status Write(const BatchInfo& b, size_t first_record, std::string_view lines, size_t count, std::string_view why);

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::string sink_;
  std::filesystem::path dir_;
  Logger log_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  Counter& records_;
};

// Which records of the batches in flight are already stored at the
// destination, by batch id and record index, so that a delivery retried in
// the same run sends only the rest. Forgotten once the batches are confirmed.
class DeliveredRecords {
 public:
  // The flags of batch `id` with `records` records (all false when new).
  std::vector<bool>& Of(const std::string& id, size_t records);
  // Marks record `index` of a batch Of() has sized.
  void Mark(const std::string& id, size_t index) { by_batch_.at(id).at(index) = true; }
  void Forget(std::span<const BatchInfo> batches);
  // Forgets every batch but `pending` (those acknowledged, or dropped from
  // the buffer by drop_oldest meanwhile), so memory stays bounded.
  void KeepOnly(std::span<const BatchInfo> pending);
  bool empty() const { return by_batch_.empty(); }

 private:
  std::map<std::string, std::vector<bool>> by_batch_;
};

}  // namespace sluice
