#include "app/signal_loop.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <ctime>
#include <thread>

namespace sluice::app {

Status RunUntilDone(const std::function<Status()>& job,
                    const std::function<void(int count, std::string_view name)>& on_signal,
                    const std::function<void()>& on_reload) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (on_reload) sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Status result;
  std::atomic<bool> done{false};
  std::jthread runner([&] {
    result = job();
    done = true;
  });
  int received = 0;
  while (!done) {
    // A tick, so that the job's end is seen without a signal.
    const timespec tick{0, 100'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig <= 0) continue;
    if (sig == SIGHUP) {
      on_reload();
      continue;
    }
    on_signal(++received, sig == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  runner.join();
  return result;
}

}  // namespace sluice::app
