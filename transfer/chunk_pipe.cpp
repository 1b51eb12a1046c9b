#include "transfer/chunk_pipe.h"

namespace sluice::transfer {

ChunkPipe::ChunkPipe(size_t depth, size_t buffer_bytes) {
  for (size_t i = 0; i < depth; ++i) empty_.push_back(Chunk{std::vector<char>(buffer_bytes), 0});
}

std::optional<ChunkPipe::Chunk> ChunkPipe::TakeEmpty() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return closed_ || !empty_.empty(); });
  if (closed_) return std::nullopt;
  Chunk c = std::move(empty_.front());
  empty_.pop_front();
  return c;
}

void ChunkPipe::PutFull(Chunk chunk) {
  {
    std::lock_guard lock(mu_);
    full_.push_back(std::move(chunk));
  }
  cv_.notify_all();
}

std::optional<ChunkPipe::Chunk> ChunkPipe::TakeFull() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !full_.empty() || (closed_ && full_.empty()); });
  // An error closes at once; a normal end still delivers what was read.
  if (full_.empty() || (closed_ && !status_.ok())) return std::nullopt;
  Chunk c = std::move(full_.front());
  full_.pop_front();
  return c;
}

void ChunkPipe::GiveBack(Chunk chunk) {
  {
    std::lock_guard lock(mu_);
    empty_.push_back(std::move(chunk));
  }
  cv_.notify_all();
}

void ChunkPipe::Close(Status why) {
  {
    std::lock_guard lock(mu_);
    if (!closed_) status_ = std::move(why);
    closed_ = true;
  }
  cv_.notify_all();
}

Status ChunkPipe::status() {
  std::lock_guard lock(mu_);
  return status_;
}

}  // namespace sluice::transfer
