// A minimal HTTP/1.0 responder for GET /metrics and GET /healthz.
//
// Why not a library: this used cpp-httplib, but Debian's libcpp-httplib.so is
// built with OpenSSL, zlib and brotli, and just loading it (and libcrypto)
// costs ~6 MiB of resident memory (a test binary linking it: RssFile 6.5 MiB
// vs 1.2 MiB plain), while the agent's whole footprint budget is 8 MiB. The
// endpoint only answers two GETs from a scraper, so it is served here by hand:
// one thread, one connection at a time, no keep-alive, no TLS, no compression.
#include "core/metrics/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace sluice {
namespace {

constexpr int kIoTimeoutMs = 2000;     // per connection: to read the request, and per send
constexpr size_t kMaxRequest = 8192;   // request line + headers

// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

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

// A listening socket on the first address `host` resolves to that binds,
// IPv4 first (so "localhost" is the 127.0.0.1 a scraper most likely tries).
// SO_REUSEADDR allows a quick restart past TIME_WAIT; never SO_REUSEPORT,
// which would let a second agent bind the same port and share its scrapes.
Result<Fd> Listen(const std::string& address, const HostPort& hp) {
  const auto fail = [&](std::string_view why) {
    return Status::Unavailable("cannot listen for metrics on " + address + ": " + std::string(why));
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  if (int rc = ::getaddrinfo(hp.host.c_str(), std::to_string(hp.port).c_str(), &hints, &list); rc != 0) {
    return fail(::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(list, &::freeaddrinfo);
  int err = EADDRNOTAVAIL;
  for (const bool want_v4 : {true, false}) {
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      if ((ai->ai_family == AF_INET) != want_v4) continue;
      Fd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      const int yes = 1;
      if (fd.get() >= 0 && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) == 0 &&
          ::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd.get(), 16) == 0) {
        return fd;
      }
      err = errno;
    }
  }
  return fail(std::strerror(err));
}

int LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
}

bool SendAll(int fd, std::string_view data, int flags) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), flags | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // the peer went away, or SO_SNDTIMEO expired
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

class HandMadeMetricsServer final : public MetricsServer {
 public:
  HandMadeMetricsServer(Fd listener, Fd stop, const MetricsRegistry& registry, std::function<Health()> health)
      : listener_(std::move(listener)), stop_(std::move(stop)), port_(LocalPort(listener_.get())),
        registry_(registry), health_(std::move(health)), thread_([this] { Loop(); }) {}

  ~HandMadeMetricsServer() override {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }

  int port() const override { return port_; }

 private:
  void Loop() {
    while (true) {
      pollfd fds[2] = {{stop_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[0].revents != 0) return;
      if (fds[1].revents == 0) continue;
      Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn.get() < 0) {
        // Out of descriptors leaves the connection queued and the listener
        // readable: back off rather than spin (still waking for a stop).
        if (errno == EMFILE || errno == ENFILE) ::poll(fds, 1, 100);
        continue;
      }
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kIoTimeoutMs);
      try {
        Serve(conn.get(), deadline);
      } catch (...) {
        // e.g. bad_alloc while rendering: drop this connection, keep serving.
      }
      // Lingering close: closing with unread request bytes (a body, an
      // oversized header) would reset the connection and could destroy the
      // response before the client reads it. Send FIN, then discard input
      // until the client closes (at once, for a normal scraper).
      ::shutdown(conn.get(), SHUT_WR);
      char sink[512];
      while (WaitReadable(conn.get(), deadline) && ::recv(conn.get(), sink, sizeof sink, 0) > 0) {
      }
    }
  }

  // True once `fd` has input; false on timeout, error or a stop request.
  bool WaitReadable(int fd, std::chrono::steady_clock::time_point deadline) const {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd fds[2] = {{stop_.get(), POLLIN, 0}, {fd, POLLIN, 0}};
    return left.count() > 0 && ::poll(fds, 2, static_cast<int>(left.count())) > 0 && fds[0].revents == 0;
  }

  // Reads one request (until the blank line ending its headers) and answers
  // it. Waits on the stop eventfd too, so a silent client cannot delay
  // shutdown; gives up on the client at `deadline`.
  void Serve(int fd, std::chrono::steady_clock::time_point deadline) {
    const timeval send_timeout{kIoTimeoutMs / 1000, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    char buf[kMaxRequest];
    size_t len = 0;
    while (std::string_view(buf, len).find("\r\n\r\n") == std::string_view::npos) {
      if (len == sizeof buf) return Respond(fd, 400, "text/plain", "request too large\n", false);
      if (!WaitReadable(fd, deadline)) return;  // timed out, or stopping
      const ssize_t n = ::recv(fd, buf + len, sizeof buf - len, 0);
      if (n <= 0) return;  // closed or reset before a full request
      len += static_cast<size_t>(n);
    }
    // Request line: METHOD SP TARGET SP HTTP/x.y
    const std::string_view line = std::string_view(buf, len).substr(0, std::string_view(buf, len).find("\r\n"));
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp1 == 0 || line.substr(sp2 + 1).rfind("HTTP/", 0) != 0 ||
        line.substr(sp1 + 1, 1) != "/") {
      return Respond(fd, 400, "text/plain", "bad request\n", false);
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view path = target.substr(0, target.find('?'));  // the query string is ignored
    const bool head = method == "HEAD";
    if (method != "GET" && !head) return Respond(fd, 405, "text/plain", "method not allowed\n", false);
    if (path == "/metrics") return Respond(fd, 200, "text/plain; version=0.0.4", registry_.RenderPrometheus(), head);
    if (path == "/healthz") {
      Health h = health_ ? health_() : Health{};
      if (h.detail.empty()) h.detail = h.ok ? R"({"status":"ok"})" : R"({"status":"unhealthy"})";
      return Respond(fd, h.ok ? 200 : 503, "application/json", h.detail, head);
    }
    Respond(fd, 404, "text/plain", "not found\n", head);
  }

  static void Respond(int fd, int status, std::string_view type, std::string_view body, bool head) {
    const char* reason = status == 200   ? "OK"
                         : status == 400 ? "Bad Request"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                                         : "Service Unavailable";
    std::string out = "HTTP/1.0 " + std::to_string(status) + " " + reason + "\r\nContent-Type: ";
    out.append(type).append("\r\nContent-Length: ").append(std::to_string(body.size()));
    out.append(status == 405 ? "\r\nAllow: GET, HEAD" : "").append("\r\nConnection: close\r\n\r\n");
    if (SendAll(fd, out, head ? 0 : MSG_MORE) && !head) SendAll(fd, body, 0);
  }

  Fd listener_;
  Fd stop_;  // eventfd: written once by the destructor
  int port_;
  const MetricsRegistry& registry_;
  std::function<Health()> health_;
  std::thread thread_;  // last: started once everything above is set
};

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                            const MetricsRegistry& registry,
                                                            std::function<Health()> health) {
  Result<HostPort> hp = ParseAddress(address);
  if (!hp.ok()) return hp.status();
  Result<Fd> listener = Listen(address, *hp);
  if (!listener.ok()) return listener.status();
  Fd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (stop.get() < 0) return Status::FromErrno(errno, "metrics server: eventfd");
  return std::unique_ptr<MetricsServer>(
      std::make_unique<HandMadeMetricsServer>(std::move(*listener), std::move(stop), registry, std::move(health)));
}

}  // namespace sluice
