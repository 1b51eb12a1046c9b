// The POSIX tar (ustar + pax) subset a bundle holds: regular files only, in
// manifest order, each a 512-byte ustar header (preceded by a pax 'x' header
// when the path is over 100 bytes or not ASCII, or the size does not fit the
// 11 octal digits), the data padded to 512, and two zero blocks at the end.
// GNU tar and bsdtar read it; Sluice's reader accepts only this subset, so
// anything else inside a bundle (a link, a device, a second pax form) is an
// error rather than something to interpret.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::appliance {

inline constexpr size_t kTarBlock = 512;

struct TarMember {
  std::string path;  // exact bytes
  uint64_t size = 0;
  uint32_t mode = 0644;
  int64_t mtime_s = 0;
};

// The header block(s) for `m`.
std::string TarHeader(const TarMember& m);
// Zero bytes that pad `size` bytes of data to the block size.
std::string_view TarPadding(uint64_t size);
// The end-of-archive marker (two zero blocks).
std::string_view TarEnd();

// Reads members from a stream of plaintext bundle bytes. `read` fills exactly
// the asked bytes unless the stream ends (then fewer).
class TarReader {
 public:
  using ReadFn = std::function<Result<size_t>(char*, size_t)>;
  TarReader(ReadFn read, std::string where) : read_(std::move(read)), where_(std::move(where)) {}

  // The next member's header, or nullopt at the end-of-archive marker.
  // Before calling Next again, the caller reads exactly `size` bytes with ReadData.
  Result<std::optional<TarMember>> Next();
  Result<size_t> ReadData(char* out, size_t n);  // up to n of the current member's bytes left
  // The member's padding; call once its data was read.
  Status EndMember();

 private:
  Status ReadExact(char* out, size_t n, const char* what);
  ReadFn read_;
  std::string where_;
  uint64_t left_ = 0;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;  // plaintext offset, for messages
};

}  // namespace sluice::appliance
