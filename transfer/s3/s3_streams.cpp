#include "transfer/s3/s3_streams.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace sluice::transfer {

S3ReadStream::S3ReadStream(std::shared_ptr<aws::S3Client> client, std::string key, std::string etag, uint64_t size,
                           uint64_t offset, std::string first, size_t window, size_t depth)
    : client_(std::move(client)),
      key_(std::move(key)),
      etag_(std::move(etag)),
      size_(size),
      next_(offset + first.size()),
      window_(window),
      depth_(std::max<size_t>(depth, 1)),
      buffer_(std::move(first)) {}

// The futures' destructors wait for fetches still running; none outlives the stream.
S3ReadStream::~S3ReadStream() = default;

void S3ReadStream::FillPipeline() {
  while (inflight_.size() < depth_ && next_ < size_) {
    const uint64_t want = std::min<uint64_t>(window_, size_ - next_);
    Fetch f{next_, want, {}};
    f.data = std::async(std::launch::async, [client = client_, key = key_, etag = etag_, at = next_, want] {
      return client->GetRange(key, at, want, etag);
    });
    inflight_.push_back(std::move(f));
    next_ += want;
  }
}

Result<size_t> S3ReadStream::Read(std::span<char> buf) {
  if (taken_ == buffer_.size()) {
    FillPipeline();
    if (inflight_.empty()) return size_t{0};
    Fetch f = std::move(inflight_.front());
    inflight_.pop_front();
    Result<std::string> got = f.data.get();
    if (!got.ok()) return got.status();
    if (got.value().size() != f.length) {
      return Status::Unavailable(
          fmt::format("S3 GET {}: {} bytes at offset {} where {} were expected (the object "
                      "changed while it was read?)",
                      key_, got.value().size(), f.offset, f.length));
    }
    buffer_ = std::move(got).value();
    taken_ = 0;
    FillPipeline();  // keep the connections busy while this window is consumed
  }
  const size_t n = std::min(buf.size(), buffer_.size() - taken_);
  std::memcpy(buf.data(), buffer_.data() + taken_, n);
  taken_ += n;
  return n;
}

}  // namespace sluice::transfer
