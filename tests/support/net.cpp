#include "tests/support/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/wait.h"

namespace sluice::test {
namespace {

// A socket closed when it goes out of scope.
class Socket {
 public:
  explicit Socket(int family = AF_INET) : fd_(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

using Clock = std::chrono::steady_clock;

int MsLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// A numeric IPv4 or IPv6 address and port; false if `host` is neither.
bool ParseHost(const std::string& host, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  ss = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
    return true;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
    return true;
  }
  return false;
}

// Connects with a deadline (non-blocking connect + poll); true on success.
bool ConnectBy(const Socket& s, const sockaddr_storage& addr, socklen_t addr_len, Clock::time_point deadline) {
  const int flags = ::fcntl(s.fd(), F_GETFL);
  ::fcntl(s.fd(), F_SETFL, flags | O_NONBLOCK);
  if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
    if (errno != EINPROGRESS) return false;
    pollfd p{s.fd(), POLLOUT, 0};
    if (::poll(&p, 1, MsLeft(deadline)) != 1) return false;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return false;
  }
  ::fcntl(s.fd(), F_SETFL, flags);
  return true;
}

bool ConnectBy(const Socket& s, uint16_t port, Clock::time_point deadline) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  ParseHost("127.0.0.1", port, addr, len);
  return ConnectBy(s, addr, len, deadline);
}

// Sends `request` on a new connection to host:port, reads until the server
// closes, and splits the answer into status, headers and body.
std::optional<HttpResponse> Exchange(const std::string& host, uint16_t port, const std::string& request,
                                     std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (!ParseHost(host, port, addr, addr_len)) return std::nullopt;
  Socket s(addr.ss_family);
  if (!ConnectBy(s, addr, addr_len, deadline)) return std::nullopt;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(s.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  while (true) {
    pollfd p{s.fd(), POLLIN, 0};
    const int ready = ::poll(&p, 1, MsLeft(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready != 1) return std::nullopt;  // timed out
    const ssize_t n = ::recv(s.fd(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  // "HTTP/1.x NNN reason\r\n headers \r\n\r\n body"
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return std::nullopt;
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  HttpResponse r;
  r.status = std::atoi(raw.c_str() + 9);
  const size_t status_end = raw.find("\r\n");
  r.headers = raw.substr(status_end + 2, head_end + 2 - (status_end + 2));
  r.body = raw.substr(head_end + 4);
  return r;
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  size_t pos = 0;
  while (pos < headers.size()) {
    const size_t eol = std::min(headers.find("\r\n", pos), headers.size());
    const std::string_view line = std::string_view(headers).substr(pos, eol - pos);
    const size_t colon = line.find(':');
    if (colon == name.size() && std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      return std::string(value);
    }
    pos = eol + 2;
  }
  return "";
}

uint16_t FreePort() {
  Socket s;
  sockaddr_in addr = Loopback(0);
  if (::bind(s.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  if (::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("getsockname: ") + std::strerror(errno));
  }
  return ntohs(addr.sin_port);
}

bool WaitForPort(uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    {
      Socket s;
      if (ConnectBy(s, port, std::min(deadline, Clock::now() + std::chrono::milliseconds(500)))) return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::optional<HttpResponse> HttpGet(uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
  return HttpGet("127.0.0.1", port, path, timeout);
}

std::optional<HttpResponse> HttpGet(const std::string& host, uint16_t port, const std::string& path,
                                    std::chrono::milliseconds timeout) {
  const std::string authority = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: " + authority + ":" + std::to_string(port) + "\r\nConnection: close\r\n\r\n";
  return Exchange(host, port, request, timeout);
}

std::optional<HttpResponse> HttpExchange(uint16_t port, const std::string& request, std::chrono::milliseconds timeout) {
  return Exchange("127.0.0.1", port, request, timeout);
}

namespace {

// One row of /proc/net/tcp or tcp6: the ports (the addresses do not matter
// on loopback, where a port names the endpoint), both queues, the inode.
struct TcpSocketRow {
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  bool listening = false;
  uint64_t send_queue = 0;     // tx_queue: written, not yet acknowledged by the peer
  uint64_t receive_queue = 0;  // rx_queue: arrived, not yet read by the owner
  uint64_t inode = 0;
};

// "0100007F:1F90" (or a 32-digit IPv6 address) -> 0x1F90.
uint16_t PortOfProcAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("unexpected address in /proc/net/tcp: " + address);
  return static_cast<uint16_t>(std::stoul(address.substr(colon + 1), nullptr, 16));
}

std::vector<TcpSocketRow> ReadProcNetTcp() {
  std::vector<TcpSocketRow> rows;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(path);
    if (!in) continue;  // no IPv6 in this kernel
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      // sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout;
      TcpSocketRow r;
      if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> r.inode)) {
        throw std::runtime_error(std::string("unexpected line in ") + path + ": " + line);
      }
      r.local_port = PortOfProcAddress(local);
      r.remote_port = PortOfProcAddress(remote);
      r.listening = state == "0A";
      const size_t colon = queues.find(':');
      r.send_queue = std::stoull(queues.substr(0, colon), nullptr, 16);
      r.receive_queue = std::stoull(queues.substr(colon + 1), nullptr, 16);
      rows.push_back(r);
    }
  }
  return rows;
}

// The inodes of the sockets process `pid` has open ("socket:[123]" links in
// /proc/<pid>/fd).
std::set<uint64_t> SocketInodesOf(pid_t pid) {
  std::set<uint64_t> inodes;
  std::error_code ec;
  const std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : std::filesystem::directory_iterator(fds, ec)) {
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(entry.path(), link_ec).string();
    if (!link_ec && target.rfind("socket:[", 0) == 0) inodes.insert(std::stoull(target.substr(8)));
  }
  if (ec) throw std::runtime_error("cannot list " + fds.string() + ": " + ec.message());
  return inodes;
}

}  // namespace

uint64_t TcpBytesToServer(pid_t client, uint16_t port) {
  const std::set<uint64_t> client_sockets = SocketInodesOf(client);
  const std::vector<TcpSocketRow> rows = ReadProcNetTcp();
  uint64_t bytes = 0;
  for (const TcpSocketRow& c : rows) {
    if (c.listening || c.remote_port != port || client_sockets.count(c.inode) == 0) continue;
    bytes += c.send_queue;
    // The server's end of this connection: its local port is the server's,
    // its peer the client's.
    for (const TcpSocketRow& s : rows) {
      if (!s.listening && s.local_port == port && s.remote_port == c.local_port) bytes += s.receive_queue;
    }
  }
  return bytes;
}

uint16_t StartServerReportingPort(std::optional<Process>& slot, ProcessOptions options, const std::string& listening) {
  const std::string what = options.name.empty() ? options.program.string() : options.name;
  slot.emplace(std::move(options));
  const std::regex pattern(listening);
  std::smatch m;
  std::string out;
  WaitUntil(
      std::chrono::seconds(20),
      [&] {
        out = slot->ReadStdout();
        return std::regex_search(out, m, pattern) || !slot->Running();
      },
      std::chrono::milliseconds(20));
  if (!std::regex_search(out, m, pattern)) {
    const std::string err = slot->ReadStderr();
    const ExitStatus status = slot->Kill9();
    slot.reset();
    throw std::runtime_error(what + " did not start (" + status.ToString() + "): " + out + err);
  }
  const auto port = static_cast<uint16_t>(std::stoi(m[1].str()));
  if (!WaitForPort(port, std::chrono::seconds(5))) {
    throw std::runtime_error(what + " does not accept connections on port " + std::to_string(port));
  }
  return port;
}

}  // namespace sluice::test
