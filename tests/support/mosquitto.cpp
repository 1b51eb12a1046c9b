#include "tests/support/mosquitto.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "tests/support/net.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Runs a short tool (mosquitto_passwd) to completion; throws with the
// command line and its stderr when it fails.
void Run(const std::string& program, const std::vector<std::string>& args) {
  ProcessOptions o;
  o.program = program;
  o.args = args;
  const RunResult r = RunToCompletion(std::move(o), 60s);
  if (r.timed_out || !r.status.Exited(0)) {
    std::string command = program;
    for (const auto& a : args) command += " " + a;
    throw std::runtime_error("`" + command + "` failed (" + (r.timed_out ? "timed out" : r.status.ToString()) +
                             "): " + r.err);
  }
}

// SLUICE_TEST_MOSQUITTO_LOG_ALL=1 makes every test broker log at debug level
// (log_type all): each PUBLISH and PUBACK with its client and message id, to
// follow a message that went missing through the broker. Off by default:
// it slows the broker down and writes megabytes per test.
bool LogEverything() {
  const char* v = std::getenv("SLUICE_TEST_MOSQUITTO_LOG_ALL");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

}  // namespace

Mosquitto::Mosquitto(fs::path dir, MosquittoOptions options)
    : dir_(fs::absolute(std::move(dir))), certs_(dir_ / "certs"), options_(std::move(options)) {
  // mosquitto.conf splits its lines at spaces: a path with one cannot be said.
  if (dir_.string().find_first_of(" \t\n") != std::string::npos) {
    throw std::runtime_error("mosquitto cannot use a directory with blanks in its path: " + dir_.string());
  }
  fs::create_directories(dir_);
  if (options_.tls) MakeCertificates();
  if (options_.password) MakePasswordFile();
  PickPorts();
  Start();
}

Mosquitto::~Mosquitto() {
  try {
    Stop(5s);
  } catch (...) {  // a destructor must not throw; Process's own destructor SIGKILLs
  }
}

void Mosquitto::MakeCertificates() {
  // The same file names as the accessors in mosquitto.h.
  TestPki pki(certs_, kClientIdentity);
}

void Mosquitto::MakePasswordFile() {
  Run("mosquitto_passwd", {"-c", "-b", password_file().string(), options_.username, options_.user_password});
}

void Mosquitto::PickPorts() {
  port_ = FreePort();
  if (!options_.tls) return;
  do {
    tls_port_ = FreePort();
  } while (tls_port_ == port_);
}

std::string Mosquitto::url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

pid_t Mosquitto::pid() const { return process_ ? process_->pid() : -1; }

bool Mosquitto::Running() { return process_ && process_->Running(); }

std::string Mosquitto::log() const {
  std::string text = ReadFileIfExists(log_path());
  const std::string err = ReadFileIfExists(dir_ / "mosquitto.stderr");
  if (!err.empty()) text += "--- mosquitto.stderr ---\n" + err;
  return text;
}

