// The SFTP endpoint's streams: one open remote file handle each, pinned to the
// SftpClient (connection) that opened it.
//  - SftpReadStream keeps up to kMaxReadsInFlight READ requests of the
//    server's max read length in flight ahead of the consumer (starting with
//    2 and doubling as full replies arrive, so small files cost no wasted
//    requests); a short reply re-requests the rest of its range before
//    anything later, so data is always delivered in order and complete.
//  - SftpWriteStream packs Write() calls into WRITE requests of the server's
//    max write length, sends them without waiting (at most kMaxWritesInFlight
//    unanswered), collects statuses as they arrive and reports the first
//    error on the next Write/Close. Close() sends fsync@openssh.com and
//    CLOSE right behind the last WRITE, then waits for every status (one
//    round trip: the server handles a channel's requests in order).
// Destroying a stream forgets its in-flight requests and closes the handle
// without waiting.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "protocols/sftp/sftp_client.h"
#include "transfer/endpoint.h"

namespace sluice::transfer {

inline constexpr size_t kMaxReadsInFlight = 16;
inline constexpr size_t kMaxWritesInFlight = 32;

class SftpReadStream final : public ReadStream {
 public:
  SftpReadStream(std::shared_ptr<sftp::SftpClient> client, std::string handle, std::string what, uint64_t offset);
  ~SftpReadStream() override;
  Result<size_t> Read(std::span<char> buf) override;

 private:
  struct Request {
    uint32_t id;
    uint64_t offset;
    uint32_t len;
  };
  Status Issue(uint64_t offset, uint32_t len, bool front);
  Status Fill();
  Status NextReply();

  std::shared_ptr<sftp::SftpClient> client_;
  const std::string handle_;
  const std::string what_;
  const uint32_t request_len_;
  uint64_t next_offset_;  // where the next new request starts
  size_t window_ = 2;
  std::deque<Request> in_flight_;
  sftp::Reply current_;
  std::string_view unread_;  // into current_
  bool eof_ = false;
  Status error_;
};

class SftpWriteStream final : public WriteStream {
 public:
  SftpWriteStream(std::shared_ptr<sftp::SftpClient> client, std::string handle, std::string what, uint64_t offset);
  ~SftpWriteStream() override;
  Status Write(std::string_view data) override;
  Status Close() override;

 private:
  void Begin();
  Status Flush();
  // Takes the statuses that have arrived (all of them when `all`, waiting),
  // or until at most `max_in_flight` remain.
  Status Collect(size_t max_in_flight);
  void Record(const Status& s);

  std::shared_ptr<sftp::SftpClient> client_;
  const std::string handle_;
  const std::string what_;
  const size_t request_len_;
  uint64_t offset_;
  std::optional<sftp::PacketWriter> building_;
  uint32_t building_id_ = 0;
  size_t building_at_ = 0;
  size_t building_len_ = 0;
  std::deque<uint32_t> in_flight_;
  Status error_;
  bool closed_ = false;
};

}  // namespace sluice::transfer
