// Reading rows of the buffer's batches table (buffer_format.md), shared by
// the agent's buffer and the read-only reader `sluice agent replay` uses,
// so both name batches and verify their data the same way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/buffer/buffer.h"
#include "core/sqlite/sqlite_db.h"

namespace sluice {

// The columns ReadBatchInfo reads, in its order.
inline constexpr std::string_view kBatchInfoColumns =
    "seq, source, created_ms, first_ts_ms, last_ts_ms, records, raw_bytes, stored_bytes";

// "<epoch>-<seq, 12 digits>".
std::string BatchId(std::string_view epoch, int64_t seq);

// The BatchInfo of the current row of a statement selecting kBatchInfoColumns.
BatchInfo ReadBatchInfo(const sqlite::Statement& st, std::string_view epoch);

// One batch's data verified against its CRC32C: kNotFound when it is no
// longer stored, kCorrupt on a mismatch.
Result<std::string> LoadBatchData(sqlite::Database& db, int64_t seq, std::string_view epoch);

}  // namespace sluice
