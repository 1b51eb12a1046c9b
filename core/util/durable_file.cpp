#include "core/util/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace sluice {

Status FsyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opening directory " + dir.string());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::FromErrno(err, "fsync of directory " + dir.string());
  return Status::Ok();
}

Status CreateDirectoriesDurable(const std::filesystem::path& dir, bool sync) {
  std::vector<std::filesystem::path> missing;
  std::filesystem::path p = dir;
  struct stat st {};
  while (!p.empty() && ::stat(p.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::FromErrno(errno, "stat " + p.string());
    missing.push_back(p);
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "creating directory " + it->string());
    }
    if (sync) {
      if (Status s = FsyncDirectory(it->parent_path()); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

Result<AtomicFile> AtomicFile::Create(const std::filesystem::path& final_path, bool sync) {
  std::filesystem::path tmp = final_path.parent_path() / ("." + final_path.filename().string() + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "creating " + tmp.string());
  return AtomicFile(fd, std::move(tmp), final_path, sync);
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : fd_(o.fd_), tmp_(std::move(o.tmp_)), final_(std::move(o.final_)), sync_(o.sync_) {
  o.fd_ = -1;
  o.tmp_.clear();
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Status AtomicFile::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "writing " + tmp_.string());
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    appended_ += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

void AtomicFile::StartWriteback() {
  if (fd_ < 0 || appended_ == written_back_) return;
  // Advisory: an error here shows again at Commit's fsync.
  (void)::sync_file_range(fd_, static_cast<off_t>(written_back_), static_cast<off_t>(appended_ - written_back_),
                          SYNC_FILE_RANGE_WRITE);
  written_back_ = appended_;
}

Status AtomicFile::Commit() {
  if (sync_ && ::fsync(fd_) != 0) return Status::FromErrno(errno, "fsync of " + tmp_.string());
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return Status::FromErrno(errno, "closing " + tmp_.string());
  if (::rename(tmp_.c_str(), final_.c_str()) != 0) {
    return Status::FromErrno(errno, "renaming " + tmp_.string() + " to " + final_.string());
  }
  tmp_.clear();
  if (sync_) return FsyncDirectory(final_.parent_path());
  return Status::Ok();
}

}  // namespace sluice
