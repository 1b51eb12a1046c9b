#include "tests/support/ganesha.h"

#include <signal.h>

#include <sstream>
#include <stdexcept>

#include "core/util/percent_encoding.h"
#include "tests/support/net.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Where Debian's nfs-ganesha keeps its FSAL plugins.
fs::path PluginsDir() {
  for (const char* d :
       {"/usr/lib/x86_64-linux-gnu/ganesha", "/usr/lib/aarch64-linux-gnu/ganesha", "/usr/lib/ganesha"}) {
    if (fs::exists(fs::path(d) / "libfsalvfs.so")) return d;
  }
  return "/usr/lib/x86_64-linux-gnu/ganesha";
}

}  // namespace

Ganesha::Ganesha(fs::path dir) : dir_(fs::absolute(std::move(dir))) {
  for (const char* sub : {"run", "recov", "export"}) fs::create_directories(dir_ / sub);
  port_ = FreePort();
  Start();
}

Ganesha::~Ganesha() {
  try {
    Stop(5s);
  } catch (...) {  // a destructor must not throw; Process's own destructor SIGKILLs
  }
}

void Ganesha::WriteConfig() const {
  const std::string d = dir_.string();
  std::ostringstream c;
  // Every port but NFS_Port is unused with NFSv4 only; they get numbers near
  // it all the same so that no two servers ask for the defaults.
  c << "# Written by tests/support/ganesha.cpp for one test.\n"
    << "NFS_CORE_PARAM {\n  Bind_addr = 127.0.0.1; NFS_Port = " << port_ << ";\n"
    << "  Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false;\n"
    << "  Protocols = 4;\n  Plugins_Dir = \"" << PluginsDir().string() << "\";\n}\n"
    << "NFS_KRB5 { Active_krb5 = false; CCacheDir = \"" << d << "/run\"; }\n"
    << "NFSV4 { Graceless = true; RecoveryBackend = fs; RecoveryRoot = \"" << d << "/recov\"; }\n"
    << "EXPORT {\n  Export_Id = 1; Path = \"" << d << "/export\"; Pseudo = \"/export\";\n"
    << "  Access_Type = RW; Squash = No_Root_Squash; SecType = sys;\n"
    << "  Protocols = 4; Transports = TCP;\n  FSAL { Name = VFS; }\n}\n"
    << "LOG { Default_Log_Level = EVENT; }\n";
  WriteFile(dir_ / "ganesha.conf", c.str());
}

std::string Ganesha::Url(std::string_view rel) const {
  std::string path = "/export";
  if (!rel.empty()) path += "/" + PercentEncode(rel);
  return "nfs://127.0.0.1" + path + "?version=4&nfsport=" + std::to_string(port_);
}

bool Ganesha::Running() { return process_ && process_->Running(); }

std::string Ganesha::log() const {
  return ReadFileIfExists(dir_ / "ganesha.log") + ReadFileIfExists(dir_ / "ganesha.stderr");
}

std::string Ganesha::TryStart() {
  WriteConfig();
  ProcessOptions o;
  o.program = "ganesha.nfsd";
  o.args = {"-F",
            "-f",
            (dir_ / "ganesha.conf").string(),
            "-L",
            (dir_ / "ganesha.log").string(),
            "-p",
            (dir_ / "run" / "ganesha.pid").string(),
            "-N",
            "NIV_EVENT"};
  o.log_dir = dir_;
  o.name = "ganesha";
  process_.emplace(std::move(o));
  if (WaitUntil(
          30s, [&] { return !process_->Running() || WaitForPort(port_, 50ms); }, 20ms) &&
      process_->Running()) {
    return "";
  }
  last_status_ = process_->Kill9();
  process_.reset();
  return "it did not listen on port " + std::to_string(port_) + ":\n" + log();
}

void Ganesha::Start() {
  if (Running()) throw std::runtime_error("ganesha.nfsd is already running");
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
  throw std::runtime_error("`ganesha.nfsd -f " + (dir_ / "ganesha.conf").string() + "` did not start: " + why);
}

ExitStatus Ganesha::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return last_status_;
  const std::optional<ExitStatus> s = process_->Stop(SIGTERM, timeout);
  last_status_ = s ? *s : process_->Kill9();
  process_.reset();
  return last_status_;
}

ExitStatus Ganesha::Kill9() {
  if (!process_) return last_status_;
  last_status_ = process_->Kill9();
  process_.reset();
  return last_status_;
}

}  // namespace sluice::test
