#include "appliance/source_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <thread>

#include "appliance/digest.h"

namespace sluice::appliance {
namespace {

constexpr size_t kSplitStatAt = 512;

// How a directory's scan may use a second thread: `split` lets it stat a
// large directory's names from two threads; `fan_out` lets it scan its
// subdirectories from two (below them, neither: the other thread is busy).
struct ScanThreads {
  bool split = true;
  bool fan_out = true;
};

Status ScanDir(const std::filesystem::path& root, const std::string& rel, ScanResult& out, ScanThreads threads) {
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
  if (threads.split && names.size() >= kSplitStatAt) {
    std::jthread other(stat_names, names.size() / 2, names.size());
    stat_names(0, names.size() / 2);
  } else {
    stat_names(0, names.size());
  }
  d.reset();

  // Subdirectories are scanned from two threads, each taking the next one
  // not taken, into results of their own that are spliced in name order:
  // a tree of many directories (100 x 1,000 files) was scanned with the
  // second core idle but for the split stats.
  std::vector<size_t> subdirs;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].error == 0 && S_ISDIR(names[i].st.st_mode)) subdirs.push_back(i);
  }
  auto path_of = [&rel](const Named& n) { return rel.empty() ? n.name : rel + "/" + n.name; };
  std::vector<ScanResult> below(subdirs.size());
  std::vector<Status> below_status(subdirs.size());
  if (threads.fan_out && subdirs.size() >= 2) {
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t k; (k = next.fetch_add(1)) < subdirs.size();) {
        below_status[k] = ScanDir(root, path_of(names[subdirs[k]]), below[k], ScanThreads{false, false});
      }
    };
    std::jthread other(work);
    work();
  } else {
    for (size_t k = 0; k < subdirs.size(); ++k) {
      below_status[k] = ScanDir(root, path_of(names[subdirs[k]]), below[k], threads);
    }
  }

  // Sized once: a vector that doubles as it grows holds up to twice the
  // entries, and an export keeps them to its end.
  size_t total = out.entries.size() + names.size();
  for (const ScanResult& b : below) total += b.entries.size();
  out.entries.reserve(total);
  size_t k = 0;
  for (Named& n : names) {
    const std::string path = path_of(n);
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
      if (!below_status[k].ok()) return below_status[k];
      ScanResult& sub = below[k++];
      out.entries.insert(out.entries.end(), std::make_move_iterator(sub.entries.begin()),
                         std::make_move_iterator(sub.entries.end()));
      out.skipped.insert(out.skipped.end(), std::make_move_iterator(sub.skipped.begin()),
                         std::make_move_iterator(sub.skipped.end()));
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
  if (Status s = ScanDir(root, "", out, ScanThreads{}); !s.ok()) return s;
  return out;
}

}  // namespace sluice::appliance
