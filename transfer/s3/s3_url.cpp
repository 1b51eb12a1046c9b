#include "transfer/s3/s3_url.h"

#include <fmt/format.h>

#include <algorithm>

#include "transfer/endpoint.h"

namespace sluice::transfer {

bool IsS3Url(std::string_view url) { return url.starts_with("s3://"); }

Result<S3Url> ParseS3Url(std::string_view url) {
  if (!IsS3Url(url)) return Status::InvalidArgument(fmt::format("{}: not an s3:// URL", url));
  std::string_view rest = url.substr(5);
  S3Url out;
  const size_t slash = rest.find('/');
  out.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    while (prefix.ends_with('/')) prefix.remove_suffix(1);
    out.prefix = std::string(prefix);
  }
  // S3's bucket naming rules (general purpose buckets).
  const bool allowed = std::all_of(out.bucket.begin(), out.bucket.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
  if (out.bucket.size() < 3 || out.bucket.size() > 63 || !allowed || out.bucket.front() == '-' ||
      out.bucket.front() == '.' || out.bucket.back() == '-' || out.bucket.back() == '.') {
    return Status::InvalidArgument(
        fmt::format("{}: '{}' is not an S3 bucket name (3 to 63 characters: a-z, 0-9, '.', '-')", url, out.bucket));
  }
  if (!out.prefix.empty()) {
    if (std::string problem = RelativePathProblem(out.prefix); !problem.empty()) {
      return Status::InvalidArgument(fmt::format("{}: the key prefix '{}': {}", url, out.prefix, problem));
    }
  }
  return out;
}

std::string ToString(const S3Url& url) {
  return url.prefix.empty() ? "s3://" + url.bucket : "s3://" + url.bucket + "/" + url.prefix;
}

}  // namespace sluice::transfer
