#include "protocols/sftp/ssh_connection.h"

#include <fmt/format.h>
#include <libssh/libssh.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace sluice::sftp {
namespace {

struct KeyDeleter {
  void operator()(ssh_key_struct* k) const { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;

// A secret read into memory, wiped when it goes away.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string s) : s_(std::move(s)) {}
  ~Secret() { Wipe(); }
  Secret(Secret&& o) noexcept : s_(std::move(o.s_)) { o.Wipe(); }
  Secret& operator=(Secret&& o) noexcept {
    Wipe();
    s_ = std::move(o.s_);
    o.Wipe();
    return *this;
  }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  const char* c_str() const { return s_.c_str(); }
  bool empty() const { return s_.empty(); }

 private:
  void Wipe() {
    volatile char* p = s_.data();
    for (size_t i = 0; i < s_.size(); ++i) p[i] = 0;
    s_.clear();
  }
  std::string s_;
};

// The first line of a secret file (a trailing newline is not part of it).
Result<Secret> ReadSecretFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::FromErrno(errno, fmt::format("cannot read the {} file {}", what, path));
  }
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return Secret(std::move(line));
}

std::string DefaultKnownHosts() {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.ssh/known_hosts";
}

// Encrypted keys without a passphrase must fail, not prompt on a terminal.
int NoPrompt(const char*, char*, size_t, int, int, void*) { return -1; }

long Seconds(std::chrono::milliseconds ms) { return static_cast<long>(ms.count() / 1000); }
long Micros(std::chrono::milliseconds ms) { return static_cast<long>(ms.count() % 1000) * 1000; }

}  // namespace

void SshConnection::SessionDeleter::operator()(ssh_session_struct* s) const {
  if (ssh_is_connected(s) != 0) ssh_disconnect(s);
  ssh_free(s);
}

void SshConnection::ChannelDeleter::operator()(ssh_channel_struct* c) const { ssh_channel_free(c); }

SshConnection::~SshConnection() = default;

