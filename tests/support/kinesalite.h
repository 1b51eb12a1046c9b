// A real Kinesis Data Streams API for one test, on 127.0.0.1, streams in
// memory, one of two emulators (npm, pinned in tests/servers/package-lock.json):
//   kKinesalite    kinesalite, started through tests/servers/kinesalite.js
//   kKinesisLocal  kinesis-local (kinesis-mock's Node build), started through
//                  tests/servers/kinesis-local.js; it answers "ErrorCode": null
//                  for stored PutRecords entries
// (both bind every interface by themselves; the scripts keep them on
// loopback). Streams are created and read back with the AWS SDK for
// JavaScript (tests/servers/kinesis-client.js), a client independent of ours.
//
// Invariants: the first start picks a free port, later ones keep it (streams
// do not survive a restart); the destructor stops the server. Not thread-safe.
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

class KinesisEmulator {
 public:
  enum class Kind { kKinesalite, kKinesisLocal };
  static const char* Name(Kind kind);  // "kinesalite", "kinesis-local"

  explicit KinesisEmulator(std::filesystem::path dir, Kind kind = Kind::kKinesalite);
  ~KinesisEmulator();
  KinesisEmulator(const KinesisEmulator&) = delete;
  KinesisEmulator& operator=(const KinesisEmulator&) = delete;

  Kind kind() const { return kind_; }

  void Start();
  ExitStatus Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  uint16_t port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"

  // Through the AWS SDK: throws std::runtime_error with its output on failure.
  void CreateStream(const std::string& stream, int shards) const;
  // Every record of every shard, shard by shard, in sequence order.
  std::vector<KinesisReadRecord> ReadStream(const std::string& stream) const;

  // Credentials (neither emulator checks them, but both need a signed
  // request), region, and no EC2 metadata service.
  static std::vector<std::pair<std::string, std::string>> ClientEnvironment();

 private:
  std::filesystem::path dir_;
  Kind kind_;
  uint16_t port_ = 0;
  std::optional<Process> process_;
  ExitStatus last_status_;
};

// The name the tests started with, for kinesalite.
using Kinesalite = KinesisEmulator;

}  // namespace sluice::test
