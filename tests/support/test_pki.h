// Certificates for a test's TLS servers and clients, made with the openssl
// CLI in a directory of the test's own: a CA, a server certificate for
// localhost and 127.0.0.1 (subjectAltName DNS and IP), a client certificate
// the CA signed, and an unrelated CA with a client certificate of its own (a
// well-formed certificate a server must still refuse). Keys are unencrypted
// EC P-256 PEM files. Extensions are spelled out rather than taken from the
// system's openssl.cnf, which differs between distributions.
#pragma once

#include <filesystem>
#include <string>

namespace sluice::test {

class TestPki {
 public:
  // Makes everything under `dir`; throws std::runtime_error with openssl's
  // stderr when a step fails.
  TestPki(std::filesystem::path dir, const std::string& client_cn);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ca_cert() const { return dir_ / "ca.crt"; }
  std::filesystem::path ca_key() const { return dir_ / "ca.key"; }
  std::filesystem::path server_cert() const { return dir_ / "server.crt"; }
  std::filesystem::path server_key() const { return dir_ / "server.key"; }
  std::filesystem::path client_cert() const { return dir_ / "client.crt"; }  // signed by ca_cert()
  std::filesystem::path client_key() const { return dir_ / "client.key"; }
  std::filesystem::path other_ca_cert() const { return dir_ / "other-ca.crt"; }          // unrelated to ca_cert()
  std::filesystem::path other_client_cert() const { return dir_ / "other-client.crt"; }  // signed by other_ca_cert()
  std::filesystem::path other_client_key() const { return dir_ / "other-client.key"; }

 private:
  std::filesystem::path dir_;
};

}  // namespace sluice::test
