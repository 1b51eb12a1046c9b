// A bounded hand-off of buffers between the thread that reads (and hashes)
// a file and the thread that writes it, so reading, hashing and writing
// overlap instead of taking turns: on local disks that is the difference
// between the sum and the maximum of the three; over a network the reads of
// the next chunks happen while the last one is on the wire.
//
// Invariants: at most `depth` buffers exist; a buffer is owned by exactly
// one side at a time; after Close() (the end, or an error from either side)
// both sides stop waiting. Thread-safe for one producer and one consumer.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace sluice::transfer {

class ChunkPipe {
 public:
  struct Chunk {
    std::vector<char> buf;
    size_t size = 0;  // bytes of buf in use; 0 marks the end of the file
  };

  ChunkPipe(size_t depth, size_t buffer_bytes);

  // Producer: an empty buffer to fill; nullopt once the pipe is closed.
  std::optional<Chunk> TakeEmpty();
  void PutFull(Chunk chunk);
  // Consumer: the next filled chunk; nullopt once closed with nothing left.
  std::optional<Chunk> TakeFull();
  void GiveBack(Chunk chunk);

  // Either side: stop, with the reason (Ok for a normal end of the producer).
  void Close(Status why);
  Status status();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> empty_;
  std::deque<Chunk> full_;
  bool closed_ = false;
  Status status_;
};

}  // namespace sluice::transfer
