// One object being uploaded, of a size not known in advance: bytes are
// appended, and the object appears under its key, whole, only at Close().
//
// Up to one part is held in memory. An object that fits in one part is one
// PUT at Close(); a larger one is a multipart upload whose parts are sent as
// they fill and which Close() completes. S3 checks the CRC-64/NVME of every
// part and of the whole object (full-object checksum), so Ok from Close()
// means the bytes given to Append() are what S3 stored.
//
// Resumable mode (KeepOnFailure, Resume): the transfer endpoint records the
// upload id elsewhere (transfer/s3/s3_resume.h) and continues an upload a
// killed or failed run left. A resumed upload re-sends only the parts that
// are missing or whose stored checksum (CRC-64/NVME or CRC32C when S3 lists
// one, else the MD5 ETag) differs from the bytes appended for that part.
//
// Invariant: an upload this began is completed (Close) or aborted (a
// failure, or destroyed without Close) unless KeepOnFailure asked to keep it
// for a later resume; nothing is visible under the key until Close()
// succeeds. Not thread-safe.
#pragma once

#include <functional>
#include <map>
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

  // Before the first Append: a failure or destruction without Close leaves
  // the multipart upload in place (to be resumed), and `on_created` is called
  // with its id as soon as it exists, before any part is sent (to record it
  // durably); its failure aborts the upload.
  void KeepOnFailure(std::function<Status(const std::string& upload_id)> on_created);
  // Before the first Append: continue upload `upload_id`, which holds `stored`.
  void Resume(std::string upload_id, std::vector<S3StoredPart> stored);
  // The sizes of the parts an object of `size` bytes is cut into with
  // `part_bytes` (as Append cuts it): what a resumed upload's parts must match.
  static std::vector<uint64_t> PartSizes(uint64_t size, size_t part_bytes);

  Status Append(std::string_view data);
  Status Close();
  uint64_t size() const { return size_; }
  // Bytes of stored parts kept, verified, instead of being sent again.
  uint64_t reused_bytes() const { return reused_bytes_; }

 private:
  static size_t PartTargetFor(size_t part_bytes, size_t parts_before);
  size_t PartTarget() const;
  // A stored part with this number that holds exactly buffer_ (crc: buffer_'s CRC-64/NVME).
  bool StoredMatches(int number, uint64_t crc) const;
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
  bool keep_ = false;
  std::function<Status(const std::string&)> on_created_;
  std::map<int, S3StoredPart> stored_;  // a resumed upload's parts not yet reused or replaced
  uint64_t reused_bytes_ = 0;
};

}  // namespace sluice::aws
