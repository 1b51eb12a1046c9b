// A counting semaphore that sleeps on a condition variable: Acquire takes one
// of `count` permits, waiting until one is free; Release gives one back.
//
// Why not std::counting_semaphore: libstdc++'s spins before it sleeps, and
// its last spins are sched_yield. A producer that finds the window full
// while both cores run workers yields to them and waits behind them in the
// run queue for whole time slices, after the permit it waits for was given
// back, while the workers run out of work: on the agent's transform
// pipeline (bench/agent_transforms.sh) the source thread spent 3.6 s of a
// 6.3 s run runnable and not running, and the workers slept 1 s each
// waiting for chunks. A futex wait wakes the producer at once instead.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace sluice {

class Permits {
 public:
  explicit Permits(size_t count) : free_(count) {}
  Permits(const Permits&) = delete;
  Permits& operator=(const Permits&) = delete;

  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t free_;  // under mu_
};

}  // namespace sluice
