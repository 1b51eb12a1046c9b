// SystemdNotifier: tells the service manager how the process is doing, with
// systemd's notification protocol (sd_notify(3)): one AF_UNIX datagram of
// "KEY=VALUE" lines to the socket named by $NOTIFY_SOCKET.
//
// Written by hand rather than linking libsystemd: systemd documents this
// protocol as a stable interface meant to be reimplemented
// (https://systemd.io/PORTABILITY_AND_STABILITY/ and sd_notify(3) "Notes"),
// it is ~80 lines, and libsystemd would add a shared library (and through it
// liblz4, liblzma, libgcrypt, libcap) to a binary whose size and idle RSS on
// small devices are budgeted (bench/README.md, "Footprint").
//
// Invariants: constructed once from the environment of the process; when
// $NOTIFY_SOCKET is unset (not run by systemd, or Type= is not notify) every
// call is a successful no-op, so callers never branch on "under systemd".
// The watchdog interval is half of $WATCHDOG_USEC (sd_watchdog_enabled(3)
// recommends pinging at half the timeout) and is only reported when
// $WATCHDOG_PID is unset or names this process. Sending is thread-safe
// (one sendto(2) per message; the socket is only read after construction).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

class SystemdNotifier {
 public:
  // Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID. An unusable
  // value (a relative path, a watchdog of 0) counts as unset; why is kept in
  // setup_problem() for the caller to log.
  SystemdNotifier();
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // How often to send WATCHDOG=1; nullopt when systemd runs no watchdog for us.
  std::optional<std::chrono::milliseconds> watchdog_interval() const { return watchdog_interval_; }
  const std::string& setup_problem() const { return setup_problem_; }

  // Sends `state` ("READY=1", "STATUS=...\nWATCHDOG=1", ...) as one datagram.
  // A no-op when not enabled.
  Status Notify(std::string_view state) const;

 private:
  int fd_ = -1;
  std::string address_;  // sun_path bytes; a leading '\0' for the abstract namespace
  std::optional<std::chrono::milliseconds> watchdog_interval_;
  std::string setup_problem_;
};

// "RELOADING=1\nMONOTONIC_USEC=<now>": systemd 253+ wants the timestamp to
// tell this reload from an earlier one; older versions ignore the field.
std::string ReloadingMessage();
// "STATUS=<text>" with line breaks made spaces: a state is one line per key.
std::string StatusLine(std::string_view text);

}  // namespace sluice
