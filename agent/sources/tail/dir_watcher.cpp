#include "agent/sources/tail/dir_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice {

namespace {

constexpr uint32_t kMask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |
                           IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr uint32_t kChanged = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF |
                              IN_MOVE_SELF | IN_Q_OVERFLOW | IN_IGNORED;

}  // namespace

Result<std::unique_ptr<DirWatcher>> DirWatcher::Create(Logger log) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "inotify_init1");
  return std::make_unique<DirWatcher>(UniqueFd(fd), std::move(log));
}

void DirWatcher::SetDirectories(const std::set<std::string>& dirs) {
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (dirs.count(it->first) == 0) {
      ::inotify_rm_watch(fd_.get(), it->second);  // may fail if already gone; harmless
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& dir : dirs) {
    if (watches_.count(dir) != 0) continue;
    const int wd = ::inotify_add_watch(fd_.get(), dir.c_str(), kMask);
    if (wd < 0) {
      if (errno == ENOSPC && !warned_limit_) {
        warned_limit_ = true;
        log_->warn("inotify watch limit reached at {} (fs.inotify.max_user_watches); relying on the periodic scan",
                   dir);
      }
      continue;
    }
    watches_[dir] = wd;
  }
}

DirWatcher::Events DirWatcher::Drain() {
  Events ev;
  alignas(inotify_event) char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      inotify_event e;
      std::memcpy(&e, buf + off, sizeof e);
      if ((e.mask & kChanged) != 0) ev.changed = true;
      if ((e.mask & (IN_MODIFY | IN_CLOSE_WRITE)) != 0) ev.modified = true;
      if ((e.mask & IN_IGNORED) != 0) {
        // The directory is gone; drop it so a later SetDirectories re-adds it.
        for (auto it = watches_.begin(); it != watches_.end(); ++it) {
          if (it->second == e.wd) {
            watches_.erase(it);
            break;
          }
        }
      }
      off += static_cast<ssize_t>(sizeof(inotify_event) + e.len);
    }
  }
  return ev;
}

}  // namespace sluice
