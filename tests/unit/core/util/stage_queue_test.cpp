#include "core/util/stage_queue.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

using namespace sluice;

TEST_CASE("stage queue: items arrive in order, Drain waits for the consumer, storage comes back", "[unit][util]") {
  StageQueue<std::vector<int>> q(2);
  std::vector<int> seen;
  std::atomic<int> processed{0};
  std::thread consumer([&] {
    std::vector<int> item;
    while (q.Pop(item)) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // slower than the producer: Push must wait
      seen.insert(seen.end(), item.begin(), item.end());
      processed.fetch_add(1);
      item.clear();
      q.Done(std::move(item));
    }
  });
  std::vector<int> next;
  size_t reused = 0;
  for (int i = 0; i < 200; ++i) {
    next.push_back(2 * i);
    next.push_back(2 * i + 1);
    next = q.Push(std::move(next));
    if (next.capacity() > 0) ++reused;
    CHECK(next.empty());
    if (i % 50 == 49) {
      q.Drain();
      // Everything pushed so far was processed, not merely taken.
      CHECK(processed.load() == i + 1);
      CHECK(seen.size() == static_cast<size_t>(2 * (i + 1)));
    }
  }
  q.Close();
  consumer.join();
  REQUIRE(seen.size() == 400);
  for (int i = 0; i < 400; ++i) CHECK(seen[static_cast<size_t>(i)] == i);
  CHECK(reused > 100);  // the consumer's emptied vectors were handed back to refill
}

TEST_CASE("stage queue: after Close the consumer gets what is left, then false", "[unit][util]") {
  StageQueue<std::string> q(4);
  q.Push("a");
  q.Push("b");
  q.Close();
  std::string item;
  REQUIRE(q.Pop(item));
  CHECK(item == "a");
  q.Done({});
  REQUIRE(q.Pop(item));
  CHECK(item == "b");
  q.Done({});
  CHECK_FALSE(q.Pop(item));
  q.Drain();  // nothing in flight: returns at once
}

TEST_CASE("stage queue: with several consumers, Drain waits for the items each holds", "[unit][util]") {
  StageQueue<int> q(3);
  std::atomic<int> done{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 3; ++c) {
    consumers.emplace_back([&] {
      int item = 0;
      while (q.Pop(item)) {
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        done.fetch_add(1);
        q.Done(0);
      }
    });
  }
  // And one consumer holding three items at once before finishing them.
  StageQueue<int> held(2);
  std::atomic<int> held_done{0};
  std::thread holder([&] {
    int a = 0;
    int b = 0;
    int c = 0;
    while (held.Pop(a) && held.Pop(b) && held.Pop(c)) {
      std::this_thread::sleep_for(std::chrono::microseconds(300));
      held_done.fetch_add(3);
      for (int i = 0; i < 3; ++i) held.Done(0);
    }
  });
  for (int i = 0; i < 60; ++i) {
    q.Push(int{i});
    held.Push(int{i});
    if (i % 3 == 2) {
      held.Drain();
      CHECK(held_done.load() == i + 1);
    }
  }
  q.Drain();
  CHECK(done.load() == 60);
  q.Close();
  held.Close();
  for (std::thread& t : consumers) t.join();
  holder.join();
}
