// One SSH connection with the "sftp" subsystem channel open on it, made with
// libssh: TCP connect, host key verification against known_hosts,
// authentication (key file, ssh-agent, password), then the channel. Above it
// the channel is just a byte pipe: WriteSome/ReadSome never wait for the peer
// (WriteSome sends at most the peer's channel window, so a writer never blocks
// on a window that only a reader could reopen), WaitReadable sleeps on the
// socket.
// Invariants: libssh handles are owned here (unique_ptr with their deleters,
// the channel freed before the session); an SshConnection is NOT thread-safe:
// the SFTP client above serializes all calls (one "pump" thread at a time).
// Secrets (passwords, passphrases) are never logged or put in messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

struct ssh_session_struct;
struct ssh_channel_struct;

namespace sluice::sftp {

struct SshOptions {
  std::string host;
  uint16_t port = 22;
  std::string user;         // empty: the local user
  std::string known_hosts;  // empty: ~/.ssh/known_hosts
  bool accept_new_host_key = false;
  std::string key_file;
  std::string key_passphrase_file;
  std::string password_file;
  std::string password_env = "SLUICE_SSH_PASSWORD";
  std::chrono::milliseconds connect_timeout{15000};
  std::chrono::milliseconds io_timeout{60000};
  // AES-GCM first: with AES-NI it is several times chacha20's speed.
  std::string ciphers = "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr";
};

class SshConnection {
 public:
  // Connects, verifies the host key, authenticates and opens the sftp
  // subsystem. kUnavailable when the server cannot be reached,
  // kPermissionDenied for a refused host key or failed authentication.
  static Result<std::unique_ptr<SshConnection>> Connect(const SshOptions& options);
  ~SshConnection();
  SshConnection(const SshConnection&) = delete;
  SshConnection& operator=(const SshConnection&) = delete;

  // Sends up to data.size() bytes, no more than the channel window allows:
  // the count sent (0 when the window is closed; wait for readability, the
  // window adjust arrives as input). kUnavailable when the connection is gone.
  Result<size_t> WriteSome(std::string_view data);
  // Copies up to buf.size() bytes that have arrived, without waiting; 0 when
  // none. kUnavailable when the connection is gone or the server closed it.
  Result<size_t> ReadSome(char* buf, size_t size);
  // Sleeps until the socket or `wake_fd` (-1: none) is readable, or `timeout`.
  void WaitReadable(int wake_fd, std::chrono::milliseconds timeout);

  // "user@host:port" for messages.
  const std::string& peer() const { return peer_; }

 private:
  struct SessionDeleter {
    void operator()(ssh_session_struct* s) const;
  };
  struct ChannelDeleter {
    void operator()(ssh_channel_struct* c) const;
  };
  SshConnection() = default;

  std::unique_ptr<ssh_session_struct, SessionDeleter> session_;
  std::unique_ptr<ssh_channel_struct, ChannelDeleter> channel_;  // declared after: destroyed first
  std::string peer_;
};

}  // namespace sluice::sftp
