#include "tests/support/sshd.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/net.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kSshd = "/usr/sbin/sshd";  // absolute: sshd re-executes itself per connection


std::string CommandLine(const std::string& program, const std::vector<std::string>& args) {
  std::string command = program;
  for (const auto& a : args) command += " " + a;
  return command;
}

RunResult RunTool(const std::string& program, const std::vector<std::string>& args) {
  ProcessOptions o;
  o.program = program;
  o.args = args;
  return RunToCompletion(std::move(o), 60s);
}

std::string Describe(const RunResult& r) { return r.timed_out ? "timed out" : r.status.ToString(); }

// Runs a short tool (ssh-keygen, sshd -t) to completion; throws with the
// command line and its stderr when it fails.
void Run(const std::string& program, const std::vector<std::string>& args) {
  const RunResult r = RunTool(program, args);
  if (r.timed_out || !r.status.Exited(0)) {
    throw std::runtime_error("`" + CommandLine(program, args) + "` failed (" + Describe(r) + "): " + r.err);
  }
}

// An ed25519 key pair (`key` and `key`.pub) unless `key` exists already:
// ssh-keygen would ask whether to overwrite, and a kept host key keeps
// known_hosts valid.
void Keygen(const fs::path& key, const std::string& passphrase, const std::string& comment) {
  if (fs::exists(key) && fs::exists(key.string() + ".pub")) return;
  fs::remove(key);
  fs::remove(key.string() + ".pub");
  Run("ssh-keygen", {"-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", key.string()});
}

// "ssh-ed25519 AAAA..." from a .pub file (without its comment).
std::string PublicKey(const fs::path& pub) {
  std::istringstream in(ReadFile(pub));
  std::string type, blob;
  if (!(in >> type >> blob)) throw std::runtime_error("no public key in " + pub.string());
  return type + " " + blob;
}

// Percent-encodes all but RFC 3986 unreserved characters and those in `keep`.
std::string PercentEncode(std::string_view s, std::string_view keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved || keep.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::optional<PasswdEntry> LookUpUser(const char* name, std::optional<uid_t> uid = std::nullopt) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int rc = uid ? ::getpwuid_r(*uid, &pw, buf.data(), buf.size(), &found)
                     : ::getpwnam_r(name, &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) return std::nullopt;
  return PasswdEntry{pw.pw_name, pw.pw_uid, pw.pw_gid};
}

// An exclusive flock(2) on a file shared by every test process, held for its
// scope: useradd and chpasswd from parallel fixtures would otherwise race for
// /etc/passwd's and /etc/shadow's locks (and fail rather than wait).
class FileLock {
 public:
  explicit FileLock(const fs::path& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666)) {
    if (fd_ < 0) throw std::runtime_error("cannot open lock file " + path.string() + ": " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd_);
      throw std::runtime_error("cannot lock " + path.string() + ": " + std::strerror(err));
    }
  }
  ~FileLock() { ::close(fd_); }  // closing releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// Runs a tool that edits /etc/passwd or /etc/shadow, retrying a few times
// when it fails: programs outside this fixture may hold those files' locks.
// Returns the last result.
RunResult RunAccountTool(const std::string& program, const std::vector<std::string>& args,
                         const std::function<bool(const RunResult&)>& ok) {
  RunResult r;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(200ms);
    r = RunTool(program, args);
    if (ok(r)) break;
  }
  return r;
}

// /proc/PID/stat: the parent, the state and the start time (fields 4, 3
// and 22); nullopt when the process is gone.
struct ProcStat {
  pid_t ppid = 0;
  char state = '?';
  uint64_t start_time = 0;
};

std::optional<ProcStat> ReadProcStat(pid_t pid) {
  const std::string text = ReadFileIfExists(fs::path("/proc") / std::to_string(pid) / "stat");
  // The command name (field 2) is in parentheses and may hold anything:
  // fields are counted after its last ')'.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(text.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() < 20) return std::nullopt;
  ProcStat s;
  s.state = fields[0].empty() ? '?' : fields[0][0];
  s.ppid = static_cast<pid_t>(std::stol(fields[1]));
  s.start_time = std::stoull(fields[19]);
  return s;
}

// Every process whose parent is in `parents`, by one scan of /proc.
std::vector<std::pair<pid_t, ProcStat>> ChildrenOf(const std::set<pid_t>& parents) {
  std::vector<std::pair<pid_t, ProcStat>> children;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    const std::optional<ProcStat> s = ReadProcStat(pid);
    if (s && parents.count(s->ppid) != 0) children.emplace_back(pid, *s);
  }
  return children;
}

