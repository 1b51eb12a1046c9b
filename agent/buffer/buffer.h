// The agent's durable buffer: one SQLite database in WAL mode under data_dir.
// See buffer_format.md for the schema and its version.
//
// Invariants:
//  - A batch and its source's checkpoint updates are committed in one
//    transaction (Commit): after any crash either both are there or neither.
//  - Batch sequence numbers only grow (AUTOINCREMENT) and batch ids carry the
//    database's random epoch, so an id is never reused, not even after the
//    database was quarantined and recreated.
//  - A sink's cursor only moves forward, and only through Ack.
//  - A batch is deleted once every sink that takes its source has acked it
//    (and its retention, if any, has passed), or by overflow = drop_oldest.
//  - Stored bytes never exceed max_bytes: Commit blocks (overflow = block)
//    or drops the oldest batches (drop_oldest, counted per source). The one
//    exception is over_cap (CommitOverCap, Stage), counted, for a stopping
//    MQTT source.
// Thread-safe: writes are serialized on one connection; readers use their own.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "agent/buffer/batch_builder.h"
#include "core/log/log.h"
#include "core/metrics/metrics.h"
#include "core/status.h"

namespace sluice {

enum class Overflow { kBlock, kDropOldest };
// How SQLite syncs a commit (PRAGMA synchronous); see buffer_format.md.
enum class Durability { kOff, kNormal, kFull, kExtra };

struct BufferOptions {
  std::filesystem::path dir;
  uint64_t max_bytes = 1ULL << 30;
  Overflow overflow = Overflow::kBlock;
  Durability durability = Durability::kFull;
  std::chrono::milliseconds retain{0};
};

struct CheckpointUpdate {
  std::string key;
  std::optional<std::string> value;  // nullopt deletes the key
};

// A batch for one stream of the buffer: a source's own, a transform's, or
// _events (see agent/transforms). Batches name their stream as `source`.
struct StreamBatch {
  std::string stream;
  EncodedBatch batch;
};

// A stored batch without its data: what sinks plan with.
struct BatchInfo {
  int64_t seq = 0;
  std::string id;  // "<epoch>-<seq>", unique forever; sinks name outputs after it
  std::string source;
  int64_t created_ms = 0;
  int64_t first_ts_ms = 0;
  int64_t last_ts_ms = 0;
  uint32_t records = 0;
  uint64_t raw_bytes = 0;
  uint64_t stored_bytes = 0;
};

// A record staged by Buffer::Stage, not yet folded into a batch.
struct StagedRecord {
  int64_t id = 0;
  int64_t ts_ms = 0;
  std::string record;  // one JSON line with its '\n'
};

struct StoredBatch : BatchInfo {
  std::string zstd;  // one zstd frame of JSON Lines
};

// What a sink has waiting, without reading any batch data.
struct PendingSummary {
  int64_t batches = 0;
  uint64_t stored_bytes = 0;
  int64_t oldest_created_ms = 0;  // 0 when nothing is pending
  int64_t oldest_record_ms = 0;
};

class Buffer {
 public:
  // Opens or creates <dir>/buffer.db. A database that cannot be opened or
  // fails PRAGMA quick_check is moved aside to <dir>/quarantine/ and a fresh
  // one is created; the reason is logged and counted.
  static Result<std::unique_ptr<Buffer>> Open(const BufferOptions& options, Logger log, MetricsRegistry& metrics);
  virtual ~Buffer() = default;

