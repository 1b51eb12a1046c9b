#include "tests/support/notify_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::test {

bool NotifyMessage::Has(std::string_view line) const {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (std::string_view(text).substr(start, end - start) == line) return true;
    start = end + 1;
  }
  return false;
}

NotifySocket::NotifySocket(std::filesystem::path path) : path_(std::move(path)) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path_.string();
  if (p.size() >= sizeof(addr.sun_path)) throw std::runtime_error("notify socket path too long: " + p);
  std::memcpy(addr.sun_path, p.data(), p.size());
  std::filesystem::remove(path_);
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int on = 1;
  if (setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0 ||
      bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd_);
    throw std::runtime_error("cannot bind notify socket " + p + ": " + std::strerror(err));
  }
}

NotifySocket::~NotifySocket() {
  close(fd_);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

std::optional<NotifyMessage> NotifySocket::Receive(std::chrono::milliseconds timeout) {
  pollfd pfd{fd_, POLLIN, 0};
  if (poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  char data[4096];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
  iovec iov{data, sizeof(data)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t n = recvmsg(fd_, &msg, 0);
  if (n < 0) return std::nullopt;
  NotifyMessage m;
  m.text.assign(data, static_cast<size_t>(n));
  m.received = std::chrono::steady_clock::now();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      ucred cred{};
      std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
      m.sender = cred.pid;
    }
  }
  seen_.push_back(m);
  return m;
}

std::optional<NotifyMessage> NotifySocket::WaitFor(std::string_view line, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    std::optional<NotifyMessage> m = Receive(left);
    if (m.has_value() && m->Has(line)) return m;
  }
}

std::string NotifySocket::Describe() const {
  std::string out = std::to_string(seen_.size()) + " messages:";
  for (const NotifyMessage& m : seen_) {
    std::string text = m.text;
    for (char& c : text) c = c == '\n' ? '|' : c;
    out += "\n  [pid " + std::to_string(m.sender) + "] " + text;
  }
  return out;
}

}  // namespace sluice::test
