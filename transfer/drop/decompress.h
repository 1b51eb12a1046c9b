// Streaming decompression of what partners upload compressed: gzip (zlib,
// several concatenated members as gzip(1) writes them with -c >>) and zstd
// (several frames). Corrupt or truncated input is an error (kCorrupt) naming
// what is wrong; a file is never landed half-decompressed.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "core/status.h"

namespace sluice::transfer::drop {

class Decompressor {
 public:
  using Output = std::function<Status(std::string_view)>;
  // `suffix` is ".gz" or ".zst" (any case); nullptr otherwise.
  static std::unique_ptr<Decompressor> ForSuffix(std::string_view suffix);
  virtual ~Decompressor() = default;
  // Decompresses `in`, handing every produced piece to `out`.
  virtual Status Feed(std::string_view in, const Output& out) = 0;
  // The input ended: kCorrupt unless it ended exactly at the end of a member/frame.
  virtual Status Finish() = 0;
};

}  // namespace sluice::transfer::drop
