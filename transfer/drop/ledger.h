// The drop ledger: a SQLite database (WAL, synchronous=FULL) that records,
// per drop, what the inbox looked like (observations, for completeness
// detection across polls and restarts) and every file taken, with the step it
// has reached. It is the single source of truth for "exactly once".
//
// A file row moves through these states, each committed only after the step
// it names is durable:
//   claimed      identity (path, size, mtime) recorded; its landing path reserved
//   copied       the landed bytes sit under a temporary name, durable and verified;
//                sha256 (of the source bytes) known
//   landed       renamed to landed_path and the destination flushed
//   duplicate    same content already landed (dedupe): nothing landed
//   quarantined  a step failed for good: copy + reason under quarantine/
// and `finished` once the post-action on the source is done (or not needed).
// landed_path is unique among rows that may still land (claimed, copied,
// landed), so no two files are ever landed under one name.
//
// Format: see FORMAT_VERSION in ledger.cpp; a database from a newer version is
// refused. Not thread-safe: each drop runner opens its own Ledger; writers
// from several connections are serialized by SQLite (busy timeout).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sqlite/sqlite_db.h"
#include "core/status.h"

namespace sluice::transfer::drop {

enum class FileState { kClaimed, kCopied, kLanded, kDuplicate, kQuarantined };
const char* FileStateName(FileState s);

struct Observation {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t first_seen_ms = 0;       // when the path was first listed
  int64_t unchanged_since_ms = 0;  // when (size, mtime) last changed
};

struct FileRow {
  int64_t id = 0;
  std::string drop;
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t first_seen_ms = 0;
  int64_t claimed_ms = 0;
  int64_t updated_ms = 0;
  FileState state = FileState::kClaimed;
  int version = 1;
  std::string date;         // YYYY-MM-DD of the claim
  std::string landed_path;  // reserved at claim; "" once released (duplicate, quarantined)
  std::string sha256;       // of the source bytes, once copied
  uint64_t landed_bytes = 0;
  std::string reason;       // quarantined: why; duplicate: the row it duplicates
  std::string post_action;  // what was done to the source ("moved to processed/x", "deleted", ...)
  int attempts = 0;
  bool finished = false;
  bool logged = false;  // its line is in the landed log
};

struct DropCounts {
  int64_t landed = 0, duplicate = 0, quarantined = 0, in_progress = 0, waiting_post_action = 0;
  uint64_t landed_bytes = 0;
};

class Ledger {
 public:
  // Creates the database (and its tables) if missing.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& path);

  // All writes between Begin and Commit are one transaction.
  Status Begin();
  Status Commit();
  void Rollback();

  // Observations of one drop's inbox.
  Result<std::map<std::string, Observation>> Observations(std::string_view drop);
  Status PutObservation(std::string_view drop, const Observation& o);
  Status RemoveObservation(std::string_view drop, std::string_view path);

  // The newest row with this identity.
  Result<std::optional<FileRow>> FindByIdentity(std::string_view drop, std::string_view path, uint64_t size,
                                                int64_t mtime_ns);
  // Unfinished rows of a drop, oldest first.
  Result<std::vector<FileRow>> Unfinished(std::string_view drop);
  // A landed row with this content (and path, unless `any_path`), other than `except_id`.
  Result<std::optional<FileRow>> FindLandedContent(std::string_view drop, std::string_view sha256,
                                                   std::string_view path, bool any_path, int64_t except_id);
  // Rows whose line is not yet in the landed log (landed, duplicate, quarantined).
  Result<std::vector<FileRow>> Unlogged(std::string_view drop);
  Result<FileRow> Get(int64_t id);

  // Inserts a claimed row: picks the version (1 + earlier rows of the path
  // that landed or may land) and the first landing path `landing(version)`
  // that no such row holds. Sets row.id, version, landed_path.
  Status Claim(FileRow& row, const std::function<std::string(int version)>& landing);
  // Moves `landed_path` to the next free version (a foreign file sits there).
  Status Rereserve(FileRow& row, const std::function<std::string(int version)>& landing);
  // Writes the mutable columns of `row` (state, sha256, landed_path, ...),
  // all but `logged`, which only MarkLogged sets (a row read before its line
  // was logged must not take the mark back).
  Status Update(FileRow& row);
  Status MarkLogged(int64_t id);
  Status Delete(int64_t id);

  // For --status and metrics.
  Result<DropCounts> Counts(std::string_view drop);
  Result<std::vector<FileRow>> Recent(std::string_view drop, int limit);
  Result<std::vector<std::string>> Drops();

  const std::string& path() const { return db_.path(); }

 private:
  explicit Ledger(sqlite::Database db) : db_(std::move(db)) {}
  Status Init();
  Result<std::vector<FileRow>> Rows(std::string_view where_sql, const std::function<void(sqlite::Statement&)>& bind);
  Result<bool> PathTaken(std::string_view landed_path, int64_t except_id);
  // A prepared statement, cached by its text; reset before it is handed out.
  Result<sqlite::Statement*> Stmt(const std::string& sql);

  sqlite::Database db_;
  std::map<std::string, sqlite::Statement> statements_;
};

}  // namespace sluice::transfer::drop
