// A child process started by a test: a real program (sluice, logrotate,
// mosquitto, sshd, smbd...) run directly with fork+exec, no shell in between,
// so pid() is the program itself and Signal() reaches it.
//
// Owns the child until it is reaped: the destructor SIGKILLs and reaps a child
// that is still running, so a failing test never leaves a server behind.
// stdout and stderr go to files (appended to, so restarts under the same
// name keep one log) that a test reads for assertions.
// By default the child also gets PR_SET_PDEATHSIG(SIGKILL), so it dies if the
// test binary crashes. Note the kernel sends it when the *thread* that started
// the child exits: start long-lived children from a long-lived thread (or set
// die_with_parent = false).
// Not thread-safe: one thread drives a Process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::test {

struct ExitStatus {
  int code = -1;   // exit code when the program exited, else -1
  int signal = 0;  // the signal that killed it, else 0

  bool Exited(int c) const { return signal == 0 && code == c; }
  std::string ToString() const;  // "exit 0", "killed by signal 9 (Killed)"
};

struct ProcessOptions {
  std::filesystem::path program;                         // a path, or a name looked up in PATH
  std::vector<std::string> args;                         // argv[1..]
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) this process's environment
  std::filesystem::path cwd;                             // empty: the test's current directory
  std::filesystem::path log_dir;  // where <name>.stdout and <name>.stderr go; empty: the current directory
  std::string name;               // log file name stem; empty: the program's file name
  bool die_with_parent = true;    // PR_SET_PDEATHSIG(SIGKILL)
  bool append_logs = true;        // false: truncate the log files first
};

class Process {
 public:
  // Starts the program; throws std::runtime_error when it cannot be started
  // (no such program, log files not writable).
  explicit Process(ProcessOptions options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& other) noexcept;
  Process& operator=(Process&&) = delete;

  pid_t pid() const { return pid_; }
  const std::filesystem::path& stdout_path() const { return stdout_path_; }
  const std::filesystem::path& stderr_path() const { return stderr_path_; }
  // The whole stdout / stderr log so far.
  std::string ReadStdout() const;
  std::string ReadStderr() const;

  // Sends `sig` (no-op once the child was reaped).
  void Signal(int sig);
  // SIGKILL and reap; returns how it ended (it may have exited before).
  ExitStatus Kill9();
  // Waits up to `timeout` for the child to end; its status, or nullopt if
  // it is still running. Once reaped, returns the same status again.
  std::optional<ExitStatus> WaitFor(std::chrono::milliseconds timeout);
  // Sends `sig`, then waits up to `timeout`.
  std::optional<ExitStatus> Stop(int sig, std::chrono::milliseconds timeout);
  bool Running();
  // The status once reaped.
  const std::optional<ExitStatus>& status() const { return status_; }

 private:
  bool TryReap();

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
};

// Runs a program to completion (up to `timeout`, then SIGKILL) and returns its
// exit status with what it printed. For short tools: logrotate, `sluice agent check`.
struct RunResult {
  ExitStatus status;
  bool timed_out = false;
  std::string out;
  std::string err;

  // How it ended and what it printed, for a failed assertion's message.
  std::string Describe() const;
};
RunResult RunToCompletion(ProcessOptions options, std::chrono::milliseconds timeout);

// `a` followed by `b`: for building argument lists.
std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b);

// Resident set size of a process (VmRSS in /proc/PID/status), in bytes;
// nullopt when the process is gone.
std::optional<uint64_t> RssBytes(pid_t pid);
// A size field of /proc/PID/status ("VmRSS", "RssAnon", "RssFile",
// "RssShmem"), in bytes; nullopt when the process or the field is gone.
std::optional<uint64_t> StatusBytes(pid_t pid, std::string_view field);

}  // namespace sluice::test
