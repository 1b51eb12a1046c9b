// SystemdNotifier against a real AF_UNIX datagram socket: what it reads from
// the environment (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID) and what
// arrives.
#include "core/systemd/sd_notify.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/notify_socket.h"
#include "tests/support/temp_dir.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;

// Sets (or, with nullopt, unsets) the notification variables for one test
// and restores what was there before.
class ScopedNotifyEnv {
 public:
  ScopedNotifyEnv(std::optional<std::string> socket, std::optional<std::string> usec, std::optional<std::string> pid) {
    Set("NOTIFY_SOCKET", socket);
    Set("WATCHDOG_USEC", usec);
    Set("WATCHDOG_PID", pid);
  }
  ~ScopedNotifyEnv() {
    for (auto& [name, value] : saved_) {
      if (value.has_value()) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }
  ScopedNotifyEnv(const ScopedNotifyEnv&) = delete;
  ScopedNotifyEnv& operator=(const ScopedNotifyEnv&) = delete;

 private:
  void Set(const std::string& name, const std::optional<std::string>& value) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old == nullptr ? std::nullopt : std::optional<std::string>(old));
    if (value.has_value()) {
      setenv(name.c_str(), value->c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace

TEST_CASE("sd_notify: a message arrives whole, from this process, on the socket NOTIFY_SOCKET names",
          "[unit][systemd]") {
  test::TempDir dir("sluice-sdnotify");
  test::NotifySocket socket(dir.path() / "notify.sock");
  ScopedNotifyEnv env(socket.path().string(), "3000000", std::to_string(getpid()));
  const SystemdNotifier notifier;
  REQUIRE(notifier.enabled());
  CHECK(notifier.setup_problem().empty());
  REQUIRE(notifier.watchdog_interval().has_value());
  CHECK(*notifier.watchdog_interval() == 1500ms);  // half of WATCHDOG_USEC

  REQUIRE(notifier.Notify("READY=1\nSTATUS=running").ok());
  const std::optional<test::NotifyMessage> m = socket.Receive(5s);
  REQUIRE(m.has_value());
  CHECK(m->text == "READY=1\nSTATUS=running");
  CHECK(m->Has("READY=1"));
  CHECK(m->sender == getpid());

  const std::string reloading = ReloadingMessage();
  CHECK(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  CHECK(StatusLine("bad\nconfig\r") == "STATUS=bad config ");
}

TEST_CASE("sd_notify: without NOTIFY_SOCKET every call is a successful no-op", "[unit][systemd]") {
  ScopedNotifyEnv env(std::nullopt, "3000000", std::nullopt);
  const SystemdNotifier notifier;
  CHECK_FALSE(notifier.enabled());
  CHECK_FALSE(notifier.watchdog_interval().has_value());
  CHECK(notifier.setup_problem().empty());
  CHECK(notifier.Notify("READY=1").ok());
}

TEST_CASE("sd_notify: the watchdog is ours only when WATCHDOG_PID is unset or names this process", "[unit][systemd]") {
  test::TempDir dir("sluice-sdnotify-pid");
  test::NotifySocket socket(dir.path() / "notify.sock");
  {
    ScopedNotifyEnv env(socket.path().string(), "1000000", std::nullopt);
    CHECK(SystemdNotifier().watchdog_interval() == std::optional(std::chrono::milliseconds(500)));
  }
  {
    // The parent's watchdog, inherited by a child.
    ScopedNotifyEnv env(socket.path().string(), "1000000", std::to_string(getpid() + 1));
    CHECK_FALSE(SystemdNotifier().watchdog_interval().has_value());
  }
  {
    ScopedNotifyEnv env(socket.path().string(), "0", std::nullopt);
    CHECK_FALSE(SystemdNotifier().watchdog_interval().has_value());
  }
  {
    ScopedNotifyEnv env(socket.path().string(), "soon", std::nullopt);
    CHECK_FALSE(SystemdNotifier().watchdog_interval().has_value());
  }
}

TEST_CASE("sd_notify: a relative NOTIFY_SOCKET is refused with a reason, a vanished socket is an error",
          "[unit][systemd]") {
  {
    ScopedNotifyEnv env("relative/notify.sock", std::nullopt, std::nullopt);
    const SystemdNotifier notifier;
    CHECK_FALSE(notifier.enabled());
    CHECK(notifier.setup_problem().find("relative/notify.sock") != std::string::npos);
  }
  test::TempDir dir("sluice-sdnotify-gone");
  ScopedNotifyEnv env((dir.path() / "nobody-listens.sock").string(), std::nullopt, std::nullopt);
  const SystemdNotifier notifier;
  REQUIRE(notifier.enabled());
  const Status s = notifier.Notify("WATCHDOG=1");
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("nobody-listens.sock") != std::string::npos);
}

}  // namespace sluice
