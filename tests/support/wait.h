// Waiting in tests without making time an assertion: poll a condition until
// it holds or a generous deadline passes, then let the test assert on data.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace sluice::test {

// Polls `done` every `interval` until it returns true (-> true) or `timeout`
// passed (-> false, after one last check).
inline bool WaitUntil(std::chrono::milliseconds timeout, const std::function<bool()>& done,
                      std::chrono::milliseconds interval = std::chrono::milliseconds(100)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(interval);
  }
  return done();
}

}  // namespace sluice::test
