#include "core/systemd/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace sluice {
namespace {

std::string_view Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string_view() : std::string_view(v);
}

template <class T>
std::optional<T> ParseUnsigned(std::string_view s) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  const std::string_view socket_name = Env("NOTIFY_SOCKET");
  if (socket_name.empty()) return;
  // "/path" is a file system socket, "@name" one in the abstract namespace.
  if (socket_name[0] != '/' && socket_name[0] != '@') {
    setup_problem_ = "NOTIFY_SOCKET=" + std::string(socket_name) + " is neither an absolute path nor @abstract";
    return;
  }
  if (socket_name.size() >= sizeof(sockaddr_un::sun_path)) {
    setup_problem_ = "NOTIFY_SOCKET is longer than a socket address can be";
    return;
  }
  address_ = socket_name;
  if (address_[0] == '@') address_[0] = '\0';
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    setup_problem_ = std::string("cannot create the notification socket: ") + std::strerror(errno);
    return;
  }

  const std::optional<uint64_t> usec = ParseUnsigned<uint64_t>(Env("WATCHDOG_USEC"));
  if (!usec.has_value() || *usec == 0) return;
  // WATCHDOG_PID names the process systemd expects the pings from; a child
  // that inherited the environment must not ping on its parent's behalf.
  const std::string_view pid = Env("WATCHDOG_PID");
  if (!pid.empty() && ParseUnsigned<pid_t>(pid) != getpid()) return;
  watchdog_interval_ = std::chrono::milliseconds(std::max<uint64_t>(*usec / 2000, 1));
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) close(fd_);
}

Status SystemdNotifier::Notify(std::string_view state) const {
  if (fd_ < 0) return Status::Ok();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address_.data(), address_.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
  // MSG_NOSIGNAL: a manager that went away must not kill us with SIGPIPE.
  const ssize_t sent =
      sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  if (sent < 0) return Status::FromErrno(errno, "sd_notify to " + std::string(Env("NOTIFY_SOCKET")));
  return Status::Ok();
}

std::string ReloadingMessage() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
}

}  // namespace sluice

namespace sluice {

std::string StatusLine(std::string_view text) {
  std::string line = "STATUS=";
  for (const char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;
  return line;
}

}  // namespace sluice
