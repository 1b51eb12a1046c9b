// Lets a source keep reading and encoding while its previous batches commit.
//
// Submit hands a batch to the committer's own thread and returns at once,
// unless kMaxQueued batches are already waiting (then it waits for room).
// The thread commits what waits as one group: one transaction, one sync,
// however many batches arrived while the previous group committed. A source
// whose transforms hand over batches faster than one sync per batch would
// allow otherwise stalls its whole pipeline behind the disk (with one batch
// in flight, the transform pipeline's collect thread sat blocked 0.94 s of a
// 6.7 s run of bench/agent_transforms.sh, its workers idle behind it).
// Order is kept, so each checkpoint still reaches the database in the same
// transaction as the records it covers, and never before the batches ahead
// of it (a group applies its batches' updates in order). Transient failures
// (disk full, I/O errors) are retried here with backoff, so a source only
// ever sees Ok or Cancelled (a stop was requested before the batch could be
// stored, e.g. while the buffer was full with overflow = block): after
// Cancelled nothing later is committed either.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "agent/buffer/buffer.h"
#include "core/log/log.h"

namespace sluice {

class AsyncCommitter {
 public:
  // Enough to cover a slow sync without holding much: batches are ~1 MiB of
  // records before compression (a source's batch_bytes).
  static constexpr size_t kMaxQueued = 4;

  AsyncCommitter(Buffer& buffer, std::string source, Logger log);
  ~AsyncCommitter();
  AsyncCommitter(const AsyncCommitter&) = delete;
  AsyncCommitter& operator=(const AsyncCommitter&) = delete;

  // Hands a batch over, waiting while kMaxQueued wait already. Returns the
  // outcome of the commits made so far (Ok or Cancelled); after Cancelled the
  // batch passed in is not submitted.
  Status Submit(std::vector<StreamBatch> batches, std::vector<CheckpointUpdate> updates, std::stop_token stop);
  // Waits until nothing is in flight; returns the last outcome.
  Status Flush();

 private:
  struct Job {
    std::vector<StreamBatch> batches;
    std::vector<CheckpointUpdate> updates;
    std::stop_token stop;
  };
  void Loop(std::stop_token thread_stop);
  // Commits `jobs` in one transaction; a group too large for the buffer as a
  // whole is committed a job at a time.
  Status CommitGroup(std::vector<Job>& jobs);
  Status CommitRetrying(const std::vector<StreamBatch>& batches, const std::vector<CheckpointUpdate>& updates,
                        std::stop_token stop);

  Buffer& buffer_;
  std::string source_;
  Logger log_;

  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Job> queued_;   // waiting for the thread, in order
  bool committing_ = false;  // the thread took a group and has not finished it
  Status last_;              // outcome of the last finished group
  std::jthread thread_;      // last: starts after everything it uses exists
};

}  // namespace sluice
