// Finds the files that the `paths` globs match, minus `exclude`, by walking
// only the directories that can contain a match (Glob::CouldMatchBelow), and
// reports every directory it looked in so they can be watched with inotify.
//
// A file reached through several paths (two globs, a symlink) is reported
// once, under the first path found. Only regular files are reported; symlinks
// to files are followed, symlinks to directories are not descended into by
// "**" (it would loop), only by literal or single-segment wildcard segments.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "agent/sources/tail/file_identity.h"
#include "core/util/glob.h"

namespace sluice {

struct FoundFile {
  std::string path;
  FileId id;
  uint64_t size = 0;
};

struct FindResult {
  std::vector<FoundFile> files;
  // Directories looked in, plus for a glob whose base does not exist yet its
  // nearest existing ancestor (so its creation can be noticed).
  std::set<std::string> dirs;
};

FindResult FindFiles(const std::vector<Glob>& paths, const std::vector<Glob>& exclude);

}  // namespace sluice
