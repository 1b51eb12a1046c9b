#include "agent/buffer/async_committer.h"

#include <algorithm>
#include <optional>

#include "core/backoff.h"
#include "core/util/thread_name.h"

namespace sluice {
namespace {

uint64_t CommittedRecordCount(const std::vector<StreamBatch>& batches) {
  uint64_t n = 0;
  for (const StreamBatch& b : batches) n += b.batch.records;
  return n;
}

uint64_t CommittedStoredBytes(const std::vector<StreamBatch>& batches) {
  uint64_t n = 0;
  for (const StreamBatch& b : batches) n += b.batch.zstd.size();
  return n;
}

}  // namespace

AsyncCommitter::AsyncCommitter(Buffer& buffer, std::string source, Logger log)
    : buffer_(buffer),
      source_(std::move(source)),
      log_(std::move(log)),
      thread_([this](std::stop_token st) { Loop(st); }) {}

AsyncCommitter::~AsyncCommitter() {
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

Status AsyncCommitter::Submit(std::vector<StreamBatch> batches, std::vector<CheckpointUpdate> updates,
                              std::stop_token stop) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queued_.size() < kMaxQueued || !last_.ok(); });
  if (!last_.ok()) return last_;
  queued_.push_back(Job{std::move(batches), std::move(updates), std::move(stop)});
  cv_.notify_all();
  return Status::Ok();
}

Status AsyncCommitter::Flush() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return (queued_.empty() && !committing_) || !last_.ok(); });
  return last_;
}

Status AsyncCommitter::CommitRetrying(const std::vector<StreamBatch>& batches,
                                      const std::vector<CheckpointUpdate>& updates, std::stop_token stop) {
  std::optional<Backoff> backoff;  // only on failure: seeding one costs a random_device read
  for (;;) {
    Status s = buffer_.Commit(source_, batches, updates, stop);
    if (s.ok() || s.code() == ErrorCode::kCancelled || s.code() == ErrorCode::kInvalidArgument) return s;
    if (stop.stop_requested()) return Status::Cancelled("stopped while retrying a commit: " + s.message());
    if (!backoff) backoff.emplace(std::chrono::milliseconds(50), std::chrono::seconds(5));
    const auto delay = backoff->Next();
    log_->warn("committing a batch of {} records failed (attempt {}), retrying in {} ms: {}",
               CommittedRecordCount(batches), backoff->attempts(), delay.count(), s.message());
    std::mutex m;
    std::condition_variable_any sleeper;
    std::unique_lock sl(m);
    sleeper.wait_for(sl, stop, delay, [] { return false; });
  }
}

Status AsyncCommitter::CommitGroup(std::vector<Job>& jobs) {
  if (jobs.size() == 1) return CommitRetrying(jobs[0].batches, jobs[0].updates, jobs[0].stop);
  std::vector<StreamBatch> batches;
  std::vector<CheckpointUpdate> updates;
  for (Job& j : jobs) {
    for (StreamBatch& b : j.batches) batches.push_back(std::move(b));
    for (CheckpointUpdate& u : j.updates) updates.push_back(std::move(u));
  }
  Status s = CommitRetrying(batches, updates, jobs.back().stop);
  if (s.code() != ErrorCode::kInvalidArgument) return s;
  // Larger than buffer_max together: one at a time, as they came.
  size_t b = 0;
  size_t u = 0;
  for (Job& j : jobs) {
    for (StreamBatch& x : j.batches) x = std::move(batches[b++]);
    for (CheckpointUpdate& x : j.updates) x = std::move(updates[u++]);
    if (s = CommitRetrying(j.batches, j.updates, j.stop); !s.ok()) return s;
  }
  return s;
}

void AsyncCommitter::Loop(std::stop_token thread_stop) {
  SetThreadName("commit:" + source_);
  for (;;) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, thread_stop, [&] { return !queued_.empty(); });
    if (queued_.empty()) return;  // destroyed with nothing waiting
    std::vector<Job> group;
    while (!queued_.empty()) {
      group.push_back(std::move(queued_.front()));
      queued_.pop_front();
    }
    committing_ = true;
    cv_.notify_all();  // room for Submit
    lock.unlock();

    const Status s = CommitGroup(group);
    if (s.code() == ErrorCode::kInvalidArgument) {
      // A batch that can never fit (larger than buffer_max) is a configuration
      // error; report it once as fatal for the source.
      uint64_t bytes = 0;
      for (const Job& j : group) bytes = std::max(bytes, CommittedStoredBytes(j.batches));
      log_->error("cannot store a batch of {} bytes: {}", bytes, s.message());
    }

    lock.lock();
    committing_ = false;
    last_ = s;
    // Nothing after a failed group is committed: Submit and Flush report it.
    if (!s.ok()) queued_.clear();
    cv_.notify_all();
  }
}

}  // namespace sluice
