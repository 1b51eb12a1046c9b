// A fault-injecting HTTP proxy between the agent and an emulator (Kinesis or
// S3) for one test: tests/servers/fault-proxy.js on 127.0.0.1 (Node built-ins
// only), which says what each fault does. Faults are drawn per request from
// a seeded sequence, or an outage answers every request with one status;
// the test changes them while the agent runs (SetFaults). Every request is
// logged as one JSON line (<dir>/requests.jsonl), read back with Requests().
//
// Invariants: the proxy keeps its port for its lifetime; the destructor stops
// it. Not thread-safe: one thread drives a FaultProxy.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace sluice::test {

// Probabilities per request (summed in this order; the rest pass untouched).
struct ProxyFaults {
  uint64_t seed = 1;
  double throttle = 0;           // Kinesis 400 ProvisionedThroughputExceededException, S3 503 SlowDown
  double error500 = 0;           // HTTP 500
  double error503 = 0;           // HTTP 503
  double partial = 0;            // PutRecords: some entries refused, the others stored
  double partial_entries = 0.3;  // share of a partial request's entries refused (at least one)
  double drop_before = 0;        // connection destroyed, nothing forwarded
  double drop_after = 0;         // forwarded, then the connection destroyed before the answer
  double slow = 0;               // forwarded, answered after slow_ms
  int slow_ms = 1000;
  int outage_status = 0;  // when set: every request answered with it, nothing forwarded

  std::string ToJson() const;
};

// One logged request (see fault-proxy.js).
struct ProxyRequest {
  uint64_t n = 0;
  int64_t t_ms = 0;  // arrival, ms since the epoch
  int64_t ms = 0;    // until settled
  std::string method;
  std::string path;
  std::string target;  // X-Amz-Target ("" for S3)
  uint64_t bytes = 0;  // request body
  std::string fault;   // none throttle error500 error503 partial dropBefore dropAfter slow outage
  int status = 0;      // answered; 0 when the connection was dropped
  int upstream = 0;    // the emulator's status; 0 when not forwarded
  // PutRecords only:
  bool put_records = false;
  std::string stream;
  std::vector<uint64_t> record_bytes;  // data (decoded) + partition key, per entry
  uint64_t forwarded = 0;              // entries the emulator got
  uint64_t refused = 0;                // entries answered as refused by a partial fault

  size_t records() const { return record_bytes.size(); }
  uint64_t RecordBytesTotal() const;
  // The agent saw the request fail as a whole (an error status or no answer).
  bool FailedWhole() const { return status < 200 || status >= 300; }
};

// Totals over a proxy log, for checks and failure messages.
struct ProxyTally {
  uint64_t requests = 0;
  std::map<std::string, uint64_t> by_fault;
  std::map<int, uint64_t> by_status;  // 0: dropped
  // PutRecords:
  uint64_t put_records_requests = 0;
  uint64_t records_sent = 0;              // entries in all PutRecords requests
  uint64_t records_refused = 0;           // entries refused by partial faults
  uint64_t records_in_failed = 0;         // entries of requests that failed as a whole
  uint64_t records_dropped_after = 0;     // entries the emulator stored, answer dropped
  uint64_t max_records = 0;               // in one request
  uint64_t max_request_record_bytes = 0;  // data + partition keys of one request
  uint64_t max_record_bytes = 0;
  uint64_t max_body_bytes = 0;

  std::string Summary() const;
};
ProxyTally Tally(const std::vector<ProxyRequest>& requests);

class FaultProxy {
 public:
  // Starts the proxy in front of `upstream` ("http://127.0.0.1:PORT"), its
  // log and output under `dir`. Throws std::runtime_error when it does not come up.
  FaultProxy(std::filesystem::path dir, std::string upstream);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  uint16_t port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  std::filesystem::path log_path() const { return dir_ / "requests.jsonl"; }

  // Replaces the faults; they apply to the requests that arrive from now on.
  // Throws std::runtime_error when the proxy does not confirm.
  void SetFaults(const ProxyFaults& faults);
  // Every request settled so far, in the order they were settled.
  std::vector<ProxyRequest> Requests() const;

  ExitStatus Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  std::filesystem::path dir_;
  std::string upstream_;
  uint16_t port_ = 0;
  std::optional<Process> process_;
  ExitStatus last_status_;
};

// A loose ceiling on the requests a sink makes while every request fails for
// `window`, given its `[sinks.X.retry]` initial and max: the runner waits a
// full-jitter delay (uniform in [0, ceiling], the ceiling doubling from
// `initial` up to `max`) between attempts, so attempts average one per
// ceiling/2. Allows 3 times the attempts those means fit in the window, plus
// 5, each of up to `requests_per_attempt` requests. Full jitter has no
// minimum delay, so no ceiling is certain; this one is exceeded only when
// dozens of independent delays all come out far below their means (odds
// below 1e-9). A slow machine makes fewer requests, never more.
uint64_t RetryRequestCeiling(std::chrono::milliseconds window, std::chrono::milliseconds initial,
                             std::chrono::milliseconds max, uint64_t requests_per_attempt = 1);

}  // namespace sluice::test
