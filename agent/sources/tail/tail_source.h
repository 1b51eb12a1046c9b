// The tail source: follows log files matched by globs and commits their lines,
// with the file offsets they reach, into the buffer in one transaction.
//
// What it guarantees (see DESIGN.md, "without losing any"):
//  - The checkpoint committed for a file is always the end of the last record
//    in the same Buffer::Commit; a pending partial line or multiline record
//    is not covered and is re-read after a restart. Nothing is acknowledged
//    before it is durable.
//  - A file is identified by device + inode + a fingerprint of its first
//    bytes (see file_identity.h). A renamed file is followed (rename+create
//    rotation), a file that shrinks or is rewritten in place is re-read from
//    0 (copytruncate, truncate), and an inode reused for a new file is read
//    from 0.
//  - start_at applies only to files present at this source's very first start
//    (its checkpoints hold no "started" marker yet; the marker is committed
//    with the first checkpoints, so an agent that started once never skips). Files discovered later - created while
//    we watch, or while the agent was stopped - are read from the beginning,
//    because everything in them is new. After a restart every known file
//    resumes at its checkpoint, wherever it was renamed to: among the glob
//    matches, or in the directory it was last seen in (a rotated file renamed
//    to a name the globs do not match is still finished). A file that cannot
//    be found is logged with its unread bytes and counted in
//    sluice_tail_lost_files_total.
//  - A file renamed out of the globs or deleted is read until it has been idle
//    at its end for rotate_wait, then closed (a deleted file's space is freed)
//    and its checkpoint deleted in the same commit as its last lines.
//  - Memory per file is bounded by max_line (partial line + multiline record)
//    plus one shared read_buffer.
// One thread (Run) reads every file of the source, round robin with a budget
// of read_buffer bytes per file and round, so a busy file cannot starve others.
//
// copytruncate: when a file is found truncated, the lines it held past our
// offset are read from the copy logrotate made (a file in the same directory
// whose first bytes match the fingerprint), so only the window inherent to
// copytruncate remains: lines written between the copy and the truncation
// are in neither file. Copies that match the globs are recognised too: a new
// file whose leading bytes equal a tracked file's (or a recently truncated
// file's former) leading bytes is never read from 0. It is held until its
// original is truncated (then read from the offset reached in the original)
// or for rotate_wait (a plain copy: followed from its end). A new file that is
// still empty is opened once it has content, so a copy being written is
// recognised. A file closed while it still existed (rotated out of the globs)
// and found again resumes at its offset.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/sources/source.h"
#include "agent/sources/tail/tail_config.h"
#include "core/config/reader.h"

namespace sluice {

// Seams for tests: what the outside world may do at the moments a real
// rotation can race the source. Empty in production.
struct TailTestHooks {
  // Called on the source's thread after each directory listing (startup and
  // every scan), before any file it listed is opened: a test renames files
  // here to reproduce a rotation landing between the listing and the open.
  std::function<void()> after_listing;
};

std::unique_ptr<Source> MakeTailSource(std::string name, TailConfig config, SourceContext ctx,
                                       TailTestHooks hooks = {});

}  // namespace sluice
