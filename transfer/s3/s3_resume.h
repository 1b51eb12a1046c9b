// Resumable multipart uploads for the S3 endpoint: how an upload a killed or
// failed run left is found again, checked, and continued part by part.
//
// The record: while a multipart upload of key K is unfinished, the object
// next to it under the copier's partial name (K's directory + ".sluice-" +
// name + ".part", planner.h PartialName) holds, as text:
//     sluice-s3-upload 1
//     upload-id <id>
//     part-bytes <the first part size>
//     size <the source file's size>
//     mtime-ns <the source file's mtime>
// It is stored (one PUT) right after CreateMultipartUpload and before any
// part, and deleted once the upload completes. The planner already hides
// partial names on both sides and flags a file whose partial name it saw, so
// only those files pay the GET for the record.
//
// Invariants:
//  - The object appears under K only when CompleteMultipartUpload succeeds,
//    whole, with its CRC-64/NVME checked by S3 (s3_upload.h).
//  - A record is trusted only as far as S3 and the source confirm it: one
//    that cannot be parsed is deleted (nothing to abort); one for another
//    size, part size or mtime, or whose upload holds a part numbered past
//    this file's last, has its upload aborted and is deleted; an upload S3 no
//    longer knows (NoSuchUpload: aborted, completed, expired) just restarts.
//    In each case a new upload starts from byte 0.
//  - A listed part is kept only when its size and checksum (CRC-64/NVME or
//    CRC32C when S3 lists one, else its MD5 ETag) match the source bytes for
//    that part as they stream through; others are sent again.
//  - A process killed between CreateMultipartUpload and the record's PUT
//    leaves an upload no record names: it costs storage until a lifecycle
//    rule (AbortIncompleteMultipartUpload) removes it, and is never visible.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "protocols/aws/s3_client.h"
#include "transfer/endpoint.h"

namespace sluice::transfer {

struct S3UploadRecord {
  std::string upload_id;
  uint64_t part_bytes = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

std::string FormatS3UploadRecord(const S3UploadRecord& r);
// nullopt for anything that is not exactly a record of this version.
std::optional<S3UploadRecord> ParseS3UploadRecord(std::string_view text);

// Opens an upload of `source.size` bytes to `key`. Objects of up to one part
// are one PUT (nothing to resume). Larger ones are recorded under
// `record_key`; with `resume`, a record found there is checked as above and
// its upload continued when it holds up.
Result<std::unique_ptr<WriteStream>> OpenS3ResumableUpload(const std::shared_ptr<aws::S3Client>& client,
                                                           const std::string& key, const std::string& record_key,
                                                           size_t part_bytes, const EntryInfo& source, bool resume);

}  // namespace sluice::transfer
