// One object being uploaded, of a size not known in advance: bytes are
// appended, and the object appears under its key, whole, only at Close().
//
// Up to one part is held in memory. An object that fits in one part is one
// PUT at Close(); a larger one is a multipart upload whose parts are sent as
// they fill and which Close() completes. S3 checks the CRC-64/NVME of every
// part and of the whole object (full-object checksum), so Ok from Close()
// means the bytes given to Append() are what S3 stored.
//
// Invariant: an upload this began is completed (Close) or aborted (a
// failure, or destroyed without Close); nothing is visible under the key
// until Close() succeeds. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "protocols/aws/s3_client.h"

namespace sluice::aws {

class S3Upload {
 public:
  // `part_bytes` >= 5 MiB (S3's minimum for all but the last part). It doubles
  // every 1,000 parts, so an object of unknown size can reach S3's 5 TiB
  // limit within its 10,000 parts.
  S3Upload(std::shared_ptr<S3Client> client, std::string key, size_t part_bytes);
  ~S3Upload();
  S3Upload(const S3Upload&) = delete;
  S3Upload& operator=(const S3Upload&) = delete;

  Status Append(std::string_view data);
  Status Close();
  uint64_t size() const { return size_; }

 private:
  size_t PartTarget() const;
  Status SendPart();
  Status Fail(Status s);

  std::shared_ptr<S3Client> client_;
  const std::string key_;
  const size_t part_bytes_;
  std::string buffer_;
  uint64_t crc_ = 0;  // CRC-64/NVME of everything appended
  uint64_t size_ = 0;
  std::string upload_id_;
  std::vector<S3CompletedPart> parts_;
  Status failed_;
  bool closed_ = false;
};

}  // namespace sluice::aws
