#include "core/util/permits.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

using namespace sluice;

TEST_CASE("permits: at most `count` holders at once, and a waiter proceeds when one is given back", "[unit][util]") {
  constexpr int kPermits = 3;
  Permits permits(kPermits);
  std::atomic<int> holding{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        permits.Acquire();
        const int now = holding.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        holding.fetch_sub(1);
        permits.Release();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(most.load() <= kPermits);
  CHECK(most.load() >= 1);

  // All taken: the next Acquire waits until a Release.
  for (int i = 0; i < kPermits; ++i) permits.Acquire();
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    permits.Acquire();
    acquired = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(acquired.load());
  permits.Release();
  waiter.join();
  CHECK(acquired.load());
}
