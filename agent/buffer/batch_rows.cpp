#include "agent/buffer/batch_rows.h"

#include <cstdio>

#include "core/checksum/crc32c.h"

namespace sluice {

std::string BatchId(std::string_view epoch, int64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012lld", static_cast<long long>(seq));
  return std::string(epoch) + "-" + buf;
}

BatchInfo ReadBatchInfo(const sqlite::Statement& st, std::string_view epoch) {
  BatchInfo b;
  b.seq = st.Int(0);
  b.id = BatchId(epoch, b.seq);
  b.source = st.Text(1);
  b.created_ms = st.Int(2);
  b.first_ts_ms = st.Int(3);
  b.last_ts_ms = st.Int(4);
  b.records = static_cast<uint32_t>(st.Int(5));
  b.raw_bytes = static_cast<uint64_t>(st.Int(6));
  b.stored_bytes = static_cast<uint64_t>(st.Int(7));
  return b;
}

Result<std::string> LoadBatchData(sqlite::Database& db, int64_t seq, std::string_view epoch) {
  Result<sqlite::Statement> st = db.Prepare("SELECT data, crc32c FROM batches WHERE seq = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, seq);
  Result<bool> row = st->Step();
  if (!row.ok()) return row.status();
  if (!row.value()) return Status::NotFound("batch " + BatchId(epoch, seq) + " is no longer in the buffer");
  std::string data(st->Blob(0));
  const auto expected = static_cast<uint32_t>(st->Int(1));
  if (Crc32c(data) != expected) {
    return Status::Corrupt("batch " + BatchId(epoch, seq) + " in " + db.path() + " failed its CRC32C check");
  }
  return data;
}

}  // namespace sluice
