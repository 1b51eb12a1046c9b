#include "agent/buffer/async_committer.h"

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
  cv_.wait(lock, [&] { return !job_.has_value(); });
  if (!last_.ok()) return last_;
  job_ = Job{std::move(batches), std::move(updates), std::move(stop)};
  cv_.notify_all();
  return Status::Ok();
}

Status AsyncCommitter::Flush() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !job_.has_value(); });
  return last_;
}

void AsyncCommitter::Loop(std::stop_token thread_stop) {
  SetThreadName("commit:" + source_);
  Backoff backoff(std::chrono::milliseconds(50), std::chrono::seconds(5));
  for (;;) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, thread_stop, [&] { return job_.has_value(); });
    if (!job_) return;  // destroyed with nothing in flight
    Job& job = *job_;
    lock.unlock();

    Status s;
    for (;;) {
      s = buffer_.Commit(source_, job.batches, job.updates, job.stop);
      if (s.ok() || s.code() == ErrorCode::kCancelled || s.code() == ErrorCode::kInvalidArgument) break;
      if (job.stop.stop_requested()) {
        s = Status::Cancelled("stopped while retrying a commit: " + s.message());
        break;
      }
      const auto delay = backoff.Next();
      log_->warn("committing a batch of {} records failed (attempt {}), retrying in {} ms: {}",
                 CommittedRecordCount(job.batches), backoff.attempts(), delay.count(), s.message());
      std::mutex m;
      std::condition_variable_any sleeper;
      std::unique_lock sl(m);
      sleeper.wait_for(sl, job.stop, delay, [] { return false; });
    }
    backoff.Reset();
    if (s.code() == ErrorCode::kInvalidArgument) {
      // A batch that can never fit (larger than buffer_max) is a configuration
      // error; report it once as fatal for the source.
      log_->error("cannot store a batch of {} bytes: {}", CommittedStoredBytes(job.batches), s.message());
    }

    lock.lock();
    last_ = s;
    job_.reset();
    cv_.notify_all();
  }
}

}  // namespace sluice
