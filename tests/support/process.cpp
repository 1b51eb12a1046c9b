#include "tests/support/process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/temp_dir.h"

extern char** environ;

namespace sluice::test {
namespace {

std::filesystem::path ResolveProgram(const std::filesystem::path& program) {
  if (program.string().find('/') != std::string::npos) return program;
  const char* path_env = std::getenv("PATH");
  std::stringstream dirs(path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::filesystem::path candidate = std::filesystem::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  // Debian keeps root's tools in sbin, which a test's PATH may lack.
  for (const char* d : {"/usr/sbin", "/sbin"}) {
    std::filesystem::path candidate = std::filesystem::path(d) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("program not found in PATH: " + program.string());
}

int OpenLog(const std::filesystem::path& path, bool append) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  return fd;
}

ExitStatus FromWaitStatus(int ws) {
  ExitStatus s;
  if (WIFEXITED(ws)) s.code = WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) s.signal = WTERMSIG(ws);
  return s;
}

std::string ReadIfExists(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes all of `n` bytes; async-signal-safe.
void WriteAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit " + std::to_string(code);
}

Process::Process(ProcessOptions options) {
  const std::filesystem::path program = ResolveProgram(options.program);
  const std::string name = options.name.empty() ? program.filename().string() : options.name;
  const std::filesystem::path log_dir = options.log_dir.empty() ? std::filesystem::current_path() : options.log_dir;
  stdout_path_ = log_dir / (name + ".stdout");
  stderr_path_ = log_dir / (name + ".stderr");

  // Everything the child needs is prepared before fork: after fork in a
  // threaded process only async-signal-safe calls are allowed.
  std::vector<std::string> argv_store;
  argv_store.push_back(program.string());
  for (const auto& a : options.args) argv_store.push_back(a);
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_store;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : options.env) replaced = replaced || k == key;
    if (!replaced) env_store.push_back(entry);
  }
  for (const auto& [k, v] : options.env) env_store.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  const std::string cwd = options.cwd.string();
  const int out_fd = OpenLog(stdout_path_, options.append_logs);
  const int err_fd = OpenLog(stderr_path_, options.append_logs);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2];  // the child writes errno here when exec fails; CLOEXEC closes it on success
  if (null_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(out_fd);
    ::close(err_fd);
    if (null_fd >= 0) ::close(null_fd);
    throw std::runtime_error(std::string("cannot prepare the child's descriptors: ") + std::strerror(err));
  }
  const pid_t parent = ::getpid();
  const bool die_with_parent = options.die_with_parent;

  const pid_t pid = ::fork();
  if (pid == 0) {
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
    int stage_errno = 0;
    if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) stage_errno = errno;
    if (stage_errno == 0 && !cwd.empty() && ::chdir(cwd.c_str()) != 0) stage_errno = errno;
    if (stage_errno == 0) {
      // Descriptors other threads of the test opened without O_CLOEXEC must
      // not leak into the child (a listening socket would keep a port busy).
      ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
      ::execve(argv[0], argv.data(), envp.data());
      stage_errno = errno;
    }
    WriteAll(report[1], &stage_errno, sizeof stage_errno);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(report[1]);
  ::close(out_fd);
  ::close(err_fd);
  ::close(null_fd);
  if (pid < 0) {
    ::close(report[0]);
    throw std::runtime_error("fork failed: " + std::string(std::strerror(fork_errno)));
  }
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  pid_ = pid;
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int ws = 0;
    ::waitpid(pid, &ws, 0);
    status_ = FromWaitStatus(ws);
    throw std::runtime_error("cannot start " + program.string() + " (cwd " + (cwd.empty() ? "." : cwd) +
                             "): " + std::strerror(child_errno));
  }
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      status_(std::move(other.status_)),
      stdout_path_(std::move(other.stdout_path_)),
      stderr_path_(std::move(other.stderr_path_)) {}

Process::~Process() {
  if (pid_ > 0 && !status_) Kill9();
}

std::string Process::ReadStdout() const { return ReadIfExists(stdout_path_); }
std::string Process::ReadStderr() const { return ReadIfExists(stderr_path_); }

bool Process::TryReap() {
  if (status_ || pid_ <= 0) return true;
  int ws = 0;
  const pid_t r = ::waitpid(pid_, &ws, WNOHANG);
  if (r == pid_) {
    status_ = FromWaitStatus(ws);
    return true;
  }
  if (r < 0 && errno == ECHILD) {  // reaped elsewhere: nothing more to know
    status_ = ExitStatus{};
    return true;
  }
  return false;
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !TryReap()) ::kill(pid_, sig);
}

ExitStatus Process::Kill9() {
  if (pid_ > 0 && !TryReap()) {
    ::kill(pid_, SIGKILL);
    int ws = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &ws, 0);
    } while (r < 0 && errno == EINTR);
    status_ = r == pid_ ? FromWaitStatus(ws) : ExitStatus{};
  }
  return status_.value_or(ExitStatus{});
}

std::optional<ExitStatus> Process::WaitFor(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (!TryReap()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return status_;
}

std::optional<ExitStatus> Process::Stop(int sig, std::chrono::milliseconds timeout) {
  Signal(sig);
  return WaitFor(timeout);
}

bool Process::Running() { return !TryReap(); }

std::string RunResult::Describe() const {
  return (timed_out ? std::string("timed out") : status.ToString()) + "\nstdout:\n" + out + "\nstderr:\n" + err;
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

RunResult RunToCompletion(ProcessOptions options, std::chrono::milliseconds timeout) {
  std::optional<TempDir> logs;
  if (options.log_dir.empty()) {
    logs.emplace("sluice-run");
    options.log_dir = logs->path();
  }
  options.append_logs = false;
  Process p(std::move(options));
  RunResult r;
  std::optional<ExitStatus> s = p.WaitFor(timeout);
  r.timed_out = !s.has_value();
  r.status = s ? *s : p.Kill9();
  r.out = p.ReadStdout();
  r.err = p.ReadStderr();
  return r;
}

std::optional<uint64_t> RssBytes(pid_t pid) { return StatusBytes(pid, "VmRSS"); }

std::optional<uint64_t> StatusBytes(pid_t pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  const std::string key = std::string(field) + ":";
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      std::istringstream fields(line.substr(key.size()));
      uint64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return std::nullopt;  // a zombie has no VmRSS
}

}  // namespace sluice::test
