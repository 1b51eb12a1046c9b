// A pool of HTTP clients for callers on many threads: each request borrows
// one (with its open connection) and gives it back. Thread-safe. A client
// whose transfer failed is not given back: its connection may be broken.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "protocols/http/http_client.h"

namespace sluice::http {

class ClientPool {
 public:
  explicit ClientPool(ClientOptions options) : options_(std::move(options)) {}

  // Performs `request` on a pooled client.
  Result<Response> Perform(const Request& request) {
    std::unique_ptr<Client> client = Borrow();
    Result<Response> r = client->Perform(request);
    if (r.ok()) GiveBack(std::move(client));
    return r;
  }

 private:
  std::unique_ptr<Client> Borrow() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        std::unique_ptr<Client> c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return std::make_unique<Client>(options_);
  }
  void GiveBack(std::unique_ptr<Client> client) {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(client));
  }

  const ClientOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Client>> idle_;
};

}  // namespace sluice::http
