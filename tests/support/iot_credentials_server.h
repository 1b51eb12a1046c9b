// AWS IoT's credentials provider for one test: tests/servers/iot-credentials.js
// (Node built-ins only) on 127.0.0.1 over mutual TLS, with certificates made
// by TestPki in <dir>/pki: the server trusts pki().ca_cert() for clients and
// presents a certificate for 127.0.0.1 signed by it, so a client verifies it
// with pki().ca_cert() too. A plain HTTP control listener on 127.0.0.1 lets
// the test count requests and inject failures.
//
// Invariants: the server only ever listens on loopback; the destructor stops
// it. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "protocols/aws/iot_credentials.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace sluice::test {

struct IotCredentialsServerOptions {
  std::string role_alias = "sluice-test-alias";
  std::string thing = "sluice-test-thing";
  int lifetime_s = 3600;  // how long handed-out credentials live
  // Fixed keys in every answer (e.g. s3rver's "S3RVER"); "" = fresh ones each time.
  std::string access_key;
  std::string secret_key;
};

struct IotCredentialsStats {
  int total = 0;   // requests that got past the TLS handshake
  int served = 0;  // answered with credentials
  int failed = 0;
  std::map<std::string, int> requests;  // "<thing>/<alias>" -> count
};

class IotCredentialsServer {
 public:
  // Makes the certificates and starts the server; throws std::runtime_error
  // (with its output) when it does not come up.
  IotCredentialsServer(std::filesystem::path dir, IotCredentialsServerOptions options = {});
  ~IotCredentialsServer();
  IotCredentialsServer(const IotCredentialsServer&) = delete;
  IotCredentialsServer& operator=(const IotCredentialsServer&) = delete;

  const TestPki& pki() const { return pki_; }
  const IotCredentialsServerOptions& options() const { return options_; }
  uint16_t port() const { return port_; }
  std::string endpoint() const;  // "https://127.0.0.1:<port>"
  // What a client of this server configures: the endpoint, alias, thing, the
  // good client certificate and the CA.
  aws::IotCredentialsConfig ClientConfig() const;

  IotCredentialsStats Stats() const;
  // Every request answered with `status` from now on; 0 stops it.
  void FailWith(int status) const;
  // Answers of 200 whose body is not credentials (but holds a secret).
  void SendGarbage(bool on) const;
  void SetLifetime(int seconds) const;

 private:
  void Control(const std::string& path_and_query) const;

  std::filesystem::path dir_;
  IotCredentialsServerOptions options_;
  TestPki pki_;
  uint16_t port_ = 0;
  uint16_t control_port_ = 0;
  std::optional<Process> process_;
};

}  // namespace sluice::test
