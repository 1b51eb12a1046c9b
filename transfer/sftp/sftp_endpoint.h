// The SFTP endpoint: a tree under a path on an SSH server, reached with
// libssh (connection, host key check, authentication) and the SFTP client in
// protocols/sftp/. Passes the endpoint conformance suite against a real sshd.
//
// Thread-safe as every Endpoint: the copier's workers (--transfers) call it
// at once; it keeps a pool of SSH connections and never shares one libssh
// session between threads without holding that session's lock.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"
#include "protocols/sftp/sftp_url.h"
#include "transfer/endpoint.h"

namespace sluice::transfer {

struct SftpOptions {
  // Host key verification is always on. Empty: ~/.ssh/known_hosts.
  std::string known_hosts;
  // First contact: a host missing from known_hosts is added instead of refused.
  // A host whose key changed is refused all the same.
  bool accept_new_host_key = false;
  // Authentication, tried in this order: the key file (if set), ssh-agent
  // (SSH_AUTH_SOCK), the password (file, else the environment variable).
  std::string key_file;
  std::string key_passphrase_file;
  std::string password_file;
  std::string password_env = "SLUICE_SSH_PASSWORD";
  // SSH connections kept open at most (0: 4), each multiplexing any number of
  // requests and streams; made lazily, when every open one is busy.
  int connections = 0;
  std::chrono::milliseconds connect_timeout{15000};
  // A request unanswered this long is a lost connection (kUnavailable).
  std::chrono::milliseconds io_timeout{60000};
};

// Connects once (checking the host key and the credentials, so that a wrong
// key or password fails here, clearly, before any planning) and returns the
// endpoint rooted at url.path, which must exist and be a directory
// (kNotFound otherwise). Errors name the URL (without secrets).
Result<std::unique_ptr<Endpoint>> OpenSftpEndpoint(const sftp::SftpUrl& url, const SftpOptions& options);

}  // namespace sluice::transfer
