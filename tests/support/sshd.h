// A real OpenSSH sshd on 127.0.0.1 for one test, in a directory of its own:
//   <dir>/sshd_config          the configuration (absolute paths), rewritten by every Start()
//   <dir>/sshd.log             the server's log (LogLevel VERBOSE, `-E`), appended across restarts
//   <dir>/sshd.stdout|.stderr  what it printed before its log was open
//   <dir>/ssh_host_ed25519_key the host key; <dir>/other_host_ed25519_key a key no server uses
//   <dir>/client_ed25519_key, client_encrypted_ed25519_key (passphrase in key_passphrase),
//   <dir>/unauthorized_ed25519_key   client keys, each with its .pub
//   <dir>/authorized_keys      the .pub of both authorized client keys
//   <dir>/known_hosts, wrong_known_hosts   "[127.0.0.1]:PORT ssh-ed25519 ..." lines
//   <dir>/password             password_user()'s password (password = true)
//   <dir>/data/                an empty directory the login user owns, for the test's files
//
// Logins: user() (the user running the test, root in CI) with client_key() or
// encrypted_client_key(); as root by key only (PermitRootLogin
// prohibit-password). With `password`, also password_user() ("sluicetest", a
// real Unix user created if missing) with password_file() or either client
// key: AuthorizedKeysFile is an absolute path, so it applies to every user.
// The sftp subsystem is internal-sftp. No PAM, no keyboard-interactive.
//
// Invariants: the port is chosen once (the first start retries with another
// port when it was taken meanwhile) and kept across Stop()/Start(), and the
// keys are made once (kept when the directory already holds them), so
// known_hosts() stays valid across restarts. Stop() and Kill9() end the
// listener and every session it forked: unlike a real sshd, whose sessions
// outlive it, a stopped fixture leaves no connection open, as a test of
// "server gone" needs; and nothing outlives the test.
//
// Several Sshd may run at once, in one process or in several: each has its
// own directory and port; /run/sshd and the password user are shared and made
// idempotently (the user under a file lock).
//
// Owns the server process and its sessions: the destructor stops them
// (SIGTERM, then SIGKILL) also when the test fails. The directory is the
// caller's (a TempDir). Not thread-safe: one thread drives an Sshd.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/process.h"

namespace sluice::test {

struct SshdOptions {
  // Also accept password authentication for password_user() (a real Unix
  // user the fixture creates with useradd if missing, its password set with
  // chpasswd; needs root). The directories between the temp directory and
  // `dir` are then made traversable (g+x, o+x: a TempDir is 0700) so that
  // user's sessions reach authorized_keys and data_dir(); a directory outside
  // the temp directory that blocks it is an error.
  bool password = false;
  // More sshd_config lines, placed BEFORE the fixture's own: sshd keeps the
  // first value of a keyword, so these override the defaults (e.g.
  // "MaxSessions 1"). A "Subsystem sftp ..." line here replaces
  // internal-sftp.
  std::string extra_config;
  // Lines appended at the end of sshd_config: Match blocks, which must come
  // last.
  std::string match_config;
};

class Sshd {
 public:
  // Creates `dir` if needed, the keys, known_hosts files, data_dir() and (with
  // `password`) the password user, and starts the server. Throws
  // std::runtime_error naming the command and its stderr when a step fails.
  explicit Sshd(std::filesystem::path dir, SshdOptions options = {});
  ~Sshd();
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;

  // Starts the server again on the same port with the same host key (after
  // Stop() or Kill9()); returns once it accepts connections. Throws when it
  // is already running or does not come up (with its log).
  void Start();
  // SIGTERM to the listener and its sessions, waiting up to `timeout`;
  // SIGKILL after that. Returns how the listener ended (sshd exits 0 on
  // SIGTERM); a no-op returning the last status when it is not running.
  ExitStatus Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL to the listener and its sessions: connections break mid-transfer.
  ExitStatus Kill9();
  bool Running();
  pid_t pid() const;

  uint16_t port() const { return port_; }
  // The login user for key authentication: the user running the test.
  std::string user() const { return user_; }
  // "sftp://USER@127.0.0.1:PORT/PATH" with `absolute_path` (and the user)
  // percent-encoded except for RFC 3986 unreserved characters and '/'.
  // `user` defaults to user(). Throws std::invalid_argument for a relative
  // path.
  std::string Url(const std::filesystem::path& absolute_path, std::string_view user = {}) const;

  // Client keys (ed25519, OpenSSH format, mode 0600).
  std::filesystem::path client_key() const { return dir_ / "client_ed25519_key"; }  // no passphrase; authorized
  std::filesystem::path encrypted_client_key() const {
    return dir_ / "client_encrypted_ed25519_key";
  }  // passphrase-protected; authorized
  std::filesystem::path key_passphrase_file() const {
    return dir_ / "key_passphrase";
  }  // that passphrase, no trailing newline
  std::filesystem::path unauthorized_key() const {
    return dir_ / "unauthorized_ed25519_key";
  }  // valid, but not in authorized_keys
  std::filesystem::path host_key() const { return dir_ / "ssh_host_ed25519_key"; }
  // "[127.0.0.1]:PORT ssh-ed25519 <host key>", for StrictHostKeyChecking=yes.
  std::filesystem::path known_hosts() const { return dir_ / "known_hosts"; }
  // The same host entry with another key: a host key mismatch.
  std::filesystem::path wrong_known_hosts() const { return dir_ / "wrong_known_hosts"; }

  // The password user and its password (in a file, without trailing newline,
  // as `sshpass -f` and libraries reading a secret file want it).
  static constexpr const char* kPasswordUser = "sluicetest";
  static constexpr const char* kPassword = "sluice-test-pw-1";
  static constexpr const char* kKeyPassphrase = "sluice-key-pass-1";
  std::string password_user() const { return kPasswordUser; }
  std::filesystem::path password_file() const { return dir_ / "password"; }  // valid with password = true

  // <dir>/data: empty at first, owned by user() (by password_user() with
  // `password`, so both can write: root writes anywhere).
  std::filesystem::path data_dir() const { return dir_ / "data"; }

  const std::filesystem::path& dir() const { return dir_; }
  const SshdOptions& options() const { return options_; }
  std::filesystem::path config_path() const { return dir_ / "sshd_config"; }
  std::filesystem::path log_path() const { return dir_ / "sshd.log"; }
  // The whole server log so far (every start), with what it printed to
  // stderr.
  std::string log() const;

 private:
  void MakeKeys();
  void MakePasswordUser();
  void MakeDataDir();
  void WriteConfig() const;
  void WriteKnownHosts() const;
  // One attempt to start; the reason it failed (empty on success). Leaves
  // nothing running on failure.
  std::string TryStart();
  // Stops the listener from forking (SIGSTOP) and then every session below
  // it, so none escapes while they are signalled; returns the sessions.
  struct Session {
    pid_t pid;
    uint64_t start_time;  // /proc/PID/stat field 22, against PID reuse
  };
  std::vector<Session> FreezeSessions();

  std::filesystem::path dir_;
  SshdOptions options_;
  std::string user_;
  uint16_t port_ = 0;
  bool ever_started_ = false;
  std::optional<Process> process_;
  ExitStatus last_status_;
};

}  // namespace sluice::test
