// Writing files so that a reader never sees a partial one and a crash never
// leaves a half-written file under its final name: write to a temporary name
// in the same directory, fsync, rename over the final name, fsync the directory.
//
// Large sequential outputs (an appliance's bundles and files) can bypass the
// page cache (Caching::kDirect, O_DIRECT): they are written once and not read
// back soon, and copying them into fresh page-cache pages costs more CPU than
// the device's bandwidth (measured in bench/README.md "Appliance"). Invariant
// of direct mode: every write is a whole number of kDirectAlign blocks from an
// aligned buffer at an aligned offset; the last block is padded with zeros and
// the file truncated to the appended size before the fsync. A filesystem that
// refuses O_DIRECT (at open or at the first write) gets buffered writes.
// A direct write blocks until the device has the bytes, so it runs on a
// thread of the file's own while Append fills the other of two buffers: at
// most one write is in flight, and its error comes back from the next Append
// or Commit.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string_view>

#include "core/status.h"

namespace sluice {

// A file being written under a temporary name; Commit() makes it appear
// under its final name. Destroying it uncommitted removes the temporary file.
class AtomicFile {
 public:
  enum class Caching { kPageCache, kDirect };
  static constexpr size_t kDirectAlign = 4096;
  static constexpr size_t kDirectBuffer = 4 << 20;

  // Opens `<dir>/.<final name>.tmp` (truncating a leftover from a crash).
  static Result<AtomicFile> Create(const std::filesystem::path& final_path, bool sync,
                                   Caching caching = Caching::kPageCache);
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
  // True while writes bypass the page cache (kDirect, and the filesystem took
  // it). Not while a write is in flight (call after Commit, or before Append).
  bool direct() const { return o_direct_; }

 private:
  struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
  };
  class Flusher;
  AtomicFile(int fd, std::filesystem::path tmp, std::filesystem::path final_path, bool sync);
  // Writes `n` bytes of `data` at the file's offset `written_` (pwrite loop).
  Status WriteAt(const char* data, size_t n);
  // A full staging buffer goes to the flusher (after the write before it);
  // when `last`, what is staged is written here, zero-padded to a block while direct.
  Status FlushStaged(bool last);
  static int QuiescedFd(AtomicFile& o);  // the move's first step
  // The filesystem refused O_DIRECT: buffered writes from here on.
  Status LeaveDirect();
  int fd_ = -1;
  std::filesystem::path tmp_;
  std::filesystem::path final_;
  bool sync_ = true;
  uint64_t appended_ = 0, written_back_ = 0;
  uint64_t written_ = 0;  // bytes handed to the kernel
  // kDirect: appends are staged here (kDirectBuffer bytes, kDirectAlign-aligned)
  // and written in whole blocks; null: each Append is written as it comes.
  std::unique_ptr<char, FreeDeleter> staging_;
  std::unique_ptr<char, FreeDeleter> in_flight_;  // the other buffer: the one the flusher writes
  std::unique_ptr<Flusher> flusher_;              // kDirect: the thread writing in_flight_
  size_t staged_ = 0;
  bool o_direct_ = false;  // the descriptor has O_DIRECT (cleared if the filesystem refuses it)
};

// mkdir -p that also fsyncs the parent of every directory it creates, so the
// new entries survive a power loss.
Status CreateDirectoriesDurable(const std::filesystem::path& dir, bool sync);
Status FsyncDirectory(const std::filesystem::path& dir);

}  // namespace sluice
