#include "core/metrics/http_server.h"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include <httplib.h>

namespace sluice {
namespace {

// Two workers: a scrape and a health probe can be served at once, and the
// idle agent keeps its thread count (and RSS) small.
constexpr size_t kWorkers = 2;

struct HostPort {
  std::string host;
  int port = 0;
};

// "host:port", "[v6]:port". The host is required: binding every interface
// must be asked for explicitly ("0.0.0.0:9181"), never by omission.
Result<HostPort> ParseAddress(const std::string& address) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("metrics address \"" + address + "\": " + std::string(why) +
                                   " (expected host:port, e.g. \"127.0.0.1:9181\")");
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  std::string host = address.substr(0, colon);
  const std::string_view port_text = std::string_view(address).substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return bad("an IPv6 host must be in brackets");
  }
  if (host.empty()) return bad("no host");
  if (port_text.empty()) return bad("no port");
  int port = 0;
  const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  return HostPort{std::move(host), port};
}

class HttplibMetricsServer final : public MetricsServer {
 public:
  HttplibMetricsServer(const MetricsRegistry& registry, std::function<Health()> health)
      : registry_(registry), health_(std::move(health)) {
    // httplib takes ownership of the returned queue (it wraps it in a unique_ptr).
    server_.new_task_queue = [] { return std::make_unique<httplib::ThreadPool>(kWorkers).release(); };
    // httplib's default sets SO_REUSEPORT, which lets a second agent bind the
    // same port and silently share its scrapes. SO_REUSEADDR alone still
    // allows a quick restart while old connections sit in TIME_WAIT.
    server_.set_socket_options([](socket_t sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // One request per connection: an idle keep-alive connection would pin one
    // of the two workers, and make shutdown wait for it to time out.
    server_.set_keep_alive_max_count(1);
    server_.set_read_timeout(2, 0);
    server_.set_write_timeout(2, 0);
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(registry_.RenderPrometheus(), "text/plain; version=0.0.4");
    });
    server_.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      Health h = health_ ? health_() : Health{};
      if (h.detail.empty()) h.detail = h.ok ? R"({"status":"ok"})" : R"({"status":"unhealthy"})";
      res.status = h.ok ? 200 : 503;
      res.set_content(h.detail, "application/json");
    });
  }

  ~HttplibMetricsServer() override {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  HttplibMetricsServer(const HttplibMetricsServer&) = delete;
  HttplibMetricsServer& operator=(const HttplibMetricsServer&) = delete;

  Status Bind(const std::string& address) {
    Result<HostPort> hp = ParseAddress(address);
    if (!hp.ok()) return hp.status();
    errno = 0;
    if (hp->port == 0) {
      port_ = server_.bind_to_any_port(hp->host);
    } else {
      port_ = server_.bind_to_port(hp->host, hp->port) ? hp->port : -1;
    }
    if (port_ < 0) {
      const int err = errno;
      std::string why = err != 0 ? std::strerror(err) : "the host does not resolve to a local address";
      return Status::Unavailable("cannot listen for metrics on " + address + ": " + why);
    }
    return Status::Ok();
  }

  void Run() {
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      listen_returned_.store(true);
    });
    // httplib's stop() does nothing until the listen loop has started: wait
    // for it, so that a server destroyed right after Start still stops.
    while (!server_.is_running() && !listen_returned_.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }

  int port() const override { return port_; }

 private:
  const MetricsRegistry& registry_;
  std::function<Health()> health_;
  httplib::Server server_;
  int port_ = -1;
  std::atomic<bool> listen_returned_{false};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                            const MetricsRegistry& registry,
                                                            std::function<Health()> health) {
  auto server = std::make_unique<HttplibMetricsServer>(registry, std::move(health));
  if (Status s = server->Bind(address); !s.ok()) return s;
  server->Run();
  return std::unique_ptr<MetricsServer>(std::move(server));
}

}  // namespace sluice
