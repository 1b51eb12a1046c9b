// A real Kinesis Data Streams API for one test: kinesalite (npm, pinned in
// tests/servers/package-lock.json) on 127.0.0.1, started through
// tests/servers/kinesalite.js (its own command line binds every interface),
// streams in memory. Streams are created and read back with the AWS SDK for
// JavaScript (tests/servers/kinesis-client.js), a client independent of ours.
//
// Invariants: the first start picks a free port, later ones keep it; the
// destructor stops the server. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.h"

namespace sluice::test {

struct KinesisReadRecord {
  std::string shard;
  std::string sequence;
  std::string partition_key;
  std::string data;  // decoded
};

class Kinesalite {
 public:
  explicit Kinesalite(std::filesystem::path dir);
  ~Kinesalite();
  Kinesalite(const Kinesalite&) = delete;
  Kinesalite& operator=(const Kinesalite&) = delete;

  void Start();
  ExitStatus Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  uint16_t port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"

  // Through the AWS SDK: throws std::runtime_error with its output on failure.
  void CreateStream(const std::string& stream, int shards) const;
  // Every record of every shard, shard by shard, in sequence order.
  std::vector<KinesisReadRecord> ReadStream(const std::string& stream) const;

  // Credentials (kinesalite checks none, but needs a signed request), region,
  // and no EC2 metadata service.
  static std::vector<std::pair<std::string, std::string>> ClientEnvironment();

 private:
  std::filesystem::path dir_;
  uint16_t port_ = 0;
  std::optional<Process> process_;
  ExitStatus last_status_;
};

}  // namespace sluice::test
