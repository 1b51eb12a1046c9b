// Writing files so that a reader never sees a partial one and a crash never
// leaves a half-written file under its final name: write to a temporary name
// in the same directory, fsync, rename over the final name, fsync the directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "core/status.h"

namespace sluice {

// A file being written under a temporary name; Commit() makes it appear
// under its final name. Destroying it uncommitted removes the temporary file.
class AtomicFile {
 public:
  // Opens `<dir>/.<final name>.tmp` (truncating a leftover from a crash).
  static Result<AtomicFile> Create(const std::filesystem::path& final_path, bool sync);
  AtomicFile(AtomicFile&& o) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  Status Append(std::string_view bytes);
  // fsync (when sync), close, rename to the final name, fsync the directory.
  Status Commit();
  // Starts writing back (without waiting) what was appended so far, so that
  // a large file's Commit has little left to flush: sync_file_range.
  void StartWriteback();

 private:
  AtomicFile(int fd, std::filesystem::path tmp, std::filesystem::path final_path, bool sync)
      : fd_(fd), tmp_(std::move(tmp)), final_(std::move(final_path)), sync_(sync) {}
  int fd_ = -1;
  std::filesystem::path tmp_;
  std::filesystem::path final_;
  bool sync_ = true;
  uint64_t appended_ = 0, written_back_ = 0;
};

// mkdir -p that also fsyncs the parent of every directory it creates, so the
// new entries survive a power loss.
Status CreateDirectoriesDurable(const std::filesystem::path& dir, bool sync);
Status FsyncDirectory(const std::filesystem::path& dir);

}  // namespace sluice
