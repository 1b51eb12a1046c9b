#include "protocols/sftp/sftp_pool.h"

#include <algorithm>

namespace sluice::sftp {

SftpPool::SftpPool(SshOptions options, size_t size) : options_(std::move(options)), size_(std::max<size_t>(size, 1)) {}

Result<std::shared_ptr<SftpClient>> SftpPool::Get() {
  std::unique_lock lk(mu_);
  for (;;) {
    std::erase_if(clients_, [](const std::shared_ptr<SftpClient>& c) { return c->broken(); });
    std::shared_ptr<SftpClient> best;
    size_t best_load = 0;
    for (const std::shared_ptr<SftpClient>& c : clients_) {
      const size_t load = c->load();
      if (!best || load < best_load) {
        best = c;
        best_load = load;
      }
    }
    const bool room = clients_.size() + connecting_ < size_ &&
                      (clients_.empty() || std::chrono::steady_clock::now() >= no_extra_until_);
    if (best && (best_load == 0 || !room)) return best;
    if (!best && !room) {
      cv_.wait(lk);  // the pool is full of connections being made: use the first that is
      continue;
    }
    ++connecting_;
    lk.unlock();
    Result<std::shared_ptr<SftpClient>> fresh = SftpClient::Connect(options_);
    lk.lock();
    --connecting_;
    cv_.notify_all();
    if (fresh.ok()) {
      clients_.push_back(*fresh);
      return fresh;
    }
    // An extra connection failing is not fatal while another one works; do
    // not retry it on every call.
    if (best && !best->broken()) {
      no_extra_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      return best;
    }
    return fresh.status();
  }
}

}  // namespace sluice::sftp
