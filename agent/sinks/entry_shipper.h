// The delivery loop of the sinks whose API stores a request's entries one by
// one and says which it refused: Kinesis PutRecords and Firehose
// PutRecordBatch. The sink supplies how user records (JSON lines) become
// entries (an EntryPacker: one record per entry, lines combined, or KPL
// aggregates) and how one request is sent (an EntrySender); this class owns
// the rest:
//   - requests within the API's limits (entries, bytes per request, bytes
//     per entry, counting an entry's data and its key);
//   - entries refused inside a successful request are resent alone, in their
//     order, a few rounds with full-jitter backoff; if some are still refused
//     the delivery fails and the runner backs off longer;
//   - the records already stored are remembered by batch id and position, so
//     a redelivery in the same run sends only what was not stored;
//   - a record that can never fit one entry goes to the dead-letter directory
//     (dead_letters.h: <dead_letter>/<source>/<batch id>-<first record>.jsonl),
//     counted, never dropped.
// After a crash unconfirmed batches are sent again: these APIs are
// at-least-once.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sinks/dead_letters.h"
#include "agent/sinks/sink.h"

namespace sluice {

// A user record's place in a delivery: batch index and line index.
struct RecordRef {
  size_t batch = 0;
  size_t index = 0;
};

struct Entry {
  std::string data;
  std::string key;                 // the Kinesis partition key; "" for Firehose
  std::vector<RecordRef> records;  // the user records the entry carries
  uint64_t size() const { return data.size() + key.size(); }
};

struct EntryLimits {
  size_t max_entries = 500;
  uint64_t max_request_bytes = 5u << 20;
  uint64_t max_entry_bytes = 1u << 20;
};

// Turns the user records of one delivery into entries. One packer serves one
// Deliver call: Flush completes whatever it holds.
class EntryPacker {
 public:
  virtual ~EntryPacker() = default;
  // Adds one record (a JSON line without its newline); entries it completes
  // are appended to `out`, in order. False: the record can never fit an
  // entry (it goes to the dead-letter directory).
  virtual bool Add(std::string_view record, const BatchInfo& batch, RecordRef ref, std::vector<Entry>& out) = 0;
  virtual void Flush(std::vector<Entry>& out) = 0;
};

struct EntryOutcome {
  std::string error_code;  // "" = stored
  std::string error_message;
  bool ok() const { return error_code.empty(); }
};

// Sends one request; the outcomes are one per entry, in order. An error is a
// failure of the whole request.
using EntrySender = std::function<Result<std::vector<EntryOutcome>>(std::span<const Entry>)>;

struct EntryShipperOptions {
  std::string sink;           // the sink's name, for metrics labels and messages
  std::string target;         // what the entries go to, for messages: "stream 'events'"
  std::string metric_prefix;  // "sluice_kinesis" -> sluice_kinesis_requests_total, ..._refused_records_total
  EntryLimits limits;
  std::filesystem::path dead_letter;
  int retry_rounds = 4;
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{2000};
};

class EntryShipper {
 public:
  EntryShipper(EntryShipperOptions options, const SinkContext& ctx);

  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load, EntryPacker& packer,
                 const EntrySender& send);

  const EntryLimits& limits() const { return options_.limits; }

 private:
  Status Send(std::span<const BatchInfo> batches, std::vector<Entry>& entries, std::vector<Entry>& refused,
              Status& last_refusal, const EntrySender& send);

  EntryShipperOptions options_;
  Logger log_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  MetricsRegistry& metrics_;
  Counter& requests_;
  Counter& refused_;
  DeadLetters dead_letters_;
  DeliveredRecords stored_;
};

// The records of a decoded batch: its lines without their newlines.
std::vector<std::string_view> SplitLines(std::string_view text);

// A stored batch loaded with `load` and decompressed to its JSON Lines; a
// decoding error names the batch.
Result<std::string> LoadPlainBatch(const BatchLoader& load, const BatchInfo& b);

}  // namespace sluice
