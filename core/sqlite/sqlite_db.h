// Thin RAII wrappers over the SQLite C API: a connection and a prepared
// statement. Errors come back as Status values that name the database file
// and SQLite's message. Not thread-safe; callers serialize access.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::sqlite {

class Statement;

class Database {
 public:
  static Result<Database> Open(const std::string& path, int flags);
  Database() = default;

  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  // A Status for the connection's last error, with `what` as context.
  Status Error(std::string_view what) const;
  int64_t Changes() const { return sqlite3_changes64(db_.get()); }
  sqlite3* get() const { return db_.get(); }
  const std::string& path() const { return path_; }

 private:
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Close> db_;
  std::string path_;
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3_stmt* stmt, const Database* db) : stmt_(stmt), db_(db) {}

  Statement& Bind(int i, int64_t v);
  Statement& Bind(int i, std::string_view text);
  Statement& BindBlob(int i, std::string_view bytes);
  // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else -> error Status.
  Result<bool> Step();
  // Step to completion, expecting no rows.
  Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  std::string Text(int col) const;
  std::string_view Blob(int col) const;

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
  const Database* db_ = nullptr;
};

}  // namespace sluice::sqlite