void Mosquitto::WriteConfig() const {
  std::ostringstream c;
  c << "# Written by tests/support/mosquitto.cpp for one test; rewritten at each start.\n";
  // As root mosquitto otherwise switches to the user 'mosquitto' before it
  // reads the key files and the password file, and cannot.
  if (::geteuid() == 0) c << "user root\n";
  c << "per_listener_settings true\n";
  if (options_.persistence) {
    // The trailing '/' matters for mosquitto before 2.0.3, which did not add
    // one.
    c << "persistence true\n"
      << "persistence_location " << dir_.string() << "/\n"
      << "autosave_interval " << options_.autosave_interval_s << "\n";
  } else {
    c << "persistence false\n";
  }
  // No per-client queue limit: the default 1000 silently drops QoS 1/2
  // messages for an offline persistent session (0 = no limit, together with
  // max_queued_bytes' default 0).
  c << "max_queued_messages 0\n"
    << "log_dest file " << log_path().string() << "\n"
    << (LogEverything() ? "log_type all\n"
                        : "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
    << "log_timestamp_format %Y-%m-%dT%H:%M:%S\n";
  if (!options_.extra_config.empty()) c << options_.extra_config << "\n";

  c << "\nlistener " << port_ << " 127.0.0.1\n";
  if (options_.password) {
    c << "allow_anonymous false\n"
      << "password_file " << password_file().string() << "\n";
  } else {
    c << "allow_anonymous true\n";
  }
  if (options_.tls) {
    c << "\nlistener " << tls_port_ << " 127.0.0.1\n"
      << "allow_anonymous true\n"  // the certificate is the identity; no
                                   // password
      << "cafile " << ca_cert().string() << "\n"
      << "certfile " << server_cert().string() << "\n"
      << "keyfile " << server_key().string() << "\n"
      << "require_certificate true\n"
      << "use_identity_as_username true\n";
  }
  WriteFile(config_path(), c.str());
}

std::string Mosquitto::TryStart() {
  WriteConfig();
  const uint64_t log_offset = FileSizeOr0(log_path());
  ProcessOptions o;
  o.program = "mosquitto";
  o.args = {"-c", config_path().string()};
  o.log_dir = dir_;
  o.name = "mosquitto";
  process_.emplace(std::move(o));
  // mosquitto logs "... running" once every listener is bound, and exits 1
  // when one cannot be (the port alone is no proof: another process may hold
  // it).
  auto this_start = [&] { return ReadFileFrom(log_path(), log_offset); };
  WaitUntil(
      10s, [&] { return this_start().find(" running") != std::string::npos || !process_->Running(); }, 10ms);
  std::string why;
  if (!process_->Running()) {
    why = "it exited (" + process_->status().value_or(ExitStatus{}).ToString() + ")";
  } else if (this_start().find(" running") == std::string::npos) {
    why = "it did not report running within 10 s";
  } else if (!WaitForPort(port_, 5s) || (options_.tls && !WaitForPort(tls_port_, 5s))) {
    why = "its ports do not accept connections";
  }
  if (why.empty()) return why;
  last_status_ = process_->Kill9();
  process_.reset();
  return why + "; log of this start:\n" + this_start() + "stderr:\n" + ReadFileIfExists(dir_ / "mosquitto.stderr");
}

void Mosquitto::Start() {
  if (Running()) throw std::runtime_error("mosquitto is already running (pid " + std::to_string(pid()) + ")");
  // Only the first start may move to other ports: later ones must keep the
  // address the test's clients know.
  const int attempts = ever_started_ ? 1 : 3;
  std::string why;
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) PickPorts();
    why = TryStart();
    if (why.empty()) {
      ever_started_ = true;
      return;
    }
    if (why.find("Address already in use") == std::string::npos) break;
  }
  throw std::runtime_error("`mosquitto -c " + config_path().string() + "` did not start: " + why);
}

ExitStatus Mosquitto::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return last_status_;
  const std::optional<ExitStatus> s = process_->Stop(SIGTERM, timeout);
  last_status_ = s ? *s : process_->Kill9();
  process_.reset();
  return last_status_;
}

ExitStatus Mosquitto::Kill9() {
  if (!process_) return last_status_;
  last_status_ = process_->Kill9();
  process_.reset();
  return last_status_;
}

void Mosquitto::SaveDatabase(std::chrono::milliseconds timeout) {
  if (!options_.persistence || options_.autosave_interval_s != 0) {
    throw std::logic_error("Mosquitto::SaveDatabase needs persistence and autosave_interval_s = 0");
  }
  if (!Running()) throw std::runtime_error("mosquitto is not running: it cannot save its database");
  const auto inode = [&]() -> std::optional<ino_t> {
    struct stat st {};
    if (::stat(database_path().c_str(), &st) != 0) return std::nullopt;
    return st.st_ino;
  };
  const std::optional<ino_t> before = inode();
  const uint64_t log_offset = FileSizeOr0(log_path());
  if (::kill(pid(), SIGUSR1) != 0) throw std::runtime_error(std::string("kill(SIGUSR1): ") + std::strerror(errno));
  const bool saved = WaitUntil(
      timeout,
      [&] {
        const std::optional<ino_t> now = inode();
        return now && now != before;
      },
      5ms);
  if (!saved) {
    throw std::runtime_error("mosquitto did not write " + database_path().string() + " within " +
                             std::to_string(timeout.count()) + " ms of SIGUSR1; its log since:\n" +
                             ReadFileFrom(log_path(), log_offset));
  }
}

}  // namespace sluice::test
