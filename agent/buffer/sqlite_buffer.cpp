// The SQLite implementation of Buffer. Format and transactions: buffer_format.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <system_error>

#include "agent/buffer/batch_rows.h"
#include "agent/buffer/buffer.h"
#include "core/checksum/crc32c.h"
#include "core/sqlite/sqlite_db.h"
#include "core/util/wall_clock.h"

namespace sluice {
namespace {

constexpr int kFormatVersion = 2;
// Version 1 lacks only the staged table, which kSchema creates: opening a
// version 1 database upgrades it in place.
constexpr int kOldestReadableVersion = 1;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  first_ts_ms INTEGER NOT NULL,
  last_ts_ms INTEGER NOT NULL,
  records INTEGER NOT NULL,
  raw_bytes INTEGER NOT NULL,
  stored_bytes INTEGER NOT NULL,
  crc32c INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS batches_by_source ON batches(source, seq);
CREATE TABLE IF NOT EXISTS checkpoints (
  source TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (source, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sinks (
  name TEXT PRIMARY KEY, cursor INTEGER NOT NULL, sources TEXT NOT NULL, updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS staged (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  crc32c INTEGER NOT NULL,
  record BLOB NOT NULL);
)sql";

std::string UtcStamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string SourcesJson(const std::vector<std::string>& sources) { return nlohmann::json(sources).dump(); }

class SqliteBuffer final : public Buffer {
 public:
  SqliteBuffer(BufferOptions options, Logger log, MetricsRegistry& metrics)
      : options_(std::move(options)),
        log_(std::move(log)),
        metrics_(metrics),
        quarantined_(metrics.GetCounter("sluice_buffer_quarantined_total",
                                        "Buffer databases moved aside because they failed to open or check")),
        corrupt_batches_(
            metrics.GetCounter("sluice_buffer_corrupt_batches_total", "Stored batches whose data failed its CRC32C")),
        bytes_gauge_(metrics.GetGauge("sluice_buffer_bytes", "Bytes of batch data stored in the buffer")),
        batches_gauge_(metrics.GetGauge("sluice_buffer_batches", "Batches stored in the buffer")) {
    metrics.GetGauge("sluice_buffer_max_bytes", "The buffer's byte cap (buffer_max)")
        .Set(static_cast<double>(options_.max_bytes));
  }

  Status Init();

  using Buffer::Commit;
  using Buffer::CommitStaged;
  Status Commit(std::string_view source, std::span<const StreamBatch> batches,
                std::span<const CheckpointUpdate> updates, std::stop_token stop) override {
    return CommitImpl(source, batches, updates, stop, /*over_cap=*/false);
  }
  Status CommitOverCap(std::string_view source, std::span<const StreamBatch> batches,
                       std::span<const CheckpointUpdate> updates) override {
    return CommitImpl(source, batches, updates, {}, /*over_cap=*/true);
  }
  Result<std::map<std::string, std::string>> LoadCheckpoints(std::string_view source) override;
  Result<int64_t> Stage(std::string_view source, std::string_view record, int64_t ts_ms, std::stop_token stop,
                        bool over_cap) override;
  Status CommitStaged(std::string_view source, std::span<const StreamBatch> batches, int64_t through_id,
                      std::span<const CheckpointUpdate> updates) override;
  // Applies checkpoint updates; write_mu_ held, inside a transaction.
  Status WriteCheckpoints(std::string_view source, std::span<const CheckpointUpdate> updates);
  Result<std::vector<StagedRecord>> LoadStaged(std::string_view source) override;
  Status RegisterSink(std::string_view sink, const std::vector<std::string>& sources) override;
  Result<std::vector<BatchInfo>> ListPending(std::string_view sink, size_t max_batches, uint64_t max_bytes) override;
  Result<std::vector<StoredBatch>> ReadPending(std::string_view sink, size_t max_batches, uint64_t max_bytes) override;
  Result<std::string> LoadBatch(int64_t seq) override;
  Result<PendingSummary> Pending(std::string_view sink) override;
  Status Ack(std::string_view sink, int64_t seq) override;
  void WaitForData(int64_t after_seq, std::chrono::milliseconds timeout, std::stop_token stop) override;

  uint64_t stored_bytes() const override {
    std::lock_guard lock(state_mu_);
    return stored_bytes_;
  }
  int64_t last_seq() const override {
    std::lock_guard lock(state_mu_);
    return last_seq_;
  }
  const std::string& epoch() const override { return epoch_; }
  std::filesystem::path path() const override { return options_.dir / "buffer.db"; }

 private:
  struct SinkState {
    int64_t cursor = 0;
    std::vector<std::string> sources;
  };

  Status OpenAndCheck();
  Status Quarantine(const std::string& reason);
  Status PrepareStatements();
  // Both below run with write_mu_ held, inside a transaction.
  Status DeleteDelivered(bool ignore_retain);
  Status DropOldest(uint64_t need);
  Status MakeRoom(std::unique_lock<std::mutex>& lock, uint64_t need, std::stop_token stop, bool over_cap);
  Status CommitImpl(std::string_view source, std::span<const StreamBatch> batches,
                    std::span<const CheckpointUpdate> updates, std::stop_token stop, bool over_cap);
  // Inserts the non-empty batches; write_mu_ held, inside a transaction.
  // Returns how many it inserted and their bytes.
  Status InsertBatches(std::span<const StreamBatch> batches, int64_t* inserted, uint64_t* bytes);
  // Inserts one batch row; write_mu_ held, inside a transaction.
  Status InsertBatch(std::string_view source, const EncodedBatch& batch);
  // Min cursor over the sinks taking each source; state_mu_ held.
  std::map<std::string, int64_t> DeliveredUpTo() const;
  BatchInfo ReadInfo(const sqlite::Statement& st) const;
  void UpdateGauges() {
    bytes_gauge_.Set(static_cast<double>(stored_bytes_));
    batches_gauge_.Set(static_cast<double>(batch_count_));
  }
  Status Rollback(Status why) {
    (void)wdb_.Exec("ROLLBACK");
    return why;
  }

  BufferOptions options_;
  Logger log_;
  MetricsRegistry& metrics_;
  Counter& quarantined_;
  Counter& corrupt_batches_;
  Gauge& bytes_gauge_;
  Gauge& batches_gauge_;
  std::string epoch_;

  // Writes: one connection, serialized.
  std::mutex write_mu_;
  sqlite::Database wdb_;
  sqlite::Statement insert_batch_, upsert_checkpoint_, delete_checkpoint_, update_cursor_;
  sqlite::Statement insert_staged_, sum_staged_, delete_staged_;
  sqlite::Statement sum_delivered_, delete_delivered_, oldest_batches_, delete_seq_;
  std::condition_variable_any space_cv_;

  // Reads: a second connection, so sinks read while sources commit (WAL).
  std::mutex read_mu_;
  sqlite::Database rdb_;

  // In-memory state mirrored from the database.
  mutable std::mutex state_mu_;
  std::condition_variable_any data_cv_;
  std::map<std::string, SinkState, std::less<>> sinks_;
  uint64_t stored_bytes_ = 0;
  int64_t batch_count_ = 0;
  int64_t last_seq_ = 0;
  CollectorHandle collector_;
};


Status SqliteBuffer::OpenAndCheck() {
  const std::string db_path = path().string();
  Result<sqlite::Database> db =
      sqlite::Database::Open(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (!db.ok()) return db.status();
  wdb_ = std::move(db).value();
  sqlite3_busy_timeout(wdb_.get(), 10'000);

  // quick_check first: on a file that is not a database this is where SQLite says so.
  {
    Result<sqlite::Statement> st = wdb_.Prepare("PRAGMA quick_check");
    if (!st.ok()) return st.status();
    std::string verdict;
    for (;;) {
      Result<bool> row = st->Step();
      if (!row.ok()) return row.status();
      if (!row.value()) break;
      if (!verdict.empty()) verdict += "; ";
      verdict += st->Text(0);
      if (verdict.size() > 500) break;
    }
    if (verdict != "ok") return Status::Corrupt(db_path + ": PRAGMA quick_check failed: " + verdict);
  }
  {
    Result<sqlite::Statement> st = wdb_.Prepare("PRAGMA journal_mode=WAL");
    if (!st.ok()) return st.status();
    Result<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!row.value() || st->Text(0) != "wal") return Status::Io(db_path + ": cannot switch the database to WAL mode");
  }
  static constexpr std::string_view kSync[]{"OFF", "NORMAL", "FULL", "EXTRA"};
  // secure_delete=FAST: Debian builds SQLite with secure_delete on, which
  // overwrites every page of a delivered batch with zeros, writing each stored
  // byte twice more (to the WAL, then the database) on flash that wears. FAST
  // still clears deleted rows inside the pages a delete writes anyway.
  // wal_autocheckpoint: the WAL grows to 1/16 of buffer_max, between
  // SQLite's default 1,000 pages (~4 MiB) and 4,096 (16 MiB, the journal's
  // size limit), before a checkpoint copies it into the database. A page a
  // batch freed and the next one reused within that span is copied once:
  // 9% fewer bytes written with the default buffer_max (bench/README).
  const uint64_t wal_pages = std::clamp<uint64_t>(options_.max_bytes / 16 / 4096, 1000, 4096);
  const std::string pragmas = "PRAGMA synchronous=" + std::string(kSync[static_cast<int>(options_.durability)]) +
                              "; PRAGMA cache_size=-512; PRAGMA journal_size_limit=16777216;"
                              " PRAGMA foreign_keys=OFF; PRAGMA secure_delete=FAST; PRAGMA wal_autocheckpoint=" +
                              std::to_string(wal_pages) + ";";
  if (Status s = wdb_.Exec(pragmas); !s.ok()) return s;
  if (Status s = wdb_.Exec(kSchema); !s.ok()) return s;

  // The format version and epoch, written once when the database is new.
  Result<sqlite::Statement> get = wdb_.Prepare("SELECT value FROM meta WHERE key = ?1");
  if (!get.ok()) return get.status();
  get->Bind(1, std::string_view("format_version"));
  Result<bool> has = get->Step();
  if (!has.ok()) return has.status();
  if (has.value()) {
    const std::string version = get->Text(0);
    get->Reset();
    const int v = std::atoi(version.c_str());
    if (v < kOldestReadableVersion || v > kFormatVersion || version != std::to_string(v)) {
      return Status::InvalidArgument(db_path + ": buffer format version " + version +
                                     " is not one this sluice reads (" + std::to_string(kOldestReadableVersion) +
                                     " to " + std::to_string(kFormatVersion) +
                                     "); refusing to use it. Move it aside or use the sluice that wrote it.");
    }
    if (v != kFormatVersion) {
      // kSchema above already added what the newer version has.
      Result<sqlite::Statement> up = wdb_.Prepare("UPDATE meta SET value = ?1 WHERE key = 'format_version'");
      if (!up.ok()) return up.status();
      up->Bind(1, std::to_string(kFormatVersion));
      if (Status s = up->Run(); !s.ok()) return s;
      log_->info("{}: upgraded the buffer format from version {} to {}", db_path, version, kFormatVersion);
    }
    get->Bind(1, std::string_view("epoch"));
    Result<bool> e = get->Step();
    if (!e.ok()) return e.status();
    if (!e.value()) return Status::Corrupt(db_path + ": the meta table has no epoch");
    epoch_ = get->Text(0);
    get->Reset();
  } else {
    get->Reset();
    std::random_device rd;
    const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r));
    epoch_ = buf;
    Result<sqlite::Statement> put = wdb_.Prepare("INSERT INTO meta(key, value) VALUES (?1, ?2)");
    if (!put.ok()) return put.status();
    for (const auto& [k, v] :
         std::vector<std::pair<std::string, std::string>>{{"format_version", std::to_string(kFormatVersion)},
                                                          {"epoch", epoch_},
                                                          {"created_ms", std::to_string(WallClockMs())}}) {
      put->Bind(1, k).Bind(2, v);
      if (Status s = put->Run(); !s.ok()) return s;
    }
  }

  Result<sqlite::Statement> totals = wdb_.Prepare(
      "SELECT COALESCE(SUM(stored_bytes), 0), COUNT(*), "
      "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'batches'), 0) FROM batches");
  if (!totals.ok()) return totals.status();
  Result<bool> row = totals->Step();
  if (!row.ok()) return row.status();
  stored_bytes_ = static_cast<uint64_t>(totals->Int(0));
  batch_count_ = totals->Int(1);
  last_seq_ = totals->Int(2);
  totals->Reset();
  Result<sqlite::Statement> staged = wdb_.Prepare("SELECT COALESCE(SUM(length(record)), 0) FROM staged");
  if (!staged.ok()) return staged.status();
  Result<bool> srow = staged->Step();
  if (!srow.ok()) return srow.status();
  stored_bytes_ += static_cast<uint64_t>(staged->Int(0));
  staged->Reset();
  return Status::Ok();
}

Status SqliteBuffer::Quarantine(const std::string& reason) {
  wdb_ = sqlite::Database();
  const std::filesystem::path qdir = options_.dir / "quarantine";
  std::error_code ec;
  std::filesystem::create_directories(qdir, ec);
  if (ec) return Status::Io(qdir.string() + ": cannot create the quarantine directory: " + ec.message());
  const std::string stem = "buffer-" + UtcStamp() + "-" + std::to_string(::getpid());
  for (std::string_view suffix : {"", "-wal", "-shm"}) {
    const std::filesystem::path from = path().string() + std::string(suffix);
    if (!std::filesystem::exists(from, ec)) continue;
    const std::filesystem::path to = qdir / (stem + ".db" + std::string(suffix));
    std::filesystem::rename(from, to, ec);
    if (ec) return Status::Io("cannot move " + from.string() + " to " + to.string() + ": " + ec.message());
  }
  quarantined_.Inc();
  log_->error("buffer database {} is unusable ({}); moved it to {}/{}.db and starting with a fresh one",
              path().string(), reason, qdir.string(), stem);
  return Status::Ok();
}

Status SqliteBuffer::Init() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return Status::Io(options_.dir.string() + ": cannot create the data directory: " + ec.message());

  Status s = OpenAndCheck();
  if (s.code() == ErrorCode::kCorrupt) {
    if (Status q = Quarantine(s.message()); !q.ok()) return q;
    s = OpenAndCheck();
  }
  if (!s.ok()) return s;
  if (Status p = PrepareStatements(); !p.ok()) return p;

  Result<sqlite::Database> rdb = sqlite::Database::Open(path().string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!rdb.ok()) return rdb.status();
  rdb_ = std::move(rdb).value();
  sqlite3_busy_timeout(rdb_.get(), 10'000);
  if (Status r = rdb_.Exec("PRAGMA cache_size=-256"); !r.ok()) return r;
  UpdateGauges();

  collector_ = metrics_.AddCollector([this](MetricWriter& w) {
    std::vector<std::string> names;
    {
      std::lock_guard lock(state_mu_);
      for (const auto& [name, state] : sinks_) names.push_back(name);
    }
    const int64_t now = WallClockMs();
    for (const auto& name : names) {
      Result<PendingSummary> p = Pending(name);
      if (!p.ok()) continue;
      const Labels labels{{"sink", name}};
      w.Gauge("sluice_sink_pending_batches", "Batches waiting for this sink", labels, static_cast<double>(p->batches));
      w.Gauge("sluice_sink_pending_bytes", "Stored bytes waiting for this sink", labels,
              static_cast<double>(p->stored_bytes));
      const double age = p->batches == 0 ? 0.0 : static_cast<double>(now - p->oldest_record_ms) / 1000.0;
      w.Gauge("sluice_sink_oldest_unacked_age_seconds", "Age of the oldest record this sink has not delivered", labels,
              std::max(0.0, age));
    }
  });
  log_->info("buffer {} open: epoch {}, {} batches, {} bytes stored", path().string(), epoch_, batch_count_,
             stored_bytes_);
  return Status::Ok();
}

Status SqliteBuffer::PrepareStatements() {
  const auto prep = [&](sqlite::Statement& into, std::string_view sql) -> Status {
    Result<sqlite::Statement> st = wdb_.Prepare(sql);
    if (!st.ok()) return st.status();
    into = std::move(st).value();
    return Status::Ok();
  };
  Status s;
  if (!(s = prep(insert_batch_,
                 "INSERT INTO batches(source, created_ms, first_ts_ms, last_ts_ms, records, raw_bytes, "
                 "stored_bytes, crc32c, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"))
           .ok())
    return s;
  if (!(s = prep(upsert_checkpoint_,
                 "INSERT INTO checkpoints(source, key, value) VALUES (?1, ?2, ?3) "
                 "ON CONFLICT(source, key) DO UPDATE SET value = excluded.value"))
           .ok())
    return s;
  if (!(s = prep(delete_checkpoint_, "DELETE FROM checkpoints WHERE source = ?1 AND key = ?2")).ok()) return s;
  if (!(s = prep(update_cursor_, "UPDATE sinks SET cursor = MAX(cursor, ?2), updated_ms = ?3 WHERE name = ?1")).ok())
    return s;
  if (!(s = prep(sum_delivered_,
                 "SELECT COALESCE(SUM(stored_bytes), 0), COUNT(*) FROM batches "
                 "WHERE source = ?1 AND seq <= ?2 AND created_ms <= ?3"))
           .ok())
    return s;
  if (!(s = prep(delete_delivered_, "DELETE FROM batches WHERE source = ?1 AND seq <= ?2 AND created_ms <= ?3")).ok())
    return s;
  if (!(s = prep(oldest_batches_, "SELECT seq, source, records, stored_bytes FROM batches ORDER BY seq LIMIT 64")).ok())
    return s;
  if (!(s = prep(insert_staged_, "INSERT INTO staged(source, ts_ms, crc32c, record) VALUES (?1, ?2, ?3, ?4)")).ok())
    return s;
  if (!(s = prep(sum_staged_, "SELECT COALESCE(SUM(length(record)), 0) FROM staged WHERE source = ?1 AND id <= ?2"))
           .ok())
    return s;
  if (!(s = prep(delete_staged_, "DELETE FROM staged WHERE source = ?1 AND id <= ?2")).ok()) return s;
  return prep(delete_seq_, "DELETE FROM batches WHERE seq = ?1");
}

std::map<std::string, int64_t> SqliteBuffer::DeliveredUpTo() const {
  std::map<std::string, int64_t> upto;
  for (const auto& [name, sink] : sinks_) {
    for (const auto& src : sink.sources) {
      auto [it, inserted] = upto.try_emplace(src, sink.cursor);
      if (!inserted) it->second = std::min(it->second, sink.cursor);
    }
  }
  return upto;
}

Status SqliteBuffer::DeleteDelivered(bool ignore_retain) {
  std::map<std::string, int64_t> upto;
  {
    std::lock_guard lock(state_mu_);
    upto = DeliveredUpTo();
  }
  const int64_t before = ignore_retain || options_.retain.count() == 0 ? std::numeric_limits<int64_t>::max()
                                                                       : WallClockMs() - options_.retain.count();
  for (const auto& [source, seq] : upto) {
    sum_delivered_.Bind(1, source).Bind(2, seq).Bind(3, before);
    Result<bool> row = sum_delivered_.Step();
    if (!row.ok()) return row.status();
    const auto bytes = static_cast<uint64_t>(sum_delivered_.Int(0));
    const int64_t count = sum_delivered_.Int(1);
    sum_delivered_.Reset();
    if (count == 0) continue;
    delete_delivered_.Bind(1, source).Bind(2, seq).Bind(3, before);
    if (Status s = delete_delivered_.Run(); !s.ok()) return s;
    std::lock_guard lock(state_mu_);
    stored_bytes_ -= std::min(stored_bytes_, bytes);
    batch_count_ -= count;
  }
  return Status::Ok();
}

Status SqliteBuffer::DropOldest(uint64_t need) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> dropped;  // source -> records, batches
  while (true) {
    {
      std::lock_guard lock(state_mu_);
      if (stored_bytes_ + need <= options_.max_bytes || batch_count_ == 0) break;
    }
    std::vector<std::tuple<int64_t, std::string, int64_t, int64_t>> oldest;
    for (;;) {
      Result<bool> row = oldest_batches_.Step();
      if (!row.ok()) {
        oldest_batches_.Reset();
        return row.status();
      }
      if (!row.value()) break;
      oldest.emplace_back(oldest_batches_.Int(0), oldest_batches_.Text(1), oldest_batches_.Int(2),
                          oldest_batches_.Int(3));
    }
    oldest_batches_.Reset();
    if (oldest.empty()) break;
    for (const auto& [seq, source, records, bytes] : oldest) {
      delete_seq_.Bind(1, seq);
      if (Status s = delete_seq_.Run(); !s.ok()) return s;
      auto& d = dropped[source];
      d.first += static_cast<uint64_t>(records);
      d.second += 1;
      std::lock_guard lock(state_mu_);
      stored_bytes_ -= std::min(stored_bytes_, static_cast<uint64_t>(bytes));
      --batch_count_;
      if (stored_bytes_ + need <= options_.max_bytes) break;
    }
  }
  for (const auto& [source, d] : dropped) {
    metrics_
        .GetCounter("sluice_buffer_dropped_records_total", "Records dropped by overflow = drop_oldest",
                    {{"source", source}})
        .Inc(d.first);
    metrics_
        .GetCounter("sluice_buffer_dropped_batches_total", "Batches dropped by overflow = drop_oldest",
                    {{"source", source}})
        .Inc(d.second);
    log_->warn("buffer full ({} cap): dropped the {} oldest batches ({} records) of source {}", options_.max_bytes,
               d.second, d.first, source);
  }
  return Status::Ok();
}

Status SqliteBuffer::MakeRoom(std::unique_lock<std::mutex>& lock, uint64_t need, std::stop_token stop, bool over_cap) {
  const auto fits = [&] {
    std::lock_guard s(state_mu_);
    return stored_bytes_ + need <= options_.max_bytes;
  };
  if (fits()) return Status::Ok();
  // Delivered batches kept only for `retain` go first.
  if (options_.retain.count() > 0) {
    if (Status s = wdb_.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    if (Status s = DeleteDelivered(/*ignore_retain=*/true); !s.ok()) return Rollback(s);
    if (Status s = wdb_.Exec("COMMIT"); !s.ok()) return Rollback(s);
    UpdateGauges();
    if (fits()) return Status::Ok();
  }
  if (options_.overflow == Overflow::kDropOldest) {
    if (Status s = wdb_.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    if (Status s = DropOldest(need); !s.ok()) return Rollback(s);
    if (Status s = wdb_.Exec("COMMIT"); !s.ok()) return Rollback(s);
    UpdateGauges();
    return Status::Ok();
  }
  if (over_cap) {
    metrics_
        .GetCounter("sluice_buffer_over_cap_bytes_total",
                    "Bytes committed beyond buffer_max by a stopping MQTT source (see buffer.h)")
        .Inc(need);
    return Status::Ok();
  }
  // Block: sinks free space through Ack, which notifies space_cv_.
  while (!fits()) {
    if (stop.stop_requested()) return Status::Cancelled("stopped while waiting for buffer space");
    space_cv_.wait_for(lock, stop, std::chrono::seconds(1), [&] { return fits(); });
  }
  return Status::Ok();
}

Status SqliteBuffer::InsertBatch(std::string_view source, const EncodedBatch& batch) {
  insert_batch_.Bind(1, source)
      .Bind(2, WallClockMs())
      .Bind(3, batch.first_ts_ms)
      .Bind(4, batch.last_ts_ms)
      .Bind(5, static_cast<int64_t>(batch.records))
      .Bind(6, static_cast<int64_t>(batch.raw_bytes))
      .Bind(7, static_cast<int64_t>(batch.zstd.size()))
      .Bind(8, static_cast<int64_t>(Crc32c(batch.zstd)))
      .BindBlob(9, batch.zstd);
  return insert_batch_.Run();
}

Status SqliteBuffer::InsertBatches(std::span<const StreamBatch> batches, int64_t* inserted, uint64_t* bytes) {
  *inserted = 0;
  *bytes = 0;
  for (const StreamBatch& b : batches) {
    if (b.batch.empty()) continue;
    if (Status s = InsertBatch(b.stream, b.batch); !s.ok()) return s;
    ++*inserted;
    *bytes += b.batch.zstd.size();
  }
  return Status::Ok();
}

Status SqliteBuffer::WriteCheckpoints(std::string_view source, std::span<const CheckpointUpdate> updates) {
  for (const CheckpointUpdate& u : updates) {
    Status s;
    if (u.value) {
      upsert_checkpoint_.Bind(1, source).Bind(2, u.key).Bind(3, *u.value);
      s = upsert_checkpoint_.Run();
    } else {
      delete_checkpoint_.Bind(1, source).Bind(2, u.key);
      s = delete_checkpoint_.Run();
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status SqliteBuffer::CommitImpl(std::string_view source, std::span<const StreamBatch> batches,
                                std::span<const CheckpointUpdate> updates, std::stop_token stop, bool over_cap) {
  uint64_t need = 0;
  for (const StreamBatch& b : batches) {
    if (!b.batch.empty()) need += b.batch.zstd.size();
  }
  if (need > options_.max_bytes) {
    return Status::InvalidArgument("a batch of " + std::to_string(need) + " bytes cannot fit in buffer_max (" +
                                   std::to_string(options_.max_bytes) + " bytes)");
  }
  std::unique_lock lock(write_mu_);
  if (need > 0) {
    if (Status s = MakeRoom(lock, need, stop, over_cap); !s.ok()) return s;
  }
  if (Status s = wdb_.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  int64_t inserted = 0;
  uint64_t bytes = 0;
  if (Status s = InsertBatches(batches, &inserted, &bytes); !s.ok()) return Rollback(s);
  if (Status s = WriteCheckpoints(source, updates); !s.ok()) return Rollback(s);
  if (Status s = wdb_.Exec("COMMIT"); !s.ok()) return Rollback(s);
  if (inserted > 0) {
    {
      std::lock_guard s(state_mu_);
      stored_bytes_ += bytes;
      batch_count_ += inserted;
      last_seq_ = sqlite3_last_insert_rowid(wdb_.get());
      UpdateGauges();
    }
    data_cv_.notify_all();
  }
  return Status::Ok();
}

Result<int64_t> SqliteBuffer::Stage(std::string_view source, std::string_view record, int64_t ts_ms,
                                    std::stop_token stop, bool over_cap) {
  const uint64_t need = record.size();
  if (need > options_.max_bytes) {
    return Status::InvalidArgument("a record of " + std::to_string(need) + " bytes cannot fit in buffer_max (" +
                                   std::to_string(options_.max_bytes) + " bytes)");
  }
  std::unique_lock lock(write_mu_);
  if (Status s = MakeRoom(lock, need, stop, over_cap); !s.ok()) return s;
  // One statement outside BEGIN is its own transaction (autocommit).
  insert_staged_.Bind(1, source).Bind(2, ts_ms).Bind(3, static_cast<int64_t>(Crc32c(record))).BindBlob(4, record);
  if (Status s = insert_staged_.Run(); !s.ok()) return s;
  const int64_t id = sqlite3_last_insert_rowid(wdb_.get());
  std::lock_guard st(state_mu_);
  stored_bytes_ += need;
  UpdateGauges();
  return id;
}

Status SqliteBuffer::CommitStaged(std::string_view source, std::span<const StreamBatch> batches, int64_t through_id,
                                  std::span<const CheckpointUpdate> updates) {
  std::unique_lock lock(write_mu_);
  if (Status s = wdb_.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  sum_staged_.Bind(1, source).Bind(2, through_id);
  Result<bool> row = sum_staged_.Step();
  if (!row.ok()) return Rollback(row.status());
  const uint64_t staged_bytes = static_cast<uint64_t>(sum_staged_.Int(0));
  sum_staged_.Reset();
  delete_staged_.Bind(1, source).Bind(2, through_id);
  if (Status s = delete_staged_.Run(); !s.ok()) return Rollback(s);
  int64_t inserted = 0;
  uint64_t bytes = 0;
  if (Status s = InsertBatches(batches, &inserted, &bytes); !s.ok()) return Rollback(s);
  if (Status s = WriteCheckpoints(source, updates); !s.ok()) return Rollback(s);
  if (Status s = wdb_.Exec("COMMIT"); !s.ok()) return Rollback(s);
  {
    std::lock_guard st(state_mu_);
    stored_bytes_ = stored_bytes_ + bytes - std::min(stored_bytes_, staged_bytes);
    if (inserted > 0) {
      batch_count_ += inserted;
      last_seq_ = sqlite3_last_insert_rowid(wdb_.get());
    }
    UpdateGauges();
  }
  if (inserted > 0) data_cv_.notify_all();
  space_cv_.notify_all();
  return Status::Ok();
}

Result<std::vector<StagedRecord>> SqliteBuffer::LoadStaged(std::string_view source) {
  std::lock_guard lock(read_mu_);
  Result<sqlite::Statement> st =
      rdb_.Prepare("SELECT id, ts_ms, crc32c, record FROM staged WHERE source = ?1 ORDER BY id");
  if (!st.ok()) return st.status();
  st->Bind(1, source);
  std::vector<StagedRecord> out;
  for (;;) {
    Result<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    StagedRecord r{st->Int(0), st->Int(1), std::string(st->Blob(3))};
    if (static_cast<uint32_t>(st->Int(2)) != Crc32c(r.record)) {
      corrupt_batches_.Inc();
      log_->error("staged record {} of source {} fails its CRC32C; skipping it", r.id, source);
      continue;
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::map<std::string, std::string>> SqliteBuffer::LoadCheckpoints(std::string_view source) {
  std::lock_guard lock(read_mu_);
  Result<sqlite::Statement> st = rdb_.Prepare("SELECT key, value FROM checkpoints WHERE source = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, source);
  std::map<std::string, std::string> out;
  for (;;) {
    Result<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    out.emplace(st->Text(0), st->Text(1));
  }
  return out;
}

Status SqliteBuffer::RegisterSink(std::string_view sink, const std::vector<std::string>& sources) {
  std::lock_guard lock(write_mu_);
  Result<sqlite::Statement> ins = wdb_.Prepare(
      "INSERT INTO sinks(name, cursor, sources, updated_ms) "
      "VALUES (?1, (SELECT COALESCE(MIN(seq), 1) - 1 FROM batches), ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET sources = excluded.sources");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, sink).Bind(2, SourcesJson(sources)).Bind(3, WallClockMs());
  if (Status s = ins->Run(); !s.ok()) return s;
  Result<sqlite::Statement> get = wdb_.Prepare("SELECT cursor FROM sinks WHERE name = ?1");
  if (!get.ok()) return get.status();
  get->Bind(1, sink);
  Result<bool> row = get->Step();
  if (!row.ok()) return row.status();
  std::lock_guard s(state_mu_);
  sinks_[std::string(sink)] = SinkState{get->Int(0), sources};
  return Status::Ok();
}

BatchInfo SqliteBuffer::ReadInfo(const sqlite::Statement& st) const { return ReadBatchInfo(st, epoch_); }

Result<std::vector<BatchInfo>> SqliteBuffer::ListPending(std::string_view sink, size_t max_batches,
                                                         uint64_t max_bytes) {
  SinkState state;
  {
    std::lock_guard s(state_mu_);
    auto it = sinks_.find(sink);
    if (it == sinks_.end()) return Status::NotFound("sink '" + std::string(sink) + "' is not registered");
    state = it->second;
  }
  std::lock_guard lock(read_mu_);
  Result<sqlite::Statement> st =
      rdb_.Prepare("SELECT " + std::string(kBatchInfoColumns) +
                   " FROM batches WHERE seq > ?1 AND source IN (SELECT value FROM json_each(?2)) "
                   "ORDER BY seq LIMIT ?3");
  if (!st.ok()) return st.status();
  st->Bind(1, state.cursor).Bind(2, SourcesJson(state.sources)).Bind(3, static_cast<int64_t>(max_batches));
  std::vector<BatchInfo> out;
  uint64_t total = 0;
  for (;;) {
    Result<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    BatchInfo b = ReadInfo(*st);
    if (!out.empty() && total + b.stored_bytes > max_bytes) break;
    total += b.stored_bytes;
    out.push_back(std::move(b));
  }
  return out;
}

Result<std::string> SqliteBuffer::LoadBatch(int64_t seq) {
  std::lock_guard lock(read_mu_);
  Result<std::string> data = LoadBatchData(rdb_, seq, epoch_);
  if (data.status().code() == ErrorCode::kCorrupt) corrupt_batches_.Inc();
  return data;
}

Result<std::vector<StoredBatch>> SqliteBuffer::ReadPending(std::string_view sink, size_t max_batches,
                                                           uint64_t max_bytes) {
  Result<std::vector<BatchInfo>> infos = ListPending(sink, max_batches, max_bytes);
  if (!infos.ok()) return infos.status();
  std::vector<StoredBatch> out;
  for (BatchInfo& info : infos.value()) {
    Result<std::string> data = LoadBatch(info.seq);
    if (!data.ok()) return data.status();
    StoredBatch b;
    static_cast<BatchInfo&>(b) = std::move(info);
    b.zstd = std::move(data).value();
    out.push_back(std::move(b));
  }
  return out;
}

Result<PendingSummary> SqliteBuffer::Pending(std::string_view sink) {
  SinkState state;
  {
    std::lock_guard s(state_mu_);
    auto it = sinks_.find(sink);
    if (it == sinks_.end()) return Status::NotFound("sink '" + std::string(sink) + "' is not registered");
    state = it->second;
  }
  std::lock_guard lock(read_mu_);
  Result<sqlite::Statement> st = rdb_.Prepare(
      "SELECT COUNT(*), COALESCE(SUM(stored_bytes), 0), COALESCE(MIN(created_ms), 0), "
      "COALESCE(MIN(first_ts_ms), 0) FROM batches WHERE seq > ?1 AND source IN (SELECT value FROM json_each(?2))");
  if (!st.ok()) return st.status();
  st->Bind(1, state.cursor).Bind(2, SourcesJson(state.sources));
  Result<bool> row = st->Step();
  if (!row.ok()) return row.status();
  PendingSummary p;
  p.batches = st->Int(0);
  p.stored_bytes = static_cast<uint64_t>(st->Int(1));
  p.oldest_created_ms = st->Int(2);
  p.oldest_record_ms = st->Int(3);
  return p;
}

Status SqliteBuffer::Ack(std::string_view sink, int64_t seq) {
  {
    std::lock_guard lock(write_mu_);
    {
      std::lock_guard s(state_mu_);
      auto it = sinks_.find(sink);
      if (it == sinks_.end()) return Status::NotFound("sink '" + std::string(sink) + "' is not registered");
      if (seq <= it->second.cursor) return Status::Ok();
    }
    if (Status s = wdb_.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    update_cursor_.Bind(1, sink).Bind(2, seq).Bind(3, WallClockMs());
    if (Status s = update_cursor_.Run(); !s.ok()) return Rollback(s);
    int64_t previous = 0;
    const auto set_cursor = [&](int64_t v) {
      std::lock_guard s(state_mu_);
      auto& cursor = sinks_.find(sink)->second.cursor;
      previous = cursor;
      cursor = v;
    };
    set_cursor(seq);  // DeleteDelivered reads the in-memory cursors
    Status s = DeleteDelivered(/*ignore_retain=*/false);
    if (s.ok()) s = wdb_.Exec("COMMIT");
    if (!s.ok()) {
      set_cursor(previous);
      return Rollback(s);
    }
    std::lock_guard g(state_mu_);
    UpdateGauges();
  }
  space_cv_.notify_all();
  return Status::Ok();
}

void SqliteBuffer::WaitForData(int64_t after_seq, std::chrono::milliseconds timeout, std::stop_token stop) {
  std::unique_lock lock(state_mu_);
  data_cv_.wait_for(lock, stop, timeout, [&] { return last_seq_ > after_seq; });
}

}  // namespace

Result<std::unique_ptr<Buffer>> Buffer::Open(const BufferOptions& options, Logger log, MetricsRegistry& metrics) {
  auto buffer = std::make_unique<SqliteBuffer>(options, std::move(log), metrics);
  if (Status s = buffer->Init(); !s.ok()) return s;
  return std::unique_ptr<Buffer>(std::move(buffer));
}

}  // namespace sluice