// Still the same process and not yet dead (a zombie is dead: sessions are
// reparented to an init that may reap them late).
bool Alive(pid_t pid, uint64_t start_time) {
  const std::optional<ProcStat> s = ReadProcStat(pid);
  return s && s->start_time == start_time && s->state != 'Z' && s->state != 'X';
}

}  // namespace

Sshd::Sshd(fs::path dir, SshdOptions options) : dir_(fs::absolute(std::move(dir))), options_(std::move(options)) {
  // sshd_config splits its lines at blanks: a path with one cannot be said
  // unquoted, and not every keyword takes quotes.
  if (dir_.string().find_first_of(" \t\n\"") != std::string::npos) {
    throw std::runtime_error("sshd cannot use a directory with blanks or quotes in its path: " + dir_.string());
  }
  const std::optional<PasswdEntry> me = LookUpUser(nullptr, ::geteuid());
  if (!me) throw std::runtime_error("no passwd entry for uid " + std::to_string(::geteuid()));
  user_ = me->name;
  fs::create_directories(dir_);
  // The privilege separation directory sshd insists on (shared by every
  // sshd: -p makes it idempotent when another test made it first).
  Run("mkdir", {"-p", "-m", "0755", "/run/sshd"});
  MakeKeys();
  if (options_.password) MakePasswordUser();
  MakeDataDir();
  port_ = FreePort();
  Start();
}

Sshd::~Sshd() {
  try {
    Stop(5s);
  } catch (...) {  // a destructor must not throw; Process's own destructor SIGKILLs
  }
}

