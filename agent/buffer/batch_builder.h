// Accumulates a source's records into one batch of zstd-compressed JSON Lines
// (the stored form, see buffer_format.md). Records are staged in a small
// buffer and compressed in chunks, so memory is bounded by the staging size
// plus the compressed output, not by the batch's raw size.
//
// A batch is one zstd frame, or several concatenated (one valid zstd stream):
// Append takes pieces compressed elsewhere, so that several threads can
// compress parts of one batch (the transform workers, stream_writer.h).
// Invariant: out_ always holds whole frames plus, while records were staged
// since the last frame ended, the beginning of one open frame.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace sluice {

struct EncodedBatch {
  std::string zstd;  // complete zstd frames (with checksums) of JSON Lines
  uint32_t records = 0;
  uint64_t raw_bytes = 0;  // uncompressed size of the JSON Lines
  int64_t first_ts_ms = 0;
  int64_t last_ts_ms = 0;
  bool empty() const { return records == 0; }
};

class BatchBuilder {
 public:
  // hash_log: zstd's hash table (2^hash_log entries) instead of the level's
  // own, for a stream whose data is measured to want it; 0 keeps the level's.
  explicit BatchBuilder(int zstd_level = 1, int hash_log = 0);
  ~BatchBuilder();
  BatchBuilder(const BatchBuilder&) = delete;
  BatchBuilder& operator=(const BatchBuilder&) = delete;

  // Append one record's JSON line (with its '\n') to staging(), then call EndRecord.
  std::string& staging() { return staging_; }
  void EndRecord(int64_t ts_ms);

  // Appends a piece made by another builder's Finish, after the records
  // staged here so far (whose frame it ends first).
  Status Append(const EncodedBatch& piece);

  uint32_t records() const { return records_; }
  uint64_t raw_bytes() const { return raw_bytes_ + staging_.size(); }
  bool empty() const { return records_ == 0; }

  // Ends the frame and returns the batch; the builder is empty and reusable after.
  Result<EncodedBatch> Finish();

 private:
  Status Compress(bool end);

  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::string staging_;
  std::string out_;
  uint32_t records_ = 0;
  uint64_t raw_bytes_ = 0;
  int64_t first_ts_ = 0;
  int64_t last_ts_ = 0;
  bool frame_open_ = false;  // records were staged since the last frame ended
};

}  // namespace sluice