Result<std::unique_ptr<SshConnection>> SshConnection::Connect(const SshOptions& o) {
  std::unique_ptr<SshConnection> conn(new SshConnection());  // private constructor: make_unique cannot reach it
  conn->peer_ = fmt::format("{}{}:{}", o.user.empty() ? "" : o.user + "@", o.host, o.port);
  const std::string host_port = fmt::format("{}:{}", o.host, o.port);
  conn->session_.reset(ssh_new());
  ssh_session s = conn->session_.get();
  if (s == nullptr) return Status::Internal("ssh_new failed");
  const auto err = [&](std::string_view what) { return fmt::format("{} {}: {}", what, host_port, ssh_get_error(s)); };

  const unsigned port = o.port;
  const std::string known_hosts = o.known_hosts.empty() ? DefaultKnownHosts() : o.known_hosts;
  const long connect_s = std::max<long>(1, Seconds(o.connect_timeout));
  const bool no = false;
  const int nodelay = 1;
  bool ok = ssh_options_set(s, SSH_OPTIONS_HOST, o.host.c_str()) == 0 &&
            ssh_options_set(s, SSH_OPTIONS_PORT, &port) == 0 &&
            ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) == 0 &&
            ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str()) == 0 &&
            ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &connect_s) == 0 &&
            ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, o.ciphers.c_str()) == 0 &&
            ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, o.ciphers.c_str()) == 0 &&
            ssh_options_set(s, SSH_OPTIONS_COMPRESSION, "no") == 0 &&
            // Without TCP_NODELAY, Nagle + delayed ACKs stall small requests by ~40 ms each.
            ssh_options_set(s, SSH_OPTIONS_NODELAY, &nodelay) == 0;
  if (ok && !o.user.empty()) ok = ssh_options_set(s, SSH_OPTIONS_USER, o.user.c_str()) == 0;
  if (!ok) return Status::InvalidArgument(err("bad SSH options for"));

  if (ssh_connect(s) != SSH_OK) return Status::Unavailable(err("cannot connect to"));

  switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK:
      break;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      return Status::PermissionDenied(fmt::format(
          "host key for {} does not match {} (possible man-in-the-middle); if the server's key really changed, "
          "remove its old entry from that file",
          host_port, known_hosts));
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      if (!o.accept_new_host_key) {
        return Status::PermissionDenied(
            fmt::format("host key for {} is not in {}; refusing an unknown host (add it with ssh-keyscan, or allow "
                        "first contact with --accept-new-host-key)",
                        host_port, known_hosts));
      }
      if (ssh_session_update_known_hosts(s) != SSH_OK) {
        return Status::Io(err(fmt::format("cannot add the host key to {} for", known_hosts)));
      }
      break;
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      return Status::Io(err(fmt::format("cannot check the host key against {} for", known_hosts)));
  }

  // Authentication: key file, agent, password, in that order.
  std::vector<std::string> tried;
  bool authed = false;
  const auto outcome = [&](int rc, std::string_view method) -> Status {
    if (rc == SSH_AUTH_SUCCESS) {
      authed = true;
    } else if (rc == SSH_AUTH_ERROR) {
      return Status::Unavailable(err(fmt::format("{} authentication failed on", method)));
    } else {
      tried.emplace_back(method);
    }
    return Status::Ok();
  };
  if (!o.key_file.empty()) {
    Secret passphrase;
    if (!o.key_passphrase_file.empty()) {
      Result<Secret> p = ReadSecretFile(o.key_passphrase_file, "key passphrase");
      if (!p.ok()) return p.status();
      passphrase = std::move(p).value();
    }
    ssh_key raw = nullptr;
    const int rc = ssh_pki_import_privkey_file(o.key_file.c_str(), passphrase.empty() ? nullptr : passphrase.c_str(),
                                               &NoPrompt, nullptr, &raw);
    KeyPtr key(raw);
    if (rc != SSH_OK) {
      tried.push_back(
          fmt::format("key file {} (cannot load it: missing, unreadable, or a wrong passphrase)", o.key_file));
    } else if (Status st = outcome(ssh_userauth_publickey(s, nullptr, key.get()), "key file " + o.key_file); !st.ok()) {
      return st;
    }
  }
  if (!authed && std::getenv("SSH_AUTH_SOCK") != nullptr) {
    if (Status st = outcome(ssh_userauth_agent(s, nullptr), "ssh-agent"); !st.ok()) return st;
  }
  if (!authed) {
    Secret password;
    std::string source;
    if (!o.password_file.empty()) {
      Result<Secret> p = ReadSecretFile(o.password_file, "password");
      if (!p.ok()) return p.status();
      password = std::move(p).value();
      source = "password from " + o.password_file;
    } else if (const char* env = o.password_env.empty() ? nullptr : std::getenv(o.password_env.c_str())) {
      password = Secret(env);
      source = "password from $" + o.password_env;
    }
    if (!source.empty()) {
      if (Status st = outcome(ssh_userauth_password(s, nullptr, password.c_str()), source); !st.ok()) return st;
    }
  }
  if (!authed) {
    std::string list;
    for (const std::string& t : tried) list += (list.empty() ? "" : ", ") + t;
    return Status::PermissionDenied(fmt::format("authentication to {} failed (tried: {})", conn->peer_,
                                                list.empty() ? "nothing: no key file, agent or password given" : list));
  }

  const long io_s = Seconds(o.io_timeout);
  const long io_us = Micros(o.io_timeout);
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &io_s);
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &io_us);

  conn->channel_.reset(ssh_channel_new(s));
  if (!conn->channel_) return Status::Unavailable(err("cannot create a channel on"));
  if (ssh_channel_open_session(conn->channel_.get()) != SSH_OK) {
    return Status::Unavailable(err("cannot open a session channel on"));
  }
  if (ssh_channel_request_subsystem(conn->channel_.get(), "sftp") != SSH_OK) {
    return Status::Unavailable(err("the SFTP subsystem is not available on"));
  }
  return conn;
}

Result<size_t> SshConnection::WriteSome(std::string_view data) {
  const uint32_t window = ssh_channel_window_size(channel_.get());
  if (window == 0 || data.empty()) return size_t{0};
  const uint32_t n = static_cast<uint32_t>(std::min<size_t>({data.size(), window, size_t{1} << 20}));
  const int rc = ssh_channel_write(channel_.get(), data.data(), n);
  if (rc == SSH_AGAIN) return size_t{0};  // e.g. during a key re-exchange
  if (rc < 0) {
    return Status::Unavailable(fmt::format("connection to {} lost: {}", peer_, ssh_get_error(session_.get())));
  }
  return static_cast<size_t>(rc);
}

Result<size_t> SshConnection::ReadSome(char* buf, size_t size) {
  const int rc = ssh_channel_read_nonblocking(channel_.get(), buf, static_cast<uint32_t>(size), 0);
  if (rc == SSH_EOF) return Status::Unavailable(fmt::format("{} closed the SFTP channel", peer_));
  if (rc == SSH_AGAIN) return size_t{0};
  if (rc < 0) {
    return Status::Unavailable(fmt::format("connection to {} lost: {}", peer_, ssh_get_error(session_.get())));
  }
  return static_cast<size_t>(rc);
}

void SshConnection::WaitReadable(int wake_fd, std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{ssh_get_fd(session_.get()), POLLIN, 0}, {wake_fd, POLLIN, 0}};
  ::poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
}

}  // namespace sluice::sftp
