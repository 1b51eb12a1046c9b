// The S3 endpoint: the objects under a key prefix of one bucket, seen as a
// tree by splitting keys at '/' (s3://bucket/prefix/a/b.json is the file
// "a/b.json"). Passes the endpoint conformance suite against s3rver.
//
// How the file-system operations map onto S3, and why:
//  - Directories are key prefixes (implicit_directories). MakeDirectory of a
//    directory that has nothing under it stores a zero-byte "dir/" marker, as
//    the S3 console's "Create folder" does, so an empty one survives a copy.
//  - A written object appears only when its upload completes (atomic_writes),
//    so the copier writes the final key directly: no partial key or rename.
//    A multipart upload is resumable part by part (OpenUpload, s3_resume.h),
//    its upload id recorded under the file's partial name. Rename exists
//    (copy, then delete) for callers that need it.
//  - An object's time is when it was stored; it cannot be set
//    (settable_times = false), so sync compares size and "not older than".
//  - Integrity: every PUT and part carries a CRC-64/NVME that S3 checks, and
//    ServerHash("crc64nvme") returns S3's full-object checksum, so a copy is
//    verified without downloading it again where S3 keeps one.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "protocols/aws/credentials.h"
#include "transfer/endpoint.h"
#include "transfer/s3/s3_url.h"

namespace sluice::transfer {

struct S3Options {
  std::string endpoint;  // "" = AWS (https://s3.REGION.amazonaws.com)
  std::string region;    // "" = AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
  bool path_style = false;
  std::string profile;  // the shared-files profile ("" = AWS_PROFILE or default)
  // null: the default chain (credentials.h) over this process's environment.
  std::shared_ptr<aws::CredentialsProvider> credentials;
  size_t part_bytes = 8u << 20;
  size_t read_window_bytes = 8u << 20;
  size_t read_depth = 4;      // ranged GETs in flight per object being read
  int list_page_keys = 1000;  // S3's maximum; smaller in tests of paging
  // One path component. S3 takes keys up to 1,024 bytes; emulators that store
  // keys as file names take less.
  size_t max_name_bytes = 255;
};

// Checks that the bucket answers with these credentials (one List request),
// so a wrong key, region or bucket fails here, before any planning. The
// prefix need not exist: S3 has no directories to create.
Result<std::unique_ptr<Endpoint>> OpenS3Endpoint(const S3Url& url, const S3Options& options);

}  // namespace sluice::transfer
