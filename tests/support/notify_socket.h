// NotifySocket: the service manager's end of systemd's notification protocol
// for tests: an AF_UNIX datagram socket bound at a path, to be handed to a
// process as NOTIFY_SOCKET, that records every message with the sender's pid
// (SCM_CREDENTIALS, which systemd uses to accept only the main process's
// messages under NotifyAccess=main) and when it arrived.
// Owns the socket and its file; not thread-safe (one test thread reads).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sluice::test {

struct NotifyMessage {
  std::string text;  // "READY=1\nSTATUS=..."
  pid_t sender = -1;
  std::chrono::steady_clock::time_point received;

  // True when one of the message's lines is exactly `line` ("READY=1").
  bool Has(std::string_view line) const;
};

class NotifySocket {
 public:
  // Binds `path` (removed first if it exists); throws std::runtime_error.
  explicit NotifySocket(std::filesystem::path path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The next message, waiting up to `timeout`; nullopt when none came.
  std::optional<NotifyMessage> Receive(std::chrono::milliseconds timeout);
  // Receives until a message has the line `line` (returned) or `timeout`
  // passed (nullopt). Every message received meanwhile is kept in seen().
  std::optional<NotifyMessage> WaitFor(std::string_view line, std::chrono::milliseconds timeout);
  // Every message received so far, in order.
  const std::vector<NotifyMessage>& seen() const { return seen_; }
  // seen() as text, for failure messages.
  std::string Describe() const;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::vector<NotifyMessage> seen_;
};

}  // namespace sluice::test
