// AWS Signature Version 4 for requests sent in one piece (header-based auth).
//
// Written here rather than using libcurl's CURLOPT_AWS_SIGV4 because Debian
// 12's libcurl (7.88.1) signs several of our request shapes wrongly: unsorted
// query strings, valueless keys (`?uploads`), streamed bodies without an
// explicit payload hash, header names that prefix one another
// (x-amz-meta-a / x-amz-meta-a-b), and the `Expect:` header it never sends.
// Compared against botocore in docs/research/s3-kinesis-aws.md.
//
// Invariants: the path is URI-encoded exactly once with '/' kept (S3's rule;
// the other services we call use "/"), the query is encoded and sorted by the
// signer, and the headers returned must be sent exactly as returned, along
// with every header in SigV4Request::headers.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::aws {

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  std::string host;    // as in the Host header: "bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:9000"
  std::string path;    // not encoded: "/bucket/raw/a b.json"
  std::vector<std::pair<std::string, std::string>> query;    // not encoded; a key without value has ""
  std::vector<std::pair<std::string, std::string>> headers;  // sent and signed (besides host and x-amz-*)
  std::string payload_sha256;                                // lower-case hex, or "UNSIGNED-PAYLOAD"
};

// Percent-encodes every byte except A-Z a-z 0-9 - . _ ~ (and '/' when
// keep_slash), with upper-case hex: RFC 3986 as SigV4 requires.
std::string UriEncode(std::string_view s, bool keep_slash);

// The path as it goes on the request line and in the canonical request.
std::string CanonicalPath(std::string_view path);

// The query string, encoded and sorted, as it goes on the request line.
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view data);

struct SigV4Signed {
  std::string canonical_request;  // for diagnosing a SignatureDoesNotMatch
  std::string string_to_sign;
  std::string signature;
  // Headers to add to the request: Authorization, X-Amz-Date, for S3
  // X-Amz-Content-Sha256, and with a session token X-Amz-Security-Token.
  std::vector<std::pair<std::string, std::string>> headers;
};

SigV4Signed SignV4(const SigV4Request& request, const SigV4Credentials& credentials, std::string_view region,
                   std::string_view service, std::chrono::system_clock::time_point now);

// Query-string authentication (a presigned URL, valid for `expires`): the
// request's query with the X-Amz-* parameters added, encoded and sorted, and
// X-Amz-Signature last. Only the host header is signed; `payload_sha256` as
// the service expects (the hash of an empty body for a GET).
std::string PresignV4(SigV4Request request, const SigV4Credentials& credentials, std::string_view region,
                      std::string_view service, std::chrono::system_clock::time_point now,
                      std::chrono::seconds expires);

}  // namespace sluice::aws
