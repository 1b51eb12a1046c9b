// Watches directories with inotify and tells the tail source what kind of
// change happened, so it can wake up instead of waiting for its next scan.
//
// Owns the inotify descriptor and the watch descriptors. Events are hints,
// never the source of truth: the source rescans the globs on any
// create/move/delete/attrib event and every scan_interval anyway, so a lost
// event (queue overflow, a watch limit reached, NFS) only delays discovery.
// Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "agent/sources/tail/unique_fd.h"
#include "core/log/log.h"
#include "core/status.h"

namespace sluice {

class DirWatcher {
 public:
  // Fails when inotify is unavailable; the caller then polls.
  static Result<std::unique_ptr<DirWatcher>> Create(Logger log);

  DirWatcher(UniqueFd fd, Logger log) : fd_(std::move(fd)), log_(std::move(log)) {}

  int fd() const { return fd_.get(); }
  // Watches exactly `dirs` from now on (adds new ones, removes the others).
  void SetDirectories(const std::set<std::string>& dirs);

  struct Events {
    bool changed = false;   // a file was created, moved, deleted or changed attributes: rescan
    bool modified = false;  // a file was written: read
  };
  // Reads all queued events without blocking.
  Events Drain();

 private:
  UniqueFd fd_;
  Logger log_;
  std::map<std::string, int> watches_;  // dir -> watch descriptor
  bool warned_limit_ = false;
};

}  // namespace sluice
