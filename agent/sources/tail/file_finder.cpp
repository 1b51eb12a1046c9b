#include "agent/sources/tail/file_finder.h"

#include <dirent.h>
#include <sys/stat.h>

#include <memory>

namespace sluice {

namespace {

// Guards against absurd trees and loops we did not see coming.
constexpr int kMaxDepth = 64;

std::string Join(const std::string& dir, const char* name) {
  if (dir == ".") return name;
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

class Walker {
 public:
  Walker(const std::vector<Glob>& exclude, FindResult& out) : exclude_(exclude), out_(out) {}

  void Walk(const Glob& glob, const std::string& dir, int depth) {
    if (depth > kMaxDepth) return;
    struct stat dst {};
    if (::stat(dir.c_str(), &dst) != 0) return;
    // One visit per directory and glob: symlink loops and overlapping globs.
    if (!visited_.insert({FileId{static_cast<uint64_t>(dst.st_dev), static_cast<uint64_t>(dst.st_ino)}, &glob})
             .second) {
      return;
    }
    struct DirClose {
      void operator()(DIR* d) const { ::closedir(d); }
    };
    std::unique_ptr<DIR, DirClose> d(::opendir(dir.c_str()));
    if (!d) return;
    out_.dirs.insert(dir);
    while (const dirent* e = ::readdir(d.get())) {
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string path = Join(dir, e->d_name);
      const bool maybe_dir = e->d_type == DT_DIR || e->d_type == DT_LNK || e->d_type == DT_UNKNOWN;
      const bool match = glob.Match(path);
      const bool below = maybe_dir && glob.CouldMatchBelow(path);
      if (!match && !below) continue;
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) continue;
      if (S_ISREG(st.st_mode) && match) {
        Add(path, st);
      } else if (S_ISDIR(st.st_mode) && below) {
        if (e->d_type == DT_LNK && glob.recursive()) continue;
        Walk(glob, path, depth + 1);
      }
    }
  }

 private:
  void Add(const std::string& path, const struct stat& st) {
    for (const Glob& x : exclude_) {
      if (x.MatchPathOrName(path)) return;
    }
    const FileId id{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
    if (!files_.insert(id).second) return;
    out_.files.push_back(FoundFile{path, id, static_cast<uint64_t>(st.st_size)});
  }

  const std::vector<Glob>& exclude_;
  FindResult& out_;
  std::set<std::pair<FileId, const Glob*>> visited_;
  std::set<FileId> files_;
};

}  // namespace

FindResult FindFiles(const std::vector<Glob>& paths, const std::vector<Glob>& exclude) {
  FindResult out;
  Walker walker(exclude, out);
  for (const Glob& g : paths) {
    struct stat st {};
    if (::stat(g.base().c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      walker.Walk(g, g.base(), 0);
      continue;
    }
    std::string dir = g.base();
    while (true) {
      const std::string parent = DirName(dir);
      if (parent == dir) break;
      dir = parent;
      if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        out.dirs.insert(dir);
        break;
      }
    }
  }
  return out;
}

}  // namespace sluice
