#include "agent/buffer/buffer_reader.h"

#include <nlohmann/json.hpp>

#include "agent/buffer/batch_rows.h"

namespace sluice {

namespace {

// A batch belongs to the window its first record's time falls in: the time
// the lake and S3 sinks choose its partition by, so replaying an hour
// rebuilds exactly that hour's partition and touches no other.
constexpr std::string_view kWindow =
    "source IN (SELECT value FROM json_each(?1)) AND first_ts_ms >= ?2 AND first_ts_ms < ?3";

}  // namespace

Result<BufferReader> BufferReader::Open(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "buffer.db";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound("no buffer at " + path.string());
  Result<sqlite::Database> db = sqlite::Database::Open(path.string(), SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.status();
  // The agent may hold the write lock for a moment; readers wait, not fail.
  sqlite3_busy_timeout(db->get(), 5000);
  Result<sqlite::Statement> st = db->Prepare("SELECT value FROM meta WHERE key = 'epoch'");
  if (!st.ok()) return st.status();
  Result<bool> row = st->Step();
  if (!row.ok()) return row.status();
  if (!row.value()) return Status::Corrupt(path.string() + " has no epoch in its meta table");
  std::string epoch = st->Text(0);
  return BufferReader(std::move(db).value(), std::move(epoch));
}

Result<std::vector<BatchInfo>> BufferReader::ListWindow(const std::vector<std::string>& sources, int64_t since_ms,
                                                        int64_t until_ms, int64_t after_seq, size_t max_batches,
                                                        uint64_t max_bytes) {
  Result<sqlite::Statement> st = db_.Prepare("SELECT " + std::string(kBatchInfoColumns) + " FROM batches WHERE " +
                                             std::string(kWindow) + " AND seq > ?4 ORDER BY seq LIMIT ?5");
  if (!st.ok()) return st.status();
  st->Bind(1, nlohmann::json(sources).dump())
      .Bind(2, since_ms)
      .Bind(3, until_ms)
      .Bind(4, after_seq)
      .Bind(5, static_cast<int64_t>(max_batches));
  std::vector<BatchInfo> out;
  uint64_t total = 0;
  for (;;) {
    Result<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    BatchInfo b = ReadBatchInfo(*st, epoch_);
    if (!out.empty() && total + b.stored_bytes > max_bytes) break;
    total += b.stored_bytes;
    out.push_back(std::move(b));
  }
  return out;
}

Result<BufferReader::WindowSize> BufferReader::CountWindow(const std::vector<std::string>& sources, int64_t since_ms,
                                                           int64_t until_ms) {
  Result<sqlite::Statement> st =
      db_.Prepare("SELECT count(*), coalesce(sum(records), 0), coalesce(sum(stored_bytes), 0) FROM batches WHERE " +
                  std::string(kWindow));
  if (!st.ok()) return st.status();
  st->Bind(1, nlohmann::json(sources).dump()).Bind(2, since_ms).Bind(3, until_ms);
  Result<bool> row = st->Step();
  if (!row.ok()) return row.status();
  return WindowSize{st->Int(0), st->Int(1), st->Int(2)};
}

Result<std::string> BufferReader::LoadBatch(int64_t seq) { return LoadBatchData(db_, seq, epoch_); }

Result<std::optional<int64_t>> BufferReader::Cursor(const std::string& sink) {
  Result<sqlite::Statement> st = db_.Prepare("SELECT cursor FROM sinks WHERE name = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, sink);
  Result<bool> row = st->Step();
  if (!row.ok()) return row.status();
  if (!row.value()) return std::optional<int64_t>();
  return std::optional<int64_t>(st->Int(0));
}

}  // namespace sluice
