// The EC2 instance metadata service (IMDSv2 only) for one test:
// tests/servers/imds.js (Node built-ins only), plain HTTP on 127.0.0.1. Every
// metadata GET needs the session token from PUT /latest/api/token (401
// without it). A client reaches it through the environment the AWS SDKs read:
// Environment() sets AWS_EC2_METADATA_SERVICE_ENDPOINT to it.
//
// Invariants: the server only ever listens on loopback; the destructor stops
// it. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.h"

namespace sluice::test {

struct ImdsServerOptions {
  std::string role = "sluice-test-role";
  int lifetime_s = 21600;
  std::string access_key;  // "" = fresh keys in each answer
  std::string secret_key;
};

struct ImdsStats {
  int tokens = 0;        // PUT /latest/api/token answered
  int credentials = 0;   // credentials handed out
  int unauthorized = 0;  // requests refused for want of a valid token
};

class ImdsServer {
 public:
  explicit ImdsServer(std::filesystem::path dir, ImdsServerOptions options = {});
  ~ImdsServer();
  ImdsServer(const ImdsServer&) = delete;
  ImdsServer& operator=(const ImdsServer&) = delete;

  uint16_t port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  // AWS_EC2_METADATA_SERVICE_ENDPOINT = endpoint(), AWS_EC2_METADATA_DISABLED = false.
  std::vector<std::pair<std::string, std::string>> Environment() const;

  ImdsStats Stats() const;
  void FailWith(int status) const;  // every metadata request from now on; 0 stops it
  void SetLifetime(int seconds) const;

 private:
  std::filesystem::path dir_;
  uint16_t port_ = 0;
  std::optional<Process> process_;
};

}  // namespace sluice::test
