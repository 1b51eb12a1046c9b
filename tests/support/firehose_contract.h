// The Firehose contract server for one test (tests/servers/firehose-contract.js):
// it checks every PutRecordBatch against the documented API shapes and a
// recomputed SigV4 signature, stores what it accepts in files, and injects
// the documented failures. Firehose has no emulator; this is the contract.
//
// Invariants: started by the constructor on a free port of 127.0.0.1,
// stopped by the destructor. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.h"

namespace sluice::test {

struct FirehoseContractOptions {
  std::vector<std::string> streams;  // the delivery streams that exist
  double refuse_rate = 0;            // each record refused (FailedPutCount) with this probability
  int fail_first = 0;                // the first N requests answered 500 ServiceUnavailableException
  uint32_t seed = 1;
};

class FirehoseContract {
 public:
  FirehoseContract(std::filesystem::path dir, FirehoseContractOptions options);
  ~FirehoseContract();
  FirehoseContract(const FirehoseContract&) = delete;
  FirehoseContract& operator=(const FirehoseContract&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  // The records stored, decoded, in the order they were accepted.
  std::vector<std::string> Records(const std::string& stream) const;
  // One object per request: {n, status, records, bytes, refused, violation?}.
  std::vector<nlohmann::json> Requests() const;

  // The credentials the server checks signatures with, and the region.
  static std::vector<std::pair<std::string, std::string>> ClientEnvironment();

 private:
  std::filesystem::path dir_;
  std::optional<Process> process_;
  uint16_t port_ = 0;
};

}  // namespace sluice::test
