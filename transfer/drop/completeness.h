// Deciding which files in an inbox are complete, so that a file still being
// uploaded is never taken. Pure: it turns a listing, the previous
// observations (kept in the ledger across polls and restarts) and the clock
// into new observations and the files that are ready.
//
// Roles of a listed name:
//  - ignored: an upload in progress by its name (`ignore` globs, our own
//    partial names), or filtered out by include/exclude: never observed;
//  - companion: a sidecar checksum or done marker of a data file (any name of
//    a companion template's form, present data file or not): never landed as
//    data, it travels with its data file;
//  - data: everything else.
// A data file is ready when (done_marker) its marker exists, or (otherwise)
// its size and mtime, and those of each present sidecar, have not changed for
// `stable_for`, as seen by at least two listings; with require_sidecar, a
// sidecar must also exist.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "transfer/drop/drop_config.h"
#include "transfer/drop/ledger.h"

namespace sluice::transfer::drop {

struct ListedFile {
  std::string path;  // below the inbox
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

struct ReadyFile {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t first_seen_ms = 0;
  std::vector<std::string> sidecars;  // present sidecar paths, in config order
  std::string marker;                 // the done marker's path, when configured
};

struct InboxAssessment {
  std::vector<Observation> put;      // new or changed observations
  std::vector<std::string> removed;  // observed paths no longer listed
  std::vector<ReadyFile> ready;      // sorted by path
  // Data files not ready yet, and when the oldest of them was first seen.
  int waiting = 0;
  int64_t oldest_waiting_first_seen_ms = 0;
  // Waiting files that are new or did not change in this listing: with more
  // patience they may become ready (`--once` waits for them; it leaves files
  // that are still growing, and those waiting for a marker or a sidecar).
  int waiting_unchanged = 0;
};

// True when `name` (a file name, no '/') is of the form of one of the
// companion templates ("{name}.sha256" -> "*.sha256" with a non-empty stem).
bool IsCompanionName(std::string_view name, const DropSpec& spec);
// True when the file is not to be observed at all (ignore, include/exclude).
bool IsIgnored(std::string_view path, const DropSpec& spec);

InboxAssessment AssessInbox(const std::vector<ListedFile>& listing, const std::map<std::string, Observation>& previous,
                            int64_t now_ms, const DropSpec& spec);

}  // namespace sluice::transfer::drop