  // --- sources ---
  // Stores `batches` (each for its stream; empty ones are skipped, and none at
  // all is a checkpoint-only commit) together with `source`'s checkpoint
  // updates, in one transaction. A source writes its own stream and, through
  // the transforms downstream of it, theirs (agent/transforms). With overflow =
  // block, waits for space; returns kCancelled if `stop` is requested while waiting.
  virtual Status Commit(std::string_view source, std::span<const StreamBatch> batches,
                        std::span<const CheckpointUpdate> updates, std::stop_token stop) = 0;
  // Commit without waiting for space under overflow = block: stored bytes may
  // exceed max_bytes by these batches (drop_oldest still makes room). Only for
  // data a source has already taken and cannot hand back while stopping: an
  // MQTT message whose broker acknowledgement waits for this commit. Counted
  // in sluice_buffer_over_cap_bytes_total.
  virtual Status CommitOverCap(std::string_view source, std::span<const StreamBatch> batches,
                               std::span<const CheckpointUpdate> updates) = 0;
  // One batch of the source's own stream.
  Status Commit(std::string_view source, const EncodedBatch& batch, std::span<const CheckpointUpdate> updates,
                std::stop_token stop) {
    const StreamBatch one[] = {{std::string(source), batch}};
    return Commit(source, one, updates, stop);
  }
  virtual Result<std::map<std::string, std::string>> LoadCheckpoints(std::string_view source) = 0;

  // --- records durable one by one (an MQTT QoS 1 message before its PUBACK) ---
  // Stores one record for `source` in a transaction of its own: it is durable
  // (per `durability`) when this returns its id. Staged records count against
  // max_bytes like batches (overflow = block waits, returning kCancelled on
  // `stop`; over_cap = true does not wait, as CommitOverCap) but sinks do not
  // see them until the source folds them into a batch with CommitStaged: a
  // transaction per record costs one small insert, and sinks still get batches.
  virtual Result<int64_t> Stage(std::string_view source, std::string_view record, int64_t ts_ms, std::stop_token stop,
                                bool over_cap = false) = 0;
  // In one transaction: stores `batch` (which holds the source's staged
  // records with id <= through_id, and may hold others) and deletes those
  // staged records. Never waits for space: it replaces staged bytes.
  // `batches` as in Commit: the source's own stream and its transforms'
  // streams, with the checkpoint updates the transforms asked for.
  virtual Status CommitStaged(std::string_view source, std::span<const StreamBatch> batches, int64_t through_id,
                              std::span<const CheckpointUpdate> updates) = 0;
  Status CommitStaged(std::string_view source, const EncodedBatch& batch, int64_t through_id) {
    const StreamBatch one[] = {{std::string(source), batch}};
    return CommitStaged(source, one, through_id, {});
  }
  // The source's staged records in id order: after a restart, what it staged
  // and had not folded yet. A record failing its CRC32C is skipped and counted.
  virtual Result<std::vector<StagedRecord>> LoadStaged(std::string_view source) = 0;

  // --- sinks ---
  // Declares a sink and the sources it takes; creates its cursor at the
  // current start of the buffer if it is new.
  virtual Status RegisterSink(std::string_view sink, const std::vector<std::string>& sources) = 0;
  // Batches after the sink's cursor for its sources, in seq order, up to
  // max_batches and (at least one batch, then) max_bytes of stored data.
  virtual Result<std::vector<BatchInfo>> ListPending(std::string_view sink, size_t max_batches, uint64_t max_bytes) = 0;
  // The same with data loaded (tests, small reads). Prefer ListPending + LoadBatch.
  virtual Result<std::vector<StoredBatch>> ReadPending(std::string_view sink, size_t max_batches,
                                                       uint64_t max_bytes) = 0;
  // One batch's data, verified against its stored CRC32C (kCorrupt on mismatch,
  // kNotFound if it was dropped meanwhile).
  virtual Result<std::string> LoadBatch(int64_t seq) = 0;
  virtual Result<PendingSummary> Pending(std::string_view sink) = 0;
  // Advances the sink's cursor to `seq` (inclusive) and deletes batches that
  // every sink has acked.
  virtual Status Ack(std::string_view sink, int64_t seq) = 0;
  // The newest batch's seq (0 when none was ever stored).
  virtual int64_t last_seq() const = 0;
  // Waits until a batch newer than `after_seq` exists or the timeout passes.
  virtual void WaitForData(int64_t after_seq, std::chrono::milliseconds timeout, std::stop_token stop) = 0;

  // --- state ---
  virtual uint64_t stored_bytes() const = 0;
  virtual const std::string& epoch() const = 0;
  virtual std::filesystem::path path() const = 0;
};

}  // namespace sluice
