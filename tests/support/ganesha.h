// A real nfs-ganesha NFSv4 server on 127.0.0.1 for one test, in a directory
// of its own (the recipe of ../shared/TEST-SERVERS.md, section NFS):
//   <dir>/ganesha.conf   the configuration: one export of export_dir() as
//                        the pseudo path "/export", NFSv4 over TCP only
//   <dir>/export/        what is exported (root may write, no squashing)
//   <dir>/ganesha.log    its log; <dir>/run, <dir>/recov its state
//
// NFSv4 needs no rpcbind, so nothing is registered on the host and several
// servers can run at once. NFSv3 is not started: it needs rpcbind, which
// is only safe in private namespaces (see transfer/nfs/nfs_endpoint.h).
//
// Invariants: the port is chosen once (the first start retries with another
// port when it was taken meanwhile) and kept across Stop()/Start();
// Graceless = true, so a restarted server serves at once (no grace period).
// Owns the server: the destructor stops it, also when the test fails. Not
// thread-safe: one thread drives a Ganesha.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "tests/support/process.h"

namespace sluice::test {

class Ganesha {
 public:
  explicit Ganesha(std::filesystem::path dir);
  ~Ganesha();
  Ganesha(const Ganesha&) = delete;
  Ganesha& operator=(const Ganesha&) = delete;

  void Start();
  ExitStatus Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ExitStatus Kill9();
  bool Running();

  uint16_t port() const { return port_; }
  // "nfs://127.0.0.1/export/REL?version=4&nfsport=PORT" (REL percent-encoded).
  std::string Url(std::string_view rel = {}) const;
  std::filesystem::path export_dir() const { return dir_ / "export"; }
  std::string log() const;

 private:
  void WriteConfig() const;
  std::string TryStart();

  std::filesystem::path dir_;
  uint16_t port_ = 0;
  bool ever_started_ = false;
  std::optional<Process> process_;
  ExitStatus last_status_;
};

}  // namespace sluice::test
