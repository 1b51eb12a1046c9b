// A real mosquitto broker on 127.0.0.1 for one test, in a directory of its own:
//   <dir>/mosquitto.conf      the configuration, rewritten by every Start()
//   <dir>/mosquitto.log       the broker's log, appended across restarts
//   <dir>/mosquitto.stdout|.stderr  what it printed before its log was open
//   <dir>/mosquitto.db        the persistence database (persistence = true)
//   <dir>/passwd              the password file (password = true)
//   <dir>/certs/              a test CA, the server's and a client's keys and
//                             certificates, and an unrelated CA with a client
//                             of its own (tls = true)
//
// Listeners: port() is plain MQTT, anonymous unless `password` is set (then
// only username()/user_password() get in; per_listener_settings true, so the
// password file applies to this listener only). With `tls`, tls_port() is
// mutual TLS: the server certificate is valid for DNS:localhost and
// IP:127.0.0.1, a client must present a certificate signed by ca_cert(), and
// its CN becomes the MQTT username (use_identity_as_username).
//
// Invariants: the ports are chosen once (the first start retries with other
// ports when one was taken meanwhile) and kept across Stop()/Start(), so a
// client can reconnect to the same address after a broker restart. The broker
// keeps no queue limit (max_queued_messages 0): a persistent session that is
// offline accumulates every QoS 1/2 message, as a test counting messages
// needs; mosquitto's default of 1000 would silently drop the rest.
//
// Owns the broker process: the destructor stops it (SIGTERM, then SIGKILL)
// also when the test fails. The directory is the caller's (a TempDir).
// Not thread-safe: one thread drives a Mosquitto.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "tests/support/process.h"

namespace sluice::test {

struct MosquittoOptions {
  // Keeps sessions, subscriptions and queued messages across restarts in
  // <dir>/mosquitto.db: written on SIGTERM, by SaveDatabase(), and every
  // autosave_interval (0: never by itself). A Kill9() loses what changed
  // since the last save. mosquitto saves when more than autosave_interval
  // whole seconds passed since the last save, so 1 means every 1 to 2 s.
  bool persistence = false;
  int autosave_interval_s = 1;
  // A second, mutual-TLS listener (tls_port()) with generated certificates.
  bool tls = false;
  // The plain listener refuses anonymous clients and accepts this user only.
  bool password = false;
  std::string username = "device";
  std::string user_password = "s3cret-pw";
  // More lines for the global section of mosquitto.conf (before the listeners).
  std::string extra_config;
};

class Mosquitto {
 public:
  // Creates `dir` if needed, the certificates and the password file (as the
  // options ask) in it, and starts the broker. Throws std::runtime_error
  // naming the command and its stderr when a step fails.
  explicit Mosquitto(std::filesystem::path dir, MosquittoOptions options = {});
  ~Mosquitto();
  Mosquitto(const Mosquitto&) = delete;
  Mosquitto& operator=(const Mosquitto&) = delete;

  // Starts the broker again on the same ports and state (after Stop() or
  // Kill9()); returns once it accepts connections. Throws when it is already
  // running or does not come up (with its log).
  void Start();
  // SIGTERM (mosquitto saves its persistence database on the way out) and
  // wait up to `timeout`; SIGKILL after that. Returns how it ended; a no-op
  // returning the last status when it is not running.
  ExitStatus Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL: nothing is saved, like a power cut of the broker's host.
  ExitStatus Kill9();
  // Makes the running broker write its persistence database now (SIGUSR1)
  // and returns once it did: mosquitto writes mosquitto.db.new and renames
  // it over mosquitto.db, so the save is complete when mosquitto.db is
  // another file (inode) than before the signal. mosquitto acts on the
  // signal between two turns of its event loop, so everything it processed
  // before the signal, every acknowledgement it sent included, is then on
  // disk, and a Kill9() afterwards loses none of it. Needs persistence and
  // autosave_interval_s = 0: an autosave replaces the file too and could be
  // taken for this save (std::logic_error otherwise). Throws
  // std::runtime_error, with the log's tail, when it does not save within
  // `timeout`.
  void SaveDatabase(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool Running();
  pid_t pid() const;

  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }  // 0 without tls
  // "tcp://127.0.0.1:<port>", the form Paho takes.
  std::string url() const;

  const std::filesystem::path& dir() const { return dir_; }
  const MosquittoOptions& options() const { return options_; }
  const std::string& username() const { return options_.username; }
  const std::string& user_password() const { return options_.user_password; }
  std::filesystem::path config_path() const { return dir_ / "mosquitto.conf"; }
  std::filesystem::path log_path() const { return dir_ / "mosquitto.log"; }
  std::filesystem::path password_file() const { return dir_ / "passwd"; }
  std::filesystem::path database_path() const { return dir_ / "mosquitto.db"; }
  // The whole broker log so far (every start), with what it printed to stderr.
  std::string log() const;

  // Certificates (PEM; keys are unencrypted EC P-256). Paths are valid with
  // tls = true only.
  std::filesystem::path ca_cert() const { return certs_ / "ca.crt"; }
  std::filesystem::path server_cert() const { return certs_ / "server.crt"; }
  std::filesystem::path server_key() const { return certs_ / "server.key"; }
  std::filesystem::path client_cert() const { return certs_ / "client.crt"; }  // signed by ca_cert()
  std::filesystem::path client_key() const { return certs_ / "client.key"; }
  std::filesystem::path other_ca_cert() const { return certs_ / "other-ca.crt"; }          // unrelated to ca_cert()
  std::filesystem::path other_client_cert() const { return certs_ / "other-client.crt"; }  // signed by other_ca_cert()
  std::filesystem::path other_client_key() const { return certs_ / "other-client.key"; }
  // The CN of client_cert(), which is the username of a TLS client.
  static constexpr const char* kClientIdentity = "sluice-test-device";

 private:
  void MakeCertificates();
  void MakePasswordFile();
  void PickPorts();
  void WriteConfig() const;
  // One attempt to start; the reason it failed (empty on success). Leaves
  // nothing running on failure.
  std::string TryStart();

  std::filesystem::path dir_;
  std::filesystem::path certs_;
  MosquittoOptions options_;
  uint16_t port_ = 0;
  uint16_t tls_port_ = 0;
  bool ever_started_ = false;
  std::optional<Process> process_;
  ExitStatus last_status_;
};

}  // namespace sluice::test
