// Reading and writing one S3 object through the Endpoint stream interfaces.
//
// S3ReadStream fetches the object in ranged GETs of `window` bytes, each
// pinned to the ETag seen when it was opened, so a rewrite while it is read
// fails (kUnavailable) instead of mixing two versions. Up to `depth` windows
// are in flight at once, on connections of their own, so one large object
// downloads at the speed of several connections (as rclone's multi-thread
// streams do); at most depth × window bytes are held.
//
// S3WriteStream is an aws::S3Upload (s3_upload.h): one PUT or a multipart
// upload, checked by S3 against our CRC-64/NVME, visible only once Close()
// succeeds, aborted when destroyed without it.
#pragma once

#include <deque>
#include <future>
#include <memory>
#include <string>

#include "protocols/aws/s3_client.h"
#include "protocols/aws/s3_upload.h"
#include "transfer/endpoint.h"

namespace sluice::transfer {

class S3ReadStream final : public ReadStream {
 public:
  // `first` holds the bytes from `offset` already fetched (the request that
  // opened the object and learnt its size and ETag).
  S3ReadStream(std::shared_ptr<aws::S3Client> client, std::string key, std::string etag, uint64_t size, uint64_t offset,
               std::string first, size_t window, size_t depth);
  ~S3ReadStream() override;
  Result<size_t> Read(std::span<char> buf) override;

 private:
  // Starts fetches until `depth_` windows are in flight or the object is covered.
  void FillPipeline();

  std::shared_ptr<aws::S3Client> client_;
  const std::string key_;
  const std::string etag_;
  const uint64_t size_;
  uint64_t next_ = 0;  // the object offset of the next window to request
  const size_t window_;
  const size_t depth_;
  struct Fetch {
    uint64_t offset = 0;
    uint64_t length = 0;
    std::future<Result<std::string>> data;
  };
  std::deque<Fetch> inflight_;  // in object order
  std::string buffer_;
  size_t taken_ = 0;  // bytes of buffer_ already returned
};

class S3WriteStream final : public WriteStream {
 public:
  S3WriteStream(std::shared_ptr<aws::S3Client> client, std::string key, size_t part_bytes)
      : upload_(std::move(client), std::move(key), part_bytes) {}
  Status Write(std::string_view data) override { return upload_.Append(data); }
  Status Close() override { return upload_.Close(); }

 private:
  aws::S3Upload upload_;
};

}  // namespace sluice::transfer
