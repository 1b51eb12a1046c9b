// A real S3 API server for one test: s3rver (npm, pinned in
// tests/servers/package-lock.json, installed by scripts/setup.sh) on
// 127.0.0.1, its objects under <dir>/data, its output in <dir>/s3rver.*.
//
// Run through tests/servers/s3rver-fixed.js, which fixes its listings with a
// delimiter (nested common prefixes were missing; the file says how).
// Started as `node --openssl-legacy-provider`: s3rver encrypts ListObjectsV2
// continuation tokens with DES, which OpenSSL 3 leaves out unless asked, and
// without it every truncated listing answers 500 (docs/research/s3-kinesis-aws.md).
// s3rver takes the access key "S3RVER" and checks no signatures and no
// checksums; those are the unit tests' and the AWS conformance notes' part.
// It stores each key as a file named key + "._S3rver_object", so a key
// component over 240 bytes crashes it (ENAMETOOLONG): kMaxNameBytes.
//
// Invariants: the first start picks a free port and later ones keep it, so a
// client reconnects to the same endpoint after Stop()/Start(); the objects
// persist in <dir>/data across restarts. The destructor stops the server.
// Not thread-safe: one thread drives an S3rver.
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

class S3rver {
 public:
  // Starts the server with these buckets created. Throws std::runtime_error
  // (with the server's output) when it does not come up.
  explicit S3rver(std::filesystem::path dir, std::vector<std::string> buckets = {"lake"});
  ~S3rver();
  S3rver(const S3rver&) = delete;
  S3rver& operator=(const S3rver&) = delete;

  void Start();
  ExitStatus Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ExitStatus Kill9();
  bool Running();

  uint16_t port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  // Where an object's bytes are stored on disk: <dir>/data/<bucket>/<key>._S3rver_object.
  std::filesystem::path ObjectFile(const std::string& bucket, const std::string& key) const;
  const std::filesystem::path& dir() const { return dir_; }
  // Copies every object under `prefix` of `bucket` into `out` as plain files
  // named by the rest of their keys (objects only: no metadata, no directory
  // markers), replacing what `out` held. Lets a test read what the server
  // stored with the tools it has for directories (ReadLake, ReadTree).
  void MirrorObjects(const std::string& bucket, const std::string& prefix, const std::filesystem::path& out) const;

  // Through the AWS SDK for JavaScript (tests/servers/s3-client.js), a client
  // independent of ours: downloads every object under `prefix` of `bucket`
  // as ListObjectsV2 lists it to `out`, named by the rest of its key
  // (replacing what `out` held), checks each has its listed size, and returns
  // the listing in key order. Throws std::runtime_error with the client's
  // output on failure.
  struct Listed {
    std::string key;
    uint64_t size = 0;
    std::string etag;
  };
  std::vector<Listed> DownloadWithSdk(const std::string& bucket, const std::string& prefix,
                                      const std::filesystem::path& out) const;

  // The environment a sluice process needs to reach it: the access key
  // s3rver requires, a secret, a region, and no EC2 metadata service.
  static std::vector<std::pair<std::string, std::string>> ClientEnvironment();
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";
  static constexpr size_t kMaxNameBytes = 200;

 private:
  std::filesystem::path dir_;
  std::vector<std::string> buckets_;
  uint16_t port_ = 0;
  std::optional<Process> process_;
  ExitStatus last_status_;
};

}  // namespace sluice::test
