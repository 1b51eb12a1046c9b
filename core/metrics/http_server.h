// Serves GET /metrics (Prometheus text) and GET /healthz over plain HTTP/1.0
// on a configured address: a small hand-written responder (no cpp-httplib, for
// memory; see http_server.cpp) on one thread, one connection at a time, each
// closed after its response. Stopped and joined on destruction.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/metrics/metrics.h"
#include "core/status.h"

namespace sluice {

struct Health {
  bool ok = true;
  std::string detail;  // a short JSON object body, e.g. {"status":"ok"}
};

class MetricsServer {
 public:
  // `address` is "host:port" (port 0 picks a free port; see port()).
  // Fails (kInvalidArgument / kUnavailable) if the address is malformed or cannot be bound.
  // "[v6]:port" for IPv6; a hostname binds the first address it resolves to
  // (IPv4 first). The address is bound before Start returns, without
  // SO_REUSEPORT (a second server on the same port fails). `registry` must
  // outlive the server; `health` is called on the server's thread.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address, const MetricsRegistry& registry,
                                                       std::function<Health()> health);
  virtual ~MetricsServer() = default;
  virtual int port() const = 0;
};

}  // namespace sluice
