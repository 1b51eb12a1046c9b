// Lets a source keep reading and encoding while its previous batch commits.
//
// One batch is in flight at a time, on the committer's own thread: Submit
// returns as soon as the batch is handed over, after waiting for the one
// before it. Order is kept, so each checkpoint still reaches the database in
// the same transaction as the records it covers, and never before the
// batches ahead of it. Transient failures (disk full, I/O errors) are retried
// here with backoff, so a source only ever sees Ok or Cancelled (a stop was
// requested before the batch could be stored, e.g. while the buffer was full
// with overflow = block): after Cancelled nothing later is committed either.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "agent/buffer/buffer.h"
#include "core/log/log.h"

namespace sluice {

class AsyncCommitter {
 public:
  AsyncCommitter(Buffer& buffer, std::string source, Logger log);
  ~AsyncCommitter();
  AsyncCommitter(const AsyncCommitter&) = delete;
  AsyncCommitter& operator=(const AsyncCommitter&) = delete;

  // Waits for the previous commit, then hands this one over. Returns the
  // previous commit's outcome (Ok or Cancelled); after Cancelled the batch
  // passed in is not submitted.
  Status Submit(std::vector<StreamBatch> batches, std::vector<CheckpointUpdate> updates, std::stop_token stop);
  // Waits until nothing is in flight; returns the last outcome.
  Status Flush();

 private:
  void Loop(std::stop_token thread_stop);

  Buffer& buffer_;
  std::string source_;
  Logger log_;

  std::mutex mu_;
  std::condition_variable_any cv_;
  struct Job {
    std::vector<StreamBatch> batches;
    std::vector<CheckpointUpdate> updates;
    std::stop_token stop;
  };
  std::optional<Job> job_;  // the batch in flight, until its commit ends
  Status last_;             // outcome of the last finished commit
  std::jthread thread_;     // last: starts after everything it uses exists
};

}  // namespace sluice
