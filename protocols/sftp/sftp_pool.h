// A small pool of SFTP connections to one server, shared by every thread of
// an endpoint. Get() hands out the least-loaded healthy client (requests in
// flight + pinned streams); when every client is busy and the pool is below
// its size it connects one more first (lazily, in the calling thread, outside
// the pool lock), and a broken client (lost connection) is dropped so the next
// Get() reconnects. Clients are shared_ptrs: a stream keeps its client alive
// after the pool has replaced it.
// Invariants: at most `size` connections exist or are being made; the pool
// lock is never held during network I/O; lock order is pool -> client.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "core/status.h"
#include "protocols/sftp/sftp_client.h"
#include "protocols/sftp/ssh_connection.h"

namespace sluice::sftp {

class SftpPool {
 public:
  SftpPool(SshOptions options, size_t size);
  Result<std::shared_ptr<SftpClient>> Get();
  size_t size() const { return size_; }

 private:
  const SshOptions options_;
  const size_t size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<SftpClient>> clients_;
  size_t connecting_ = 0;
  std::chrono::steady_clock::time_point no_extra_until_;  // after a failed extra connection
};

}  // namespace sluice::sftp
