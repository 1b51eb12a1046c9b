#include "appliance/source_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <thread>

#include "appliance/digest.h"

namespace sluice::appliance {
namespace {

constexpr size_t kSplitStatAt = 512;

Status ScanDir(const std::filesystem::path& root, const std::string& rel, ScanResult& out) {
  const std::filesystem::path dir = rel.empty() ? root : root / rel;
  struct CloseDir {
    void operator()(DIR* p) const { ::closedir(p); }
  };
  std::unique_ptr<DIR, CloseDir> d(::opendir(dir.c_str()));
  if (!d) return Status::FromErrno(errno, fmt::format("cannot list {}", dir.string()));
  struct Named {
    std::string name;
    struct stat st {};
    std::string target;
    int error = 0;
  };
  std::vector<Named> names;
  while (const dirent* de = ::readdir(d.get())) {
    const std::string_view n = de->d_name;
    if (n != "." && n != "..") {
      names.emplace_back();
      names.back().name = n;
    }
  }
  std::sort(names.begin(), names.end(), [](const Named& a, const Named& b) { return a.name < b.name; });
  // Each name is looked up in the open directory, not by walking the whole
  // path again (the path walk was most of the scan's time). The directory is
  // closed before descending, so deep trees do not hold a descriptor per level.
  const int dfd = ::dirfd(d.get());
  auto stat_names = [&names, dfd](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      Named& n = names[i];
      if (::fstatat(dfd, n.name.c_str(), &n.st, AT_SYMLINK_NOFOLLOW) != 0) {
        n.error = errno;
        continue;
      }
      if (S_ISLNK(n.st.st_mode)) {
        std::string target(static_cast<size_t>(n.st.st_size > 0 ? n.st.st_size : 256) + 1, '\0');
        const ssize_t len = ::readlinkat(dfd, n.name.c_str(), target.data(), target.size());
        if (len < 0) {
          n.error = errno;
          continue;
        }
        target.resize(static_cast<size_t>(len));
        n.target = std::move(target);
      }
    }
  };
  // A large directory is stat'ed from two threads: the kernel's lookups are
  // most of a scan's time and the export's pipeline has not started yet.
  if (names.size() >= kSplitStatAt) {
    std::jthread other(stat_names, names.size() / 2, names.size());
    stat_names(0, names.size() / 2);
  } else {
    stat_names(0, names.size());
  }
  d.reset();
  for (Named& n : names) {
    const std::string path = rel.empty() ? n.name : rel + "/" + n.name;
    const struct stat& st = n.st;
    if (n.error != 0) {
      if (n.error == ENOENT) {
        out.skipped.push_back(fmt::format("{}: vanished while scanning", ShowPath(path)));
        continue;
      }
      return Status::FromErrno(n.error, fmt::format("cannot stat {}", (root / path).string()));
    }
    Entry e;
    e.path = path;
    e.mtime_ns = MtimeNs(st);
    e.mode = st.st_mode & 07777;
    if (S_ISREG(st.st_mode)) {
      e.type = EntryType::kFile;
      e.size = static_cast<uint64_t>(st.st_size);
      out.entries.push_back(std::move(e));
    } else if (S_ISDIR(st.st_mode)) {
      e.type = EntryType::kDir;
      out.entries.push_back(std::move(e));
      if (Status s = ScanDir(root, path, out); !s.ok()) return s;
    } else if (S_ISLNK(st.st_mode)) {
      e.type = EntryType::kSymlink;
      e.target = std::move(n.target);
      out.entries.push_back(std::move(e));
    } else {
      out.skipped.push_back(fmt::format("{}: not a file, directory or symlink", ShowPath(path)));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ScanResult> ScanSource(const std::filesystem::path& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) return Status::FromErrno(errno, fmt::format("source {}", root.string()));
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(fmt::format("source {} is not a directory", root.string()));
  ScanResult out;
  if (Status s = ScanDir(root, "", out); !s.ok()) return s;
  return out;
}

}  // namespace sluice::appliance