void Sshd::MakeKeys() {
  Keygen(host_key(), "", "sluice-test-host");
  // Only its public half is used: the key of wrong_known_hosts().
  Keygen(dir_ / "other_host_ed25519_key", "", "sluice-test-other-host");
  Keygen(client_key(), "", "sluice-test-client");
  Keygen(encrypted_client_key(), kKeyPassphrase, "sluice-test-client-encrypted");
  Keygen(unauthorized_key(), "", "sluice-test-unauthorized");
  WriteFile(key_passphrase_file(), kKeyPassphrase);
  WriteFile(dir_ / "authorized_keys",
            ReadFile(client_key().string() + ".pub") + ReadFile(encrypted_client_key().string() + ".pub"));
  // Readable by the password user's session, which reads it with that
  // user's permissions.
  fs::permissions(dir_ / "authorized_keys",
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
}

void Sshd::MakePasswordUser() {
  if (::geteuid() != 0) {
    throw std::runtime_error(std::string("SshdOptions::password needs root to create the user ") + kPasswordUser);
  }
  // The user's session reads authorized_keys and works in data_dir() with
  // its own permissions: every directory above them must let it through.
  // mkdtemp makes a TempDir 0700, and the fixture's directory is often one
  // inside it: directories under the temp directory (a test's own) are made
  // traversable (not listable); anything else is the machine's to fix.
  const fs::path tmp = fs::weakly_canonical(fs::temp_directory_path());
  for (fs::path p = dir_;; p = p.parent_path()) {
    if ((fs::status(p).permissions() & fs::perms::others_exec) == fs::perms::none) {
      const fs::path rel = fs::weakly_canonical(p).lexically_relative(tmp);
      if (rel.empty() || rel == "." || *rel.begin() == "..") {
        throw std::runtime_error("the password user " + std::string(kPasswordUser) + " cannot traverse " + p.string() +
                                 " (on the way to " + dir_.string() + ")");
      }
      fs::permissions(p, fs::perms::group_exec | fs::perms::others_exec, fs::perm_options::add);
    }
    if (p == p.root_path()) break;
  }

  {
    const FileLock lock(fs::temp_directory_path() / "sluice-test-sshd-user.lock");
    if (!RunTool("getent", {"passwd", kPasswordUser}).status.Exited(0)) {
      // No home directory: sftp tests use absolute paths, and sshd only
      // warns when it cannot chdir there. Exit 9: another process (outside
      // the lock, e.g. an older run) created it meanwhile, which is fine.
      const std::vector<std::string> args = {"-M", "-s", "/bin/sh", kPasswordUser};
      const RunResult r =
          RunAccountTool("useradd", args, [](const RunResult& x) { return x.status.Exited(0) || x.status.Exited(9); });
      if (!r.status.Exited(0) && !r.status.Exited(9)) {
        throw std::runtime_error("`" + CommandLine("useradd", args) + "` failed (" + Describe(r) + "): " + r.err);
      }
    }
    // Set every time: the user may be left from a run with another password
    // or from one interrupted before chpasswd. chpasswd reads stdin only,
    // which Process gives /dev/null: a shell redirects it from a file.
    const fs::path input = dir_ / "chpasswd.input";
    WriteFile(input, std::string(kPasswordUser) + ":" + kPassword + "\n");
    fs::permissions(input, fs::perms::owner_read | fs::perms::owner_write);
    const std::vector<std::string> args = {"-c", "exec chpasswd < \"$1\"", "sh", input.string()};
    const RunResult r = RunAccountTool("/bin/sh", args, [](const RunResult& x) { return x.status.Exited(0); });
    fs::remove(input);
    if (!r.status.Exited(0)) {
      throw std::runtime_error("`chpasswd < " + input.string() + "` failed (" + Describe(r) + "): " + r.err);
    }
  }
  WriteFile(password_file(), kPassword);
}

void Sshd::MakeDataDir() {
  fs::create_directories(data_dir());
  if (!options_.password) return;
  const std::optional<PasswdEntry> u = LookUpUser(kPasswordUser);
  if (!u) throw std::runtime_error(std::string("no passwd entry for ") + kPasswordUser + " after useradd");
  if (::chown(data_dir().c_str(), u->uid, u->gid) != 0) {
    throw std::runtime_error("cannot chown " + data_dir().string() + " to " + kPasswordUser + ": " +
                             std::strerror(errno));
  }
}

std::string Sshd::Url(const fs::path& absolute_path, std::string_view user) const {
  if (!absolute_path.is_absolute()) {
    throw std::invalid_argument("Sshd::Url needs an absolute path, got " + absolute_path.string());
  }
  const std::string_view who = user.empty() ? std::string_view(user_) : user;
  return "sftp://" + PercentEncode(who, "") + "@127.0.0.1:" + std::to_string(port_) +
         PercentEncode(absolute_path.string(), "/");
}

pid_t Sshd::pid() const { return process_ ? process_->pid() : -1; }

bool Sshd::Running() { return process_ && process_->Running(); }

std::string Sshd::log() const {
  std::string text = ReadFileIfExists(log_path());
  const std::string err = ReadFileIfExists(dir_ / "sshd.stderr");
  if (!err.empty()) text += "--- sshd.stderr ---\n" + err;
  return text;
}

void Sshd::WriteKnownHosts() const {
  const std::string host = "[127.0.0.1]:" + std::to_string(port_) + " ";
  WriteFile(known_hosts(), host + PublicKey(host_key().string() + ".pub") + "\n");
  WriteFile(wrong_known_hosts(), host + PublicKey(dir_ / "other_host_ed25519_key.pub") + "\n");
}

void Sshd::WriteConfig() const {
  // Is `keyword` set by the caller's extra_config (first word of a line,
  // case-insensitive as sshd reads it)?
  auto extra_sets = [&](std::string_view keyword, std::string_view argument) {
    std::istringstream in(options_.extra_config);
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string k, a;
      words >> k >> a;
      auto lower = [](std::string s) {
        std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
        return s;
      };
      if (lower(k) == lower(std::string(keyword)) && (argument.empty() || a == argument)) return true;
    }
    return false;
  };
  const std::string d = dir_.string();
  std::ostringstream c;
  c << "# Written by tests/support/sshd.cpp for one test; rewritten at each start.\n";
  // First: sshd keeps the first value of each keyword, so these override.
  if (!options_.extra_config.empty()) c << options_.extra_config << "\n";
  c << "Port " << port_ << "\n"
    << "ListenAddress 127.0.0.1\n"
    << "HostKey " << host_key().string() << "\n"
    << "PidFile " << d << "/sshd.pid\n"
    << "AuthorizedKeysFile " << d
    << "/authorized_keys\n"
    // The key files live under a world-writable /tmp, which StrictModes
    // refuses.
    << "StrictModes no\n"
    << "UsePAM no\n"
    << "PubkeyAuthentication yes\n"
    << "PermitRootLogin prohibit-password\n"
    << "PasswordAuthentication " << (options_.password ? "yes" : "no") << "\n"
    << "KbdInteractiveAuthentication no\n"
    << "UseDNS no\n"
    // Parallel transfers open many channels and connections at once; the
    // defaults (10, and 10:30:100 with random drops) would refuse some.
    << "MaxSessions 64\n"
    << "MaxStartups 200\n"
    << "LogLevel VERBOSE\n";
  // A second Subsystem line for sftp is an error, not an override.
  if (!extra_sets("Subsystem", "sftp")) c << "Subsystem sftp internal-sftp\n";
  if (!options_.match_config.empty()) c << options_.match_config << "\n";
  WriteFile(config_path(), c.str());
}

