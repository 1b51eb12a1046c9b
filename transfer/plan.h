// What a transfer will do, decided before any byte moves: one Action per
// entry, in an order that can be executed as is (a directory before what it
// contains; deletions of directories after their contents), and the
// pre-flight problems found on the way. The planner (planner.h) builds it;
// the engine (engine.h) executes it; --dry-run prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "transfer/endpoint.h"

namespace sluice::transfer {

enum class ActionKind {
  kMakeDirectory,  // create the directory (and keep its mtime at the end)
  kCopyFile,       // copy the file through a temporary name
  kSymlink,        // recreate the symlink (--links=copy)
  kDelete,         // sync --delete: the destination has it, the source does not
  kUpToDate,       // nothing to do: same size and mtime (or same content with --checksum)
  kSkip,           // left out on purpose (a symlink under --links=skip, ...): reason says why
  kFail,           // cannot be transferred (a pre-flight problem): reason says why
};

struct Action {
  ActionKind kind = ActionKind::kSkip;
  std::string path;         // relative to the destination root (and the source's, unless source_path is set)
  std::string source_path;  // where the source reads it, when it differs (a followed symlink's target)
  EntryInfo source;         // the source entry (a followed link: its target's info)
  EntryInfo dest;           // the destination entry when it exists (kDelete: what is deleted)
  bool dest_exists = false;
  // kCopyFile with --checksum and equal sizes: compare contents first and
  // turn into kUpToDate when they match (done by the workers, in parallel).
  bool compare_content = false;
  // The destination directory held this file's partial name when it was
  // listed (an interrupted run): only then does the copier look for a prefix
  // to resume, sparing a round trip per file otherwise.
  bool partial_seen = false;
  std::string reason;  // why this action: "new", "size differs", "mtime differs", ...
};

struct Plan {
  std::vector<Action> actions;
  uint64_t files_to_copy = 0;
  uint64_t bytes_to_copy = 0;
  uint64_t failures = 0;  // kFail actions
};

const char* ActionName(ActionKind kind);
inline const std::string& SourcePath(const Action& a) { return a.source_path.empty() ? a.path : a.source_path; }

}  // namespace sluice::transfer
