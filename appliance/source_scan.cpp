#include "appliance/source_scan.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "appliance/digest.h"

namespace sluice::appliance {
namespace {

Status ScanDir(const std::filesystem::path& root, const std::string& rel, ScanResult& out) {
  const std::filesystem::path dir = rel.empty() ? root : root / rel;
  struct CloseDir {
    void operator()(DIR* p) const { ::closedir(p); }
  };
  std::unique_ptr<DIR, CloseDir> d(::opendir(dir.c_str()));
  if (!d) return Status::FromErrno(errno, fmt::format("cannot list {}", dir.string()));
  std::vector<std::string> names;
  while (const dirent* de = ::readdir(d.get())) {
    const std::string_view n = de->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  d.reset();
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = rel.empty() ? name : rel + "/" + name;
    const std::filesystem::path full = root / path;
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        out.skipped.push_back(fmt::format("{}: vanished while scanning", ShowPath(path)));
        continue;
      }
      return Status::FromErrno(errno, fmt::format("cannot stat {}", full.string()));
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
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 256) + 1, '\0');
      const ssize_t n = ::readlink(full.c_str(), target.data(), target.size());
      if (n < 0) return Status::FromErrno(errno, fmt::format("cannot read the symlink {}", full.string()));
      target.resize(static_cast<size_t>(n));
      e.target = std::move(target);
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
