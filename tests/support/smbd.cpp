#include "tests/support/smbd.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/util/percent_encoding.h"
#include "tests/support/net.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void RunOrThrow(ProcessOptions o, const std::string& what) {
  const RunResult r = RunToCompletion(std::move(o), 60s);
  if (r.timed_out || !r.status.Exited(0)) throw std::runtime_error(what + " failed: " + r.Describe());
}

}  // namespace

std::vector<pid_t> ChildPids(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces and parentheses.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return out;
}

Smbd::Smbd(fs::path dir) : dir_(fs::absolute(std::move(dir))) {
  if (dir_.string().find_first_of(" \t\n") != std::string::npos) {
    throw std::runtime_error("smb.conf cannot name a directory with blanks: " + dir_.string());
  }
  const passwd* pw = ::getpwuid(::geteuid());
  if (pw == nullptr) throw std::runtime_error("no user name for uid " + std::to_string(::geteuid()));
  user_ = pw->pw_name;
  for (const char* sub : {"private", "lock", "state", "cache", "pid", "ncalrpc", "log", "share"}) {
    fs::create_directories(dir_ / sub);
  }
  port_ = FreePort();
  WriteConfig();
  WriteFile(password_file(), kPassword);
  // smbpasswd -s reads the new password twice from stdin.
  const fs::path input = dir_ / "smbpasswd.in";
  WriteFile(input, std::string(kPassword) + "\n" + kPassword + "\n");
  ProcessOptions o;
  o.log_dir = dir_;
  o.name = "smbpasswd";
  o.program = "sh";
  o.args = {"-c", "smbpasswd -c \"$0\" -s -a \"$1\" < \"$2\"", config_path().string(), user_, input.string()};
  RunOrThrow(std::move(o), "smbpasswd -a " + user_);
  Start();
}

Smbd::~Smbd() {
  try {
    Stop(5s);
  } catch (...) {  // a destructor must not throw; Process's own destructor SIGKILLs
  }
}

void Smbd::WriteConfig() const {
  const std::string d = dir_.string();
  std::ostringstream c;
  c << "# Written by tests/support/smbd.cpp for one test.\n"
    << "[global]\n"
    << "  server role = standalone server\n"
    << "  smb ports = " << port_ << "\n"
    << "  interfaces = 127.0.0.1\n  bind interfaces only = yes\n  disable netbios = yes\n"
    << "  private dir = " << d << "/private\n  lock directory = " << d << "/lock\n"
    << "  state directory = " << d << "/state\n  cache directory = " << d << "/cache\n"
    << "  pid directory = " << d << "/pid\n  ncalrpc dir = " << d << "/ncalrpc\n"
    << "  log file = " << d << "/log/smbd.log\n"
    << "  passdb backend = tdbsam:" << d << "/private/passdb.tdb\n"
    << "  load printers = no\n  printing = bsd\n  printcap name = /dev/null\n  disable spoolss = yes\n"
    << "  map to guest = never\n  server min protocol = SMB2_02\n"
    << "[share]\n  path = " << d << "/share\n  read only = no\n  valid users = " << user_ << "\n";
  WriteFile(config_path(), c.str());
}

std::string Smbd::Url(std::string_view rel) const {
  std::string url = "smb://" + user_ + "@127.0.0.1:" + std::to_string(port_) + "/share";
  if (!rel.empty()) url += "/" + PercentEncode(rel);
  return url;
}

bool Smbd::Running() { return process_ && process_->Running(); }

std::string Smbd::log() const {
  return ReadFileIfExists(dir_ / "log" / "smbd.log") + ReadFileIfExists(dir_ / "smbd.stdout") +
         ReadFileIfExists(dir_ / "smbd.stderr");
}

std::string Smbd::TryStart() {
  WriteConfig();
  ProcessOptions o;
  // In a session of its own: smbd signals its whole process group when it
  // ends (SIGTERM), which must not reach the test. setsid execs smbd in
  // place, so pid() is smbd's.
  o.program = "setsid";
  o.args = {"smbd", "--foreground", "--no-process-group", "--debug-stdout", "-d", "1", "-s", config_path().string()};
  o.log_dir = dir_;
  o.name = "smbd";
  process_.emplace(std::move(o));
  if (WaitUntil(
          20s, [&] { return !process_->Running() || WaitForPort(port_, 50ms); }, 20ms) &&
      process_->Running()) {
    return "";
  }
  last_status_ = process_->Kill9();
  process_.reset();
  return "it did not listen on port " + std::to_string(port_) + ":\n" + log();
}

void Smbd::Start() {
  if (Running()) throw std::runtime_error("smbd is already running");
  const int attempts = ever_started_ ? 1 : 3;
  std::string why;
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) port_ = FreePort();
    why = TryStart();
    if (why.empty()) {
      ever_started_ = true;
      return;
    }
  }
  throw std::runtime_error("`smbd -s " + config_path().string() + "` did not start: " + why);
}

void Smbd::SignalAll(int sig) {
  process_->Signal(SIGSTOP);  // no new connection process while they are signalled
  for (pid_t child : ChildPids(process_->pid())) {
    ::kill(child, sig);
    ::kill(child, SIGCONT);
  }
  process_->Signal(sig);
  process_->Signal(SIGCONT);
}

ExitStatus Smbd::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return last_status_;
  const std::vector<pid_t> children = ChildPids(process_->pid());
  SignalAll(SIGTERM);
  const std::optional<ExitStatus> s = process_->WaitFor(timeout);
  last_status_ = s ? *s : process_->Kill9();
  process_.reset();
  // The connection processes were reparented when the listener ended.
  for (pid_t child : children) ::kill(child, SIGKILL);
  return last_status_;
}

ExitStatus Smbd::Kill9() {
  if (!process_) return last_status_;
  const std::vector<pid_t> children = ChildPids(process_->pid());
  SignalAll(SIGKILL);
  last_status_ = process_->Kill9();
  process_.reset();
  WaitUntil(
      2s, [&] { return std::none_of(children.begin(), children.end(), [](pid_t p) { return ::kill(p, 0) == 0; }); },
      10ms);
  return last_status_;
}

}  // namespace sluice::test
