// Content hashes the copier computes while it streams a file: SHA-256
// (OpenSSL; the default, and what a user can compare with sha256sum), XXH128
// (libxxhash; several GB/s, for trusted storage where speed matters) and
// CRC-64/NVME (core/checksum; what S3 stores as x-amz-checksum-crc64nvme).
// A digest is lower-case hex: SHA-256 as sha256sum prints it, XXH128 in its
// canonical (big-endian) form as xxh128sum prints it, CRC-64 as 16 digits.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::transfer {

enum class HashAlgorithm { kSha256, kXxh128, kCrc64Nvme };

// "sha256", "xxh128", "crc64nvme"; kInvalidArgument naming the choices otherwise.
Result<HashAlgorithm> ParseHashAlgorithm(std::string_view name);
std::string_view HashName(HashAlgorithm algorithm);

// Not thread-safe; one per stream.
class Hasher {
 public:
  static std::unique_ptr<Hasher> Create(HashAlgorithm algorithm);
  virtual ~Hasher() = default;
  virtual void Update(std::string_view data) = 0;
  // The digest of everything given so far. Further Updates are not allowed.
  virtual std::string HexDigest() = 0;
};

}  // namespace sluice::transfer
