// A client for the S3 object API: the calls the S3 transfer endpoint and the
// S3 sink need, signed with SigV4 (sigv4.h) and sent over a small pool of
// reused HTTP connections (protocols/http).
//
// Invariants:
//  - Thread-safe: each call borrows one pooled connection for its duration.
//  - Transient failures (connection lost, 5xx, 429, SlowDown, RequestTimeout)
//    are retried here with full-jitter backoff; every call is idempotent (a
//    PUT of the same key, an UploadPart of the same number, ...). What is left
//    after the last attempt comes back as kUnavailable.
//  - Other S3 errors map to NotFound (404), PermissionDenied (403),
//    Corrupt (BadDigest, a checksum that does not match) and Io, with the
//    method, bucket/key and S3's Code and Message in the text.
//  - A RequestTimeTooSkewed answer (this host's clock more than 15 minutes
//    off, common on devices without NTP) is retried once signed by the
//    server's clock, which is then used for every later request.
//  - Times are whole seconds (HEAD's Last-Modified has no finer grain, and
//    List is truncated to match it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "protocols/aws/credentials.h"
#include "protocols/http/client_pool.h"
#include "protocols/http/http_client.h"

namespace sluice::aws {

struct S3Config {
  std::string bucket;
  std::string region = "us-east-1";
  // "" = https://s3.REGION.amazonaws.com; else scheme://host[:port] of a VPC
  // endpoint, an emulator or another S3-compatible store.
  std::string endpoint;
  // Path-style addressing (https://host/bucket/key) instead of virtual-hosted
  // (https://bucket.host/key); always used for an IP-address endpoint.
  bool path_style = false;
  http::ClientOptions http;
  int max_attempts = 4;
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_cap{5'000};
  // This host's clock; null = the system clock (a test sets a wrong one).
  std::function<std::chrono::system_clock::time_point()> clock;
};

struct S3ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_ns = 0;   // Last-Modified, whole seconds
  std::string etag;       // as S3 quotes it
  std::string crc64nvme;  // base64, when S3 has one for the whole object (HEAD only)
};

struct S3Range {
  std::string data;
  uint64_t object_size = 0;  // the whole object's, from Content-Range
  std::string etag;
};

struct S3ListPage {
  std::vector<S3ObjectInfo> objects;
  std::vector<std::string> common_prefixes;  // "a/b/" with a delimiter
  std::string next_token;                    // "" on the last page
};

struct S3CompletedPart {
  int number = 0;
  std::string etag;
  std::string crc64nvme;  // base64 of the part's CRC-64/NVME
};

// A part an unfinished multipart upload holds (ListParts).
struct S3StoredPart {
  int number = 0;
  uint64_t size = 0;
  std::string etag;       // as S3 quotes it: the part's MD5 in hex, for an unencrypted upload
  std::string crc64nvme;  // base64, when S3 reports the part's checksum of that kind
  std::string crc32c;     // base64, likewise
};

struct S3PartsPage {
  std::vector<S3StoredPart> parts;
  int next_marker = 0;  // 0 on the last page; else the part-number-marker of the next
};

// Fills what the caller left empty as the AWS tools do: region from
// AWS_REGION, AWS_DEFAULT_REGION, else us-east-1; endpoint from
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS's own; extra CA bundle
// from AWS_CA_BUNDLE (corporate TLS proxies, private S3-compatible stores).
void ApplyEnvironmentDefaults(S3Config& config, const std::map<std::string, std::string>& environment);

// The 8 bytes of a CRC-64/NVME, big-endian, in base64: the x-amz-checksum-crc64nvme form.
std::string Crc64NvmeBase64(uint64_t crc);

class S3Client {
 public:
  S3Client(S3Config config, std::shared_ptr<CredentialsProvider> credentials);
  ~S3Client();

  const S3Config& config() const { return config_; }

  Result<S3ObjectInfo> Head(std::string_view key);
  // Bytes [offset, offset + length) of the object; fewer at its end. With an
  // etag, a changed object fails (412) instead of mixing two versions.
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length, std::string_view etag = "");
  // The same, with the object's size and ETag from the answer, so a reader
  // needs no HEAD first. A range past the end is empty data with size 0.
  Result<S3Range> GetRangeWithInfo(std::string_view key, uint64_t offset, uint64_t length, std::string_view etag = "");
  Result<S3ListPage> List(std::string_view prefix, std::string_view delimiter, std::string_view token,
                          int max_keys = 1000);
  // A whole object in one request; S3 checks the CRC-64/NVME we computed.
  Status Put(std::string_view key, std::string_view body);
  Status Delete(std::string_view key);
  Status Copy(std::string_view from_key, std::string_view to_key);

  Result<std::string> CreateMultipart(std::string_view key);  // the upload id
  Result<S3CompletedPart> UploadPart(std::string_view key, std::string_view upload_id, int number,
                                     std::string_view body);
  // `crc64nvme` is the whole object's (base64): S3 checks it against the parts.
  Status CompleteMultipart(std::string_view key, std::string_view upload_id, const std::vector<S3CompletedPart>& parts,
                           std::string_view crc64nvme);
  Status AbortMultipart(std::string_view key, std::string_view upload_id);
  // One page of the parts stored so far, after part number `marker`;
  // NotFound when the upload does not exist (aborted, completed, or never).
  Result<S3PartsPage> ListParts(std::string_view key, std::string_view upload_id, int marker = 0, int max_parts = 1000);

 private:
  struct Call;
  Result<http::Response> Send(const Call& call);
  Result<http::Response> SendOnce(const Call& call);
  std::chrono::system_clock::time_point Now() const;

  const S3Config config_;
  const std::shared_ptr<CredentialsProvider> credentials_;
  std::string scheme_;  // "https"
  std::string host_;    // "s3.eu-west-1.amazonaws.com" or "127.0.0.1:4568"
  bool path_style_ = false;

  // Seconds to add to this host's clock when signing, learnt from a
  // RequestTimeTooSkewed answer's Date header.
  std::atomic<int64_t> clock_skew_s_{0};

  http::ClientPool pool_;
};

}  // namespace sluice::aws
