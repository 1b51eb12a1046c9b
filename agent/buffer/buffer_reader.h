// Read-only access to an agent's buffer (buffer.db), for `sluice agent
// replay`: the agent may be running and writing it meanwhile. SQLite's WAL
// gives each statement a consistent snapshot next to the agent's commits;
// this reader never writes, so the agent's cursors, batches and checkpoints
// are never touched (no quick_check, no quarantine, no schema upgrade: a
// database this reader cannot read is an error, never repaired here).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/buffer/buffer.h"
#include "core/sqlite/sqlite_db.h"

namespace sluice {

class BufferReader {
 public:
  // Opens <dir>/buffer.db read-only; kNotFound when there is none.
  static Result<BufferReader> Open(const std::filesystem::path& dir);

  // Batches of `sources` with seq > after_seq whose first record's time is
  // in [since_ms, until_ms), in seq order: up to `max_batches`, and (after
  // the first) `max_bytes` of stored data.
  Result<std::vector<BatchInfo>> ListWindow(const std::vector<std::string>& sources, int64_t since_ms, int64_t until_ms,
                                            int64_t after_seq, size_t max_batches, uint64_t max_bytes);
  // How many batches and records ListWindow would list in all.
  struct WindowSize {
    int64_t batches = 0;
    int64_t records = 0;
    int64_t stored_bytes = 0;
  };
  Result<WindowSize> CountWindow(const std::vector<std::string>& sources, int64_t since_ms, int64_t until_ms);
  // One batch's data, verified (kNotFound once the agent deleted it).
  Result<std::string> LoadBatch(int64_t seq);
  // A sink's delivery cursor, or nullopt for a sink the agent never ran.
  Result<std::optional<int64_t>> Cursor(const std::string& sink);

  const std::string& epoch() const { return epoch_; }

 private:
  BufferReader(sqlite::Database db, std::string epoch) : db_(std::move(db)), epoch_(std::move(epoch)) {}
  sqlite::Database db_;
  std::string epoch_;
};

}  // namespace sluice
