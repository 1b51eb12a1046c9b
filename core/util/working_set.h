// Trims the process's resident set of pages it can get back for free: the
// clean, read-only file mappings (the code and constants of the binary and
// its shared libraries).
//
// Why: at start-up a process touches code it never runs again (configuration
// parsing, library constructors, the first connection), and the kernel maps
// 16 pages around every page fault ("fault-around"). An idle agent's RSS is
// then mostly pages of code only its start-up ran: 10.8 of 12.9 MiB were
// file-backed. Dropping those page-table entries costs nothing: the pages
// stay in the page cache, and what the agent runs again comes back by a minor
// fault, without I/O. RSS then shows what the agent keeps using.
//
// Invariant: only mappings that are private, not writable and hold no
// anonymous (copied-on-write) page are released, so no byte the process
// wrote (relocations in RELRO, data) can revert to the file's contents.
#pragma once

#include <cstddef>

#include "core/status.h"

namespace sluice {

struct ReleasedPages {
  size_t mappings = 0;        // mappings released
  size_t resident_bytes = 0;  // their resident size before
};

// Reads /proc/self/smaps and releases (madvise MADV_DONTNEED) every mapping
// the invariant above allows. Safe while other threads run.
Result<ReleasedPages> ReleaseCleanFileMappings();

}  // namespace sluice
