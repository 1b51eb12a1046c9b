#include "transfer/drop/ledger.h"

#include <fmt/format.h>

#include "core/util/wall_clock.h"

namespace sluice::transfer::drop {
namespace {

constexpr int kFormatVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS observed(
  drop_name TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL, unchanged_since_ms INTEGER NOT NULL,
  PRIMARY KEY(drop_name, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files(
  id INTEGER PRIMARY KEY,
  drop_name TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL, claimed_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  state TEXT NOT NULL, version INTEGER NOT NULL, date TEXT NOT NULL,
  landed_path TEXT NOT NULL, sha256 TEXT NOT NULL, landed_bytes INTEGER NOT NULL,
  reason TEXT NOT NULL, post_action TEXT NOT NULL, attempts INTEGER NOT NULL,
  finished INTEGER NOT NULL, logged INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS files_identity ON files(drop_name, path, size, mtime_ns);
CREATE INDEX IF NOT EXISTS files_unfinished ON files(drop_name, finished);
CREATE INDEX IF NOT EXISTS files_content ON files(drop_name, sha256);
CREATE INDEX IF NOT EXISTS files_updated ON files(drop_name, updated_ms);
CREATE UNIQUE INDEX IF NOT EXISTS files_landed_path ON files(landed_path) WHERE landed_path <> '';
CREATE INDEX IF NOT EXISTS files_unlogged ON files(drop_name, id) WHERE logged = 0;
)sql";

constexpr const char* kColumns =
    "id, drop_name, path, size, mtime_ns, first_seen_ms, claimed_ms, updated_ms, state, version, date, landed_path, "
    "sha256, landed_bytes, reason, post_action, attempts, finished, logged";

FileState ParseState(const std::string& s) {
  if (s == "copied") return FileState::kCopied;
  if (s == "landed") return FileState::kLanded;
  if (s == "duplicate") return FileState::kDuplicate;
  if (s == "quarantined") return FileState::kQuarantined;
  return FileState::kClaimed;
}

FileRow ReadRow(const sqlite::Statement& st) {
  FileRow r;
  r.id = st.Int(0);
  r.drop = st.Text(1);
  r.path = st.Text(2);
  r.size = static_cast<uint64_t>(st.Int(3));
  r.mtime_ns = st.Int(4);
  r.first_seen_ms = st.Int(5);
  r.claimed_ms = st.Int(6);
  r.updated_ms = st.Int(7);
  r.state = ParseState(st.Text(8));
  r.version = static_cast<int>(st.Int(9));
  r.date = st.Text(10);
  r.landed_path = st.Text(11);
  r.sha256 = st.Text(12);
  r.landed_bytes = static_cast<uint64_t>(st.Int(13));
  r.reason = st.Text(14);
  r.post_action = st.Text(15);
  r.attempts = static_cast<int>(st.Int(16));
  r.finished = st.Int(17) != 0;
  r.logged = st.Int(18) != 0;
  return r;
}

// Rows that hold (or may still take) their landing path.
constexpr const char* kMayLand = "state IN ('claimed', 'copied', 'landed')";

}  // namespace

const char* FileStateName(FileState s) {
  switch (s) {
    case FileState::kClaimed:
      return "claimed";
    case FileState::kCopied:
      return "copied";
    case FileState::kLanded:
      return "landed";
    case FileState::kDuplicate:
      return "duplicate";
    case FileState::kQuarantined:
      return "quarantined";
  }
  return "claimed";
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path) {
  Result<sqlite::Database> db = sqlite::Database::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!db.ok()) return db.status();
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(db).value()));
  if (Status s = ledger->Init(); !s.ok()) return s;
  return ledger;
}

