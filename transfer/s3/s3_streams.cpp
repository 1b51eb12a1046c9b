#include "transfer/s3/s3_streams.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace sluice::transfer {

S3ReadStream::S3ReadStream(std::shared_ptr<aws::S3Client> client, std::string key, std::string etag, uint64_t size,
                           uint64_t offset, size_t window)
    : client_(std::move(client)),
      key_(std::move(key)),
      etag_(std::move(etag)),
      size_(size),
      next_(offset),
      window_(window) {}

Result<size_t> S3ReadStream::Read(std::span<char> buf) {
  if (taken_ == buffer_.size()) {
    if (next_ >= size_) return size_t{0};
    const uint64_t want = std::min<uint64_t>(window_, size_ - next_);
    Result<std::string> got = client_->GetRange(key_, next_, want, etag_);
    if (!got.ok()) return got.status();
    if (got.value().size() != want) {
      return Status::Unavailable(
          fmt::format("S3 GET {}: {} bytes at offset {} where {} were expected (the object "
                      "changed while it was read?)",
                      key_, got.value().size(), next_, want));
    }
    buffer_ = std::move(got).value();
    taken_ = 0;
    next_ += want;
  }
  const size_t n = std::min(buf.size(), buffer_.size() - taken_);
  std::memcpy(buf.data(), buffer_.data() + taken_, n);
  taken_ += n;
  return n;
}

}  // namespace sluice::transfer