std::string Sshd::TryStart() {
  WriteConfig();
  WriteKnownHosts();
  Run(kSshd, {"-t", "-f", config_path().string()});
  const uint64_t log_offset = FileSizeOr0(log_path());
  ProcessOptions o;
  o.program = kSshd;
  o.args = {"-D", "-e", "-f", config_path().string(), "-E", log_path().string()};
  o.log_dir = dir_;
  o.name = "sshd";
  process_.emplace(std::move(o));
  // sshd logs "Server listening on ..." once it is bound, and exits 255 when
  // it cannot bind (the port alone is no proof: another process may hold
  // it).
  auto this_start = [&] { return ReadFileFrom(log_path(), log_offset); };
  const std::string listening = "Server listening on 127.0.0.1 port " + std::to_string(port_) + ".";
  WaitUntil(
      10s, [&] { return this_start().find(listening) != std::string::npos || !process_->Running(); }, 10ms);
  std::string why;
  if (!process_->Running()) {
    why = "it exited (" + process_->status().value_or(ExitStatus{}).ToString() + ")";
  } else if (this_start().find(listening) == std::string::npos) {
    why = "it did not report listening within 10 s";
  } else if (!WaitForPort(port_, 5s)) {
    why = "its port does not accept connections";
  }
  if (why.empty()) return why;
  last_status_ = process_->Kill9();
  process_.reset();
  return why + "; log of this start:\n" + this_start() + "stderr:\n" + ReadFileIfExists(dir_ / "sshd.stderr");
}

void Sshd::Start() {
  if (Running()) throw std::runtime_error("sshd is already running (pid " + std::to_string(pid()) + ")");
  // Only the first start may move to another port: later ones must keep the
  // address (and the known_hosts entry) the test's clients know.
  const int attempts = ever_started_ ? 1 : 3;
  std::string why;
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) port_ = FreePort();
    why = TryStart();
    if (why.empty()) {
      ever_started_ = true;
      return;
    }
    if (why.find("Address already in use") == std::string::npos) break;
  }
  throw std::runtime_error("`" + std::string(kSshd) + " -D -e -f " + config_path().string() +
                           "` did not start: " + why);
}

std::vector<Sshd::Session> Sshd::FreezeSessions() {
  std::vector<Session> sessions;
  if (!process_ || !process_->Running()) return sessions;
  // A stopped process cannot fork: stopping the listener first, then each
  // generation below it, leaves a tree that no longer grows. A session's
  // processes are reparented away once it dies, so they must be known before.
  process_->Signal(SIGSTOP);
  std::set<pid_t> tree = {process_->pid()};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [child, stat] : ChildrenOf(tree)) {
      if (tree.insert(child).second) {
        ::kill(child, SIGSTOP);
        sessions.push_back({child, stat.start_time});
        grew = true;
      }
    }
  }
  return sessions;
}

ExitStatus Sshd::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return last_status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::vector<Session> sessions = FreezeSessions();
  // SIGTERM stays pending in a stopped process until SIGCONT.
  for (const Session& s : sessions) {
    if (!Alive(s.pid, s.start_time)) continue;
    ::kill(s.pid, SIGTERM);
    ::kill(s.pid, SIGCONT);
  }
  process_->Signal(SIGTERM);
  process_->Signal(SIGCONT);
  const auto left = [&] {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
  };
  const std::optional<ExitStatus> s = process_->WaitFor(left());
  last_status_ = s ? *s : process_->Kill9();
  process_.reset();
  const auto all_gone = [&] {
    return std::none_of(sessions.begin(), sessions.end(), [](const Session& x) { return Alive(x.pid, x.start_time); });
  };
  if (!WaitUntil(left(), all_gone, 10ms)) {
    for (const Session& x : sessions) {
      if (Alive(x.pid, x.start_time)) ::kill(x.pid, SIGKILL);
    }
    WaitUntil(2s, all_gone, 10ms);
  }
  return last_status_;
}

ExitStatus Sshd::Kill9() {
  if (!process_) return last_status_;
  const std::vector<Session> sessions = FreezeSessions();
  for (const Session& s : sessions) {
    if (Alive(s.pid, s.start_time)) ::kill(s.pid, SIGKILL);
  }
  last_status_ = process_->Kill9();
  process_.reset();
  // SIGKILL is not instant: once this returns, no session may answer.
  WaitUntil(
      2s,
      [&] {
        return std::none_of(sessions.begin(), sessions.end(),
                            [](const Session& x) { return Alive(x.pid, x.start_time); });
      },
      10ms);
  return last_status_;
}

}  // namespace sluice::test
