// Runs a transfer: plans it (planner.h), then executes the plan in phases so
// that every step finds what it needs already in place:
//   1. the destination root and new directories, parents first;
//   2. files, by `transfers` workers in parallel (copier.h);
//   3. symlinks;
//   4. deletions (sync --delete), contents before their directory, and only
//      when nothing failed before: a sync that could not copy everything must
//      not also remove what the destination still has (rclone's default too);
//   5. the mtimes of new directories, deepest first (copying into a directory
//      changes its mtime);
//   6. Endpoint::Flush on the destination: the new names durable (one
//      directory fsync per directory, not one per file) before success.
// --dry-run stops after the plan and reports each action as "planned".
#pragma once

#include <atomic>

#include "transfer/copier.h"
#include "transfer/endpoint.h"
#include "transfer/planner.h"
#include "transfer/progress.h"
#include "transfer/report.h"

namespace sluice::transfer {

struct TransferOptions {
  std::string command = "copy";  // copy | sync (names the report)
  PlanOptions plan;
  CopyOptions copy;
  int transfers = 4;
  bool dry_run = false;
};

// Fails only when the plan cannot be made (the source unreadable, the
// destination unreachable); everything after that is in the report.
Result<TransferReport> RunTransfer(Endpoint& source, Endpoint& dest, const TransferOptions& options,
                                   ProgressObserver* progress, const std::atomic<bool>* cancel);

}  // namespace sluice::transfer
