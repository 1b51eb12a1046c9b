// Whole-buffer gzip and zstd compression, the way a partner's tools would
// produce a .gz or .zst file: test input for the decompressing readers.
// Throws std::runtime_error if the library fails (it does not on valid input).
#pragma once

#include <string>

namespace sluice::test {

// One gzip member (RFC 1952), level 6, as `gzip -c` writes it.
std::string GzipBytes(const std::string& data);

// One zstd frame, level 3, as `zstd -c` writes it.
std::string ZstdBytes(const std::string& data);

// Decompresses gzip data of one or more members (as `gzip -dc` reads
// concatenated .gz files); throws std::runtime_error on corrupt or truncated input.
std::string GunzipBytes(const std::string& compressed);

// Decompresses one zstd frame that records its content size (as `zstd -c`
// and ZSTD_compress write); throws std::runtime_error otherwise.
std::string UnzstdBytes(const std::string& compressed);

}  // namespace sluice::test
