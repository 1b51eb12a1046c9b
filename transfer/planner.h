// The planner: walks the source tree and the matching destination
// directories (one List per directory on each side, never a Stat per file, so
// 10,000 files over SFTP cost a few round trips), applies --include/--exclude,
// the --links policy and the comparison rule, and runs the pre-flight checks:
// names that would collide on a case-insensitive or Unicode-normalizing
// destination, and names longer than the destination allows.
//
// Comparison: a file is up to date when the destination has a file of the
// same size whose mtime agrees to the coarser of the two endpoints'
// precisions; with --checksum, when the sizes agree the contents are compared
// by the workers (Action::compare_content). The copier's own temporary files
// (IsPartialName) are invisible on both sides: they are resume state.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/util/glob.h"
#include "transfer/endpoint.h"
#include "transfer/plan.h"

namespace sluice::transfer {

enum class LinkPolicy { kSkip, kFollow, kCopy };

struct PlanOptions {
  std::vector<Glob> include;  // empty: everything; else a file must match one
  std::vector<Glob> exclude;  // a match (file or directory) leaves it out; wins over include
  LinkPolicy links = LinkPolicy::kCopy;
  bool checksum = false;
  bool delete_extraneous = false;  // sync --delete
  // Transfer only this entry of the source root (SRC named a file).
  std::string only;
};

// Fails only when a listing fails (the source root unreadable, a lost
// connection); problems with single entries become kFail actions.
Result<Plan> MakePlan(Endpoint& source, Endpoint& dest, const PlanOptions& options);

// The temporary name the copier writes `name` under, in the same directory:
// ".sluice-<name>.part", or ".sluice-<hash of name>.part" when that would be
// longer than the destination allows.
std::string PartialName(std::string_view name, size_t max_name_bytes);
bool IsPartialName(std::string_view name);

// The key two names collide under on a destination that folds case and/or
// normalizes Unicode (NFC); the name itself when it does neither.
std::string CollisionKey(std::string_view name, bool case_insensitive, bool normalizes_unicode);

}  // namespace sluice::transfer
