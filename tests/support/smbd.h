// A real Samba smbd on 127.0.0.1 for one test, in a directory of its own
// (the recipe of ../shared/TEST-SERVERS.md, section SMB):
//   <dir>/smb.conf           the configuration (one share, "share")
//   <dir>/share/             what the share serves (share_dir())
//   <dir>/private, lock, state, cache, pid, ncalrpc/   smbd's state
//   <dir>/log/smbd.log       its log; <dir>/smbd.stdout|.stderr
//
// The share's one user is the Unix user running the test (root in CI: smbd
// must run as root), with password() in Samba's own password database under
// <dir>/private, so no system file is changed. SMB2 and later only.
//
// Invariants: the port is chosen once (the first start retries with another
// port when it was taken meanwhile) and kept across Stop()/Start(). Stop()
// and Kill9() end the listener and every per-connection smbd it forked: a
// stopped fixture leaves no connection open, as a "server gone" test needs.
// Owns those processes: the destructor stops them, also when the test fails.
// Not thread-safe: one thread drives an Smbd.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "tests/support/process.h"

namespace sluice::test {

class Smbd {
 public:
  // Creates `dir`, the configuration and the user's Samba password, and
  // starts the server. Throws std::runtime_error (with the log) on failure.
  explicit Smbd(std::filesystem::path dir);
  ~Smbd();
  Smbd(const Smbd&) = delete;
  Smbd& operator=(const Smbd&) = delete;

  // Starts again on the same port; returns once it accepts connections.
  void Start();
  // SIGTERM to the listener and its connection processes, SIGKILL after `timeout`.
  ExitStatus Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL to all of them: connections break mid-transfer.
  ExitStatus Kill9();
  bool Running();

  uint16_t port() const { return port_; }
  const std::string& user() const { return user_; }
  static constexpr const char* kPassword = "sluice-smb-pw-1";
  // The password in a file, without a trailing newline.
  std::filesystem::path password_file() const { return dir_ / "password"; }
  // "smb://USER@127.0.0.1:PORT/share/REL" (REL percent-encoded).
  std::string Url(std::string_view rel = {}) const;
  std::filesystem::path share_dir() const { return dir_ / "share"; }
  std::filesystem::path config_path() const { return dir_ / "smb.conf"; }
  // Everything it logged so far.
  std::string log() const;

 private:
  void WriteConfig() const;
  std::string TryStart();
  // Stops the listener from forking, then signals it and its children.
  void SignalAll(int sig);

  std::filesystem::path dir_;
  std::string user_;
  uint16_t port_ = 0;
  bool ever_started_ = false;
  std::optional<Process> process_;
  ExitStatus last_status_;
};

// The pids whose parent is `parent` (from /proc): a server's forked workers.
std::vector<pid_t> ChildPids(pid_t parent);

}  // namespace sluice::test
