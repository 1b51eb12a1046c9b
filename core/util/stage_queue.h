// A bounded queue between two stages of a pipeline, whose producers can wait
// until the consumers have finished everything they were given (Drain). Any
// number of producer and consumer threads; a consumer may hold several items
// at once (each is in flight until its Done). Items' storage circulates: the consumer
// returns each emptied item (Done) and the producer gets one back from Push to
// refill, so a steady pipeline reuses its buffers instead of allocating.
//
// Invariants: at most `capacity` items are queued (Push waits beyond that);
// Drain returns once the queue is empty and no consumer holds an item; after
// Close, Pop hands out what is left and then returns false.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace sluice {

template <class T>
class StageQueue {
 public:
  explicit StageQueue(size_t capacity) : capacity_(capacity) {}
  StageQueue(const StageQueue&) = delete;
  StageQueue& operator=(const StageQueue&) = delete;

  // Queues `item` (waiting while the queue is full) and returns an emptied
  // item to fill next (a default one when none came back yet).
  T Push(T item) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < capacity_; });
    queue_.push_back(std::move(item));
    T spare{};
    if (!spares_.empty()) {
      spare = std::move(spares_.back());
      spares_.pop_back();
    }
    lock.unlock();
    cv_.notify_all();
    return spare;
  }

  // Consumer: waits for an item; false once closed and empty. The item is in
  // flight (Drain waits for it) until its Done.
  bool Pop(T& item) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return false;
    item = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    cv_.notify_all();  // room for the producer
    return true;
  }

  // Consumer: finished an item Pop gave; `emptied` is its storage, for reuse.
  void Done(T emptied) {
    {
      std::lock_guard lock(mu_);
      spares_.push_back(std::move(emptied));
      --busy_;
    }
    cv_.notify_all();
  }

  // Producer: waits until everything queued has been processed.
  void Drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.empty() && busy_ == 0; });
  }

  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> queue_;    // under mu_
  std::vector<T> spares_;  // under mu_
  size_t busy_ = 0;        // under mu_: items popped and not Done yet
  bool closed_ = false;    // under mu_
};

}  // namespace sluice
