// How stored batches become the bytes of an object in a store: as stored
// (zstd), or re-encoded as gzip or plain JSON Lines for readers that need it.
// Each batch is encoded on its own and the results are concatenated: a
// series of zstd frames, or of gzip members, is one valid stream, so an
// object of many batches is written one batch at a time, never all in memory.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

enum class ObjectCompression { kZstd, kGzip, kNone };

// "zstd", "gzip", "none".
Result<ObjectCompression> ParseObjectCompression(std::string_view name);
// ".jsonl.zst", ".jsonl.gz", ".jsonl".
std::string_view ObjectSuffix(ObjectCompression c);

// One stored batch (zstd frames of JSON Lines) in `c`'s encoding; kCorrupt
// when the frame does not decompress.
Result<std::string> EncodeBatch(std::string_view zstd_frame, ObjectCompression c);

// Whole bytes in `c`'s encoding: one gzip member (level 6, as `gzip`), one
// zstd frame (level 3, as `zstd`), or a copy (for request bodies).
Result<std::string> CompressBytes(std::string_view plain, ObjectCompression c);

}  // namespace sluice
