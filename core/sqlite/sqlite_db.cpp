#include "core/sqlite/sqlite_db.h"

namespace sluice::sqlite {

Result<Database> Database::Open(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db;
  db.db_.reset(raw);
  db.path_ = path;
  if (rc != SQLITE_OK) {
    std::string msg = path + ": cannot open SQLite database: ";
    msg += raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? Status::Corrupt(msg) : Status::Io(msg);
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Status Database::Error(std::string_view what) const {
  const int code = sqlite3_errcode(db_.get());
  std::string msg = path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_.get());
  switch (code & 0xff) {
    case SQLITE_FULL: return Status::NoSpace(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::Corrupt(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::Unavailable(msg);
    default: return Status::Io(msg);
  }
}

Status Database::Exec(std::string_view sql) {
  const std::string s(sql);
  if (sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return Error(s);
  return Status::Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                         nullptr) != SQLITE_OK) {
    return Error("preparing \"" + std::string(sql) + "\"");
  }
  return Statement(stmt, this);
}

Statement& Statement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_.get(), i, v);
  return *this;
}

Statement& Statement::Bind(int i, std::string_view text) {
  sqlite3_bind_text64(stmt_.get(), i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::BindBlob(int i, std::string_view bytes) {
  // SQLITE_STATIC: callers keep the bytes alive until Step/Run returns.
  sqlite3_bind_blob64(stmt_.get(), i, bytes.data(), bytes.size(), SQLITE_STATIC);
  return *this;
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(std::string("executing \"") + sqlite3_sql(stmt_.get()) + "\"");
}

Status Statement::Run() {
  Result<bool> r = Step();
  Reset();
  if (!r.ok()) return r.status();
  return Status::Ok();
}

void Statement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::string Statement::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))) : std::string();
}

std::string_view Statement::Blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), col));
  return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))) : std::string_view();
}

}  // namespace sluice::sqlite