Status Ledger::Init() {
  sqlite3_busy_timeout(db_.get(), 30'000);
  // FULL: a commit is on disk when it returns, because the next step (a
  // rename, a move on the partner's server) must never run ahead of it.
  if (Status s = db_.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"); !s.ok()) return s;
  if (Status s = db_.Exec(kSchema); !s.ok()) return s;
  Result<sqlite::Statement> get = db_.Prepare("SELECT value FROM meta WHERE key = 'format'");
  if (!get.ok()) return get.status();
  Result<bool> row = get.value().Step();
  if (!row.ok()) return row.status();
  if (!row.value()) {
    return db_.Exec(fmt::format("INSERT INTO meta(key, value) VALUES('format', '{}')", kFormatVersion));
  }
  const std::string version = get.value().Text(0);
  if (version != std::to_string(kFormatVersion)) {
    return Status::InvalidArgument(fmt::format("{}: ledger format {} is not one this sluice reads (it reads {})",
                                               db_.path(), version, kFormatVersion));
  }
  return Status::Ok();
}

Result<sqlite::Statement*> Ledger::Stmt(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    Result<sqlite::Statement> st = db_.Prepare(sql);
    if (!st.ok()) return st.status();
    it = statements_.emplace(sql, std::move(st).value()).first;
  }
  it->second.Reset();
  return &it->second;
}

Status Ledger::Begin() { return db_.Exec("BEGIN IMMEDIATE"); }
Status Ledger::Commit() { return db_.Exec("COMMIT"); }
void Ledger::Rollback() { (void)db_.Exec("ROLLBACK"); }

Result<std::map<std::string, Observation>> Ledger::Observations(std::string_view drop) {
  Result<sqlite::Statement*> st =
      Stmt("SELECT path, size, mtime_ns, first_seen_ms, unchanged_since_ms FROM observed WHERE drop_name = ?1");
  if (!st.ok()) return st.status();
  sqlite::Statement& q = *st.value();
  q.Bind(1, drop);
  std::map<std::string, Observation> out;
  for (;;) {
    Result<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    Observation o{q.Text(0), static_cast<uint64_t>(q.Int(1)), q.Int(2), q.Int(3), q.Int(4)};
    out.emplace(o.path, std::move(o));
  }
  q.Reset();
  return out;
}

Status Ledger::PutObservation(std::string_view drop, const Observation& o) {
  Result<sqlite::Statement*> st = Stmt(
      "INSERT OR REPLACE INTO observed(drop_name, path, size, mtime_ns, first_seen_ms, unchanged_since_ms) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st.ok()) return st.status();
  return st.value()
      ->Bind(1, drop)
      .Bind(2, o.path)
      .Bind(3, static_cast<int64_t>(o.size))
      .Bind(4, o.mtime_ns)
      .Bind(5, o.first_seen_ms)
      .Bind(6, o.unchanged_since_ms)
      .Run();
}

Status Ledger::RemoveObservation(std::string_view drop, std::string_view path) {
  Result<sqlite::Statement*> st = Stmt("DELETE FROM observed WHERE drop_name = ?1 AND path = ?2");
  if (!st.ok()) return st.status();
  return st.value()->Bind(1, drop).Bind(2, path).Run();
}

Result<std::vector<FileRow>> Ledger::Rows(std::string_view where_sql,
                                          const std::function<void(sqlite::Statement&)>& bind) {
  Result<sqlite::Statement*> st = Stmt(fmt::format("SELECT {} FROM files WHERE {}", kColumns, where_sql));
  if (!st.ok()) return st.status();
  sqlite::Statement& q = *st.value();
  bind(q);
  std::vector<FileRow> out;
  for (;;) {
    Result<bool> row = q.Step();
    if (!row.ok()) {
      q.Reset();
      return row.status();
    }
    if (!row.value()) break;
    out.push_back(ReadRow(q));
  }
  q.Reset();
  return out;
}

Result<std::optional<FileRow>> Ledger::FindByIdentity(std::string_view drop, std::string_view path, uint64_t size,
                                                      int64_t mtime_ns) {
  Result<std::vector<FileRow>> rows =
      Rows("drop_name = ?1 AND path = ?2 AND size = ?3 AND mtime_ns = ?4 ORDER BY id DESC LIMIT 1",
           [&](sqlite::Statement& q) {
             q.Bind(1, drop).Bind(2, path).Bind(3, static_cast<int64_t>(size)).Bind(4, mtime_ns);
           });
  if (!rows.ok()) return rows.status();
  if (rows.value().empty()) return std::optional<FileRow>();
  return std::optional<FileRow>(std::move(rows.value().front()));
}

Result<std::vector<FileRow>> Ledger::Unfinished(std::string_view drop) {
  return Rows("drop_name = ?1 AND finished = 0 ORDER BY id", [&](sqlite::Statement& q) { q.Bind(1, drop); });
}

Result<std::optional<FileRow>> Ledger::FindLandedContent(std::string_view drop, std::string_view sha256,
                                                         std::string_view path, bool any_path, int64_t except_id) {
  Result<std::vector<FileRow>> rows = Rows(
      "drop_name = ?1 AND sha256 = ?2 AND state = 'landed' AND id <> ?3 AND (?4 OR path = ?5) "
      "ORDER BY id LIMIT 1",
      [&](sqlite::Statement& q) {
        q.Bind(1, drop).Bind(2, sha256).Bind(3, except_id).Bind(4, int64_t{any_path ? 1 : 0}).Bind(5, path);
      });
  if (!rows.ok()) return rows.status();
  if (rows.value().empty()) return std::optional<FileRow>();
  return std::optional<FileRow>(std::move(rows.value().front()));
}

Result<std::vector<FileRow>> Ledger::Unlogged(std::string_view drop) {
  return Rows("drop_name = ?1 AND logged = 0 AND state IN ('landed', 'duplicate', 'quarantined') ORDER BY id",
              [&](sqlite::Statement& q) { q.Bind(1, drop); });
}

Result<FileRow> Ledger::Get(int64_t id) {
  Result<std::vector<FileRow>> rows = Rows("id = ?1", [&](sqlite::Statement& q) { q.Bind(1, id); });
  if (!rows.ok()) return rows.status();
  if (rows.value().empty()) return Status::NotFound(fmt::format("{}: no file row {}", db_.path(), id));
  return std::move(rows.value().front());
}

Result<bool> Ledger::PathTaken(std::string_view landed_path, int64_t except_id) {
  Result<sqlite::Statement*> st = Stmt("SELECT 1 FROM files WHERE landed_path = ?1 AND landed_path <> '' AND id <> ?2");
  if (!st.ok()) return st.status();
  sqlite::Statement& q = *st.value();
  q.Bind(1, landed_path).Bind(2, except_id);
  Result<bool> row = q.Step();
  q.Reset();
  return row;
}

Status Ledger::Claim(FileRow& row, const std::function<std::string(int version)>& landing) {
  Result<sqlite::Statement*> count =
      Stmt(fmt::format("SELECT COUNT(*) FROM files WHERE drop_name = ?1 AND path = ?2 AND {}", kMayLand));
  if (!count.ok()) return count.status();
  sqlite::Statement& c = *count.value();
  c.Bind(1, row.drop).Bind(2, row.path);
  Result<bool> has = c.Step();
  if (!has.ok()) return has.status();
  row.version = static_cast<int>(c.Int(0)) + 1;
  c.Reset();
  row.landed_path.clear();
  if (Status s = Rereserve(row, landing); !s.ok()) return s;

  Result<sqlite::Statement*> ins = Stmt(
      "INSERT INTO files(drop_name, path, size, mtime_ns, first_seen_ms, claimed_ms, updated_ms, state, version, "
      "date, landed_path, sha256, landed_bytes, reason, post_action, attempts, finished, logged) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, 'claimed', ?7, ?8, ?9, '', 0, '', '', 0, 0, 0)");
  if (!ins.ok()) return ins.status();
  if (Status s = ins.value()
                     ->Bind(1, row.drop)
                     .Bind(2, row.path)
                     .Bind(3, static_cast<int64_t>(row.size))
                     .Bind(4, row.mtime_ns)
                     .Bind(5, row.first_seen_ms)
                     .Bind(6, row.claimed_ms)
                     .Bind(7, int64_t{row.version})
                     .Bind(8, row.date)
                     .Bind(9, row.landed_path)
                     .Run();
      !s.ok()) {
    return s;
  }
  row.id = sqlite3_last_insert_rowid(db_.get());
  row.updated_ms = row.claimed_ms;
  row.state = FileState::kClaimed;
  return Status::Ok();
}

Status Ledger::Rereserve(FileRow& row, const std::function<std::string(int version)>& landing) {
  const std::string current = row.landed_path;
  for (int tries = 0; tries < 100000; ++tries) {
    const std::string candidate = landing(row.version);
    if (candidate != current) {
      Result<bool> taken = PathTaken(candidate, row.id);
      if (!taken.ok()) return taken.status();
      if (!taken.value()) {
        row.landed_path = candidate;
        return Status::Ok();
      }
    }
    ++row.version;
  }
  return Status::Internal(fmt::format("{}: no free landing path for {}", db_.path(), row.path));
}

Status Ledger::Update(FileRow& row) {
  row.updated_ms = WallClockMs();
  Result<sqlite::Statement*> st = Stmt(
      "UPDATE files SET updated_ms = ?2, state = ?3, version = ?4, landed_path = ?5, sha256 = ?6, landed_bytes = ?7, "
      "reason = ?8, post_action = ?9, attempts = ?10, finished = ?11 WHERE id = ?1");
  if (!st.ok()) return st.status();
  return st.value()
      ->Bind(1, row.id)
      .Bind(2, row.updated_ms)
      .Bind(3, FileStateName(row.state))
      .Bind(4, int64_t{row.version})
      .Bind(5, row.landed_path)
      .Bind(6, row.sha256)
      .Bind(7, static_cast<int64_t>(row.landed_bytes))
      .Bind(8, row.reason)
      .Bind(9, row.post_action)
      .Bind(10, int64_t{row.attempts})
      .Bind(11, int64_t{row.finished ? 1 : 0})
      .Run();
}

Status Ledger::MarkLogged(int64_t id) {
  Result<sqlite::Statement*> st = Stmt("UPDATE files SET logged = 1 WHERE id = ?1");
  if (!st.ok()) return st.status();
  return st.value()->Bind(1, id).Run();
}

Status Ledger::Delete(int64_t id) {
  Result<sqlite::Statement*> st = Stmt("DELETE FROM files WHERE id = ?1");
  if (!st.ok()) return st.status();
  return st.value()->Bind(1, id).Run();
}

Result<DropCounts> Ledger::Counts(std::string_view drop) {
  Result<sqlite::Statement*> st = Stmt(
      "SELECT state, finished, COUNT(*), COALESCE(SUM(landed_bytes), 0) FROM files WHERE drop_name = ?1 "
      "GROUP BY state, finished");
  if (!st.ok()) return st.status();
  sqlite::Statement& q = *st.value();
  q.Bind(1, drop);
  DropCounts c;
  for (;;) {
    Result<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    const FileState state = ParseState(q.Text(0));
    const bool finished = q.Int(1) != 0;
    const int64_t n = q.Int(2);
    switch (state) {
      case FileState::kClaimed:
      case FileState::kCopied:
        c.in_progress += n;
        break;
      case FileState::kLanded:
        c.landed += n;
        c.landed_bytes += static_cast<uint64_t>(q.Int(3));
        break;
      case FileState::kDuplicate:
        c.duplicate += n;
        break;
      case FileState::kQuarantined:
        c.quarantined += n;
        break;
    }
    if (!finished &&
        (state == FileState::kLanded || state == FileState::kDuplicate || state == FileState::kQuarantined)) {
      c.waiting_post_action += n;
    }
  }
  q.Reset();
  return c;
}

Result<std::vector<FileRow>> Ledger::Recent(std::string_view drop, int limit) {
  return Rows("drop_name = ?1 ORDER BY updated_ms DESC, id DESC LIMIT ?2",
              [&](sqlite::Statement& q) { q.Bind(1, drop).Bind(2, int64_t{limit}); });
}

Result<std::vector<std::string>> Ledger::Drops() {
  Result<sqlite::Statement*> st = Stmt("SELECT drop_name FROM files UNION SELECT drop_name FROM observed ORDER BY 1");
  if (!st.ok()) return st.status();
  sqlite::Statement& q = *st.value();
  std::vector<std::string> out;
  for (;;) {
    Result<bool> row = q.Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    out.push_back(q.Text(0));
  }
  q.Reset();
  return out;
}

}  // namespace sluice::transfer::drop
