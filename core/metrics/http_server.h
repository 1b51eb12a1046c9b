// Serves /metrics (Prometheus text) and /healthz over HTTP on a configured
// address, with cpp-httplib, on its own thread. Stopped and joined on destruction.
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
  // The address is bound before Start returns. `registry` must outlive the
  // server; `health` is called on the server's threads.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address, const MetricsRegistry& registry,
                                                       std::function<Health()> health);
  virtual ~MetricsServer() = default;
  virtual int port() const = 0;
};

}  // namespace sluice
