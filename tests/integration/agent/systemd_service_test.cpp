// The agent under systemd (Type=notify), with the real binary and a real
// AF_UNIX datagram socket as NOTIFY_SOCKET: READY=1 once running, WATCHDOG=1
// from the main process at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM; and
// SIGHUP reloads: a changed configuration takes effect in the same process
// with nothing lost or duplicated, an invalid one is refused and the running
// one stays.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/agent_fixture.h"
#include "tests/support/lake_reader.h"
#include "tests/support/notify_socket.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

std::vector<LakeRecord> SystemdLakeRecords(const std::filesystem::path& lake, const std::string& source) {
  LakeContents contents = ReadLake(lake, source);
  INFO("lake " << lake << " problems: " << contents.problems.size()
               << (contents.problems.empty() ? "" : "; first: " + contents.problems[0]));
  REQUIRE(contents.problems.empty());
  return contents.records;
}

// Starts `agent` with `notify` as its NOTIFY_SOCKET (and `env` besides) and
// returns its READY=1 message.
NotifyMessage StartUnderSystemd(AgentUnderTest& agent, NotifySocket& notify,
                                std::vector<std::pair<std::string, std::string>> env = {}) {
  env.emplace_back("NOTIFY_SOCKET", notify.path().string());
  agent.options().env = std::move(env);
  agent.Start();
  const std::optional<NotifyMessage> ready = notify.WaitFor("READY=1", 30s);
  INFO(notify.Describe() << "\nagent stderr (tail):\n" << agent.StderrTail());
  REQUIRE(ready.has_value());
  return *ready;
}

// SIGTERM; the agent must exit 0 having shipped app lines 1..last exactly once.
void StopAndAuditSystemd(AgentUnderTest& agent, uint64_t last) {
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));
  const LineAudit audit = AuditLines(SystemdLakeRecords(agent.lake(), "app"), 1, last);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
}

// NumberedLine(first) to NumberedLine(last), each ending in a newline.
std::string SystemdLines(uint64_t first, uint64_t last) {
  std::string text;
  for (uint64_t n = first; n <= last; ++n) text += NumberedLine(n) + "\n";
  return text;
}

}  // namespace

TEST_CASE("agent under systemd: READY=1 once running, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM",
          "[integration][agent][systemd]") {
  TempDir dir("sluice-notify");
  NotifySocket notify(dir.path() / "notify.sock");
  AgentUnderTest agent(dir.path() / "agent");
  // A 2 s watchdog: the agent must ping every second.
  const NotifyMessage ready = StartUnderSystemd(agent, notify, {{"WATCHDOG_USEC", "2000000"}});
  // systemd (NotifyAccess=main) takes messages from the main process only.
  CHECK(ready.sender == agent.pid());

  std::vector<std::chrono::steady_clock::time_point> pings;
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until) {
    std::optional<NotifyMessage> m = notify.Receive(100ms);
    if (!m.has_value() || !m->Has("WATCHDOG=1")) continue;
    pings.push_back(m->received);
    CHECK(m->sender == agent.pid());
    CHECK(m->text.find("STATUS=running: 1 sources, 1 sinks, ") != std::string::npos);
  }
  REQUIRE(pings.size() >= 3);
  CHECK(pings.size() <= 7);
  for (size_t i = 1; i < pings.size(); ++i) {
    const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(pings[i] - pings[i - 1]);
    INFO("gap between pings " << i - 1 << " and " << i << ": " << gap.count() << " ms");
    CHECK(gap >= 500ms);  // about every second, not spinning
    CHECK(gap < 2s);      // before the watchdog would fire
  }

  const std::optional<ExitStatus> exit = agent.Stop(30s);
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));
  // Sent before the process exited, so already queued in the socket.
  const std::optional<NotifyMessage> stopping = notify.WaitFor("STOPPING=1", 5s);
  REQUIRE(stopping.has_value());
  CHECK(stopping->sender == agent.pid());
}

TEST_CASE(
    "agent reload: SIGHUP with a changed configuration moves the sink and adds a source in place, nothing lost "
    "or duplicated",
    "[integration][agent][systemd][reload]") {
  TempDir dir("sluice-reload");
  NotifySocket notify(dir.path() / "notify.sock");
  AgentOptions options;
  options.shutdown_timeout = "10s";
  AgentUnderTest agent(dir.path() / "agent", options);
  const std::filesystem::path lake2 = agent.root() / "lake2";
  const std::filesystem::path extra_log = agent.root() / "extra" / "b.log";
  std::filesystem::create_directories(extra_log.parent_path());
  StartUnderSystemd(agent, notify);
  const pid_t pid = agent.pid();

  constexpr uint64_t kAppLines = 4000;
  LineWriter::Options lines;
  lines.file = agent.logs() / "app.log";
  lines.count = kAppLines;
  lines.lines_per_second = 1000;
  LineWriter writer(lines);
  // The reload lands while lines are being written and delivered.
  REQUIRE(WaitUntil(30s, [&] { return writer.last_written() >= 1500; }));

  // The new configuration: the sink (same name, so its cursor carries on)
  // writes to another directory and also takes a new source.
  agent.options().sink_toml = "type = \"lake\"\npath = " + TomlString(lake2.string()) + "\n";
  agent.options().sink_inputs = {"app", "extra"};
  WriteFile(agent.config_path(), agent.RenderConfig() + "\n[sources.extra]\ntype = \"tail\"\npaths = [" +
                                     TomlString(extra_log.string()) + "]\nstart_at = \"beginning\"\n");
  agent.Signal(SIGHUP);
  INFO(notify.Describe() << "\nagent stderr (tail):\n" << agent.StderrTail());
  const std::optional<NotifyMessage> reloading = notify.WaitFor("RELOADING=1", 30s);
  REQUIRE(reloading.has_value());
  CHECK(reloading->text.find("MONOTONIC_USEC=") != std::string::npos);
  const std::optional<NotifyMessage> ready_again = notify.WaitFor("READY=1", 60s);
  REQUIRE(ready_again.has_value());
  CHECK(ready_again->text.find("2 sources, 1 sinks") != std::string::npos);
  CHECK(agent.pid() == pid);
  CHECK(agent.Running());

  AppendFile(extra_log, SystemdLines(1, 200));
  writer.Join();
  REQUIRE_FALSE(writer.error().has_value());
  LakeLineCounter app_old(agent.lake(), "app"), app_new(lake2, "app"), extra_new(lake2, "extra");
  const bool arrived = WaitUntil(
      60s, [&] { return app_old.Count() + app_new.Count() >= kAppLines && extra_new.Count() >= 200; }, 200ms);
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));
  CHECK(notify.WaitFor("STOPPING=1", 5s).has_value());
  CHECK(arrived);
  CHECK(agent.Stderr().find("reload: starting with the new configuration") != std::string::npos);

  // Every app line once across the two lakes, some in each: the reload
  // happened mid-stream and the sink's cursor carried over.
  const std::vector<LakeRecord> before = SystemdLakeRecords(agent.lake(), "app");
  const std::vector<LakeRecord> after = SystemdLakeRecords(lake2, "app");
  std::vector<LakeRecord> all = before;
  all.insert(all.end(), after.begin(), after.end());
  const LineAudit app = AuditLines(all, 1, kAppLines);
  INFO("app: " << app.Summary() << "; before the reload " << before.size() << ", after " << after.size());
  CHECK(app.ExactlyOnce());
  CHECK_FALSE(before.empty());
  CHECK_FALSE(after.empty());
  // The new source went to the new place only.
  const LineAudit added = AuditLines(SystemdLakeRecords(lake2, "extra"), 1, 200);
  INFO("extra: " << added.Summary());
  CHECK(added.ExactlyOnce());
  CHECK(SystemdLakeRecords(agent.lake(), "extra").empty());
}

TEST_CASE("agent reload: an invalid configuration on SIGHUP is refused with its file and line, the running one stays",
          "[integration][agent][systemd][reload]") {
  TempDir dir("sluice-reload-bad");
  NotifySocket notify(dir.path() / "notify.sock");
  AgentUnderTest agent(dir.path() / "agent");
  const auto log = agent.logs() / "app.log";
  StartUnderSystemd(agent, notify);
  AppendFile(log, SystemdLines(1, 100));
  REQUIRE(agent.WaitForLakeLines(100, 60s));

  // The same file with one bad value on a known line.
  std::string text = agent.RenderConfig();
  const std::string good = "buffer_max = \"64MiB\"";
  const size_t at = text.find(good);
  REQUIRE(at != std::string::npos);
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
  text.replace(at, good.size(), "buffer_max = \"lots\"");
  WriteFile(agent.config_path(), text);
  agent.Signal(SIGHUP);

  // The refusal's STATUS= line carries the configuration error.
  std::optional<NotifyMessage> status;
  REQUIRE(WaitUntil(30s, [&] {
    std::optional<NotifyMessage> m = notify.Receive(100ms);
    if (m.has_value() && m->text.rfind("STATUS=reload refused: ", 0) == 0) status = m;
    return status.has_value();
  }));
  INFO(notify.Describe() << "\nagent stderr (tail):\n" << agent.StderrTail());
  const std::string where = agent.config_path().string() + ":" + std::to_string(line) + ":";
  CHECK(status->text.find(where) != std::string::npos);
  CHECK(status->text.find("buffer_max") != std::string::npos);
  CHECK(agent.Stderr().find("reload refused, the running configuration stays: " + where) != std::string::npos);
  for (const NotifyMessage& m : notify.seen()) CHECK_FALSE(m.Has("RELOADING=1"));

  // Still running the old configuration: new lines keep arriving.
  REQUIRE(agent.Running());
  AppendFile(log, SystemdLines(101, 200));
  CHECK(agent.WaitForLakeLines(200, 60s));
  StopAndAuditSystemd(agent, 200);
}

}  // namespace sluice::test

namespace sluice::test {

TEST_CASE("agent reload: a valid configuration that cannot start brings the previous one back",
          "[integration][agent][systemd][reload]") {
  TempDir dir("sluice-reload-fallback");
  NotifySocket notify(dir.path() / "notify.sock");
  AgentUnderTest agent(dir.path() / "agent");
  const auto log = agent.logs() / "app.log";
  StartUnderSystemd(agent, notify);

  // Valid, but its metrics address is taken by another listener.
  const int taken = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(taken >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  REQUIRE(bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(taken, 1) == 0);
  REQUIRE(getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  std::string text = agent.RenderConfig();
  const std::string metrics = "metrics = \"127.0.0.1:" + std::to_string(agent.metrics_port()) + "\"";
  const size_t at = text.find(metrics);
  REQUIRE(at != std::string::npos);
  text.replace(at, metrics.size(), "metrics = \"127.0.0.1:" + port + "\"");
  WriteFile(agent.config_path(), text);
  agent.Signal(SIGHUP);

  INFO(notify.Describe() << "\nagent stderr (tail):\n" << agent.StderrTail());
  REQUIRE(notify.WaitFor("RELOADING=1", 30s).has_value());
  const std::optional<NotifyMessage> ready = notify.WaitFor("READY=1", 60s);
  close(taken);
  REQUIRE(ready.has_value());
  CHECK(agent.Stderr().find("reload: the new configuration did not start") != std::string::npos);
  bool failed_status = false;
  for (const NotifyMessage& m : notify.seen()) failed_status |= m.text.rfind("STATUS=reload failed: ", 0) == 0;
  CHECK(failed_status);

  // The previous configuration runs again, metrics port and all.
  AppendFile(log, SystemdLines(1, 100));
  CHECK(agent.WaitForLakeLines(100, 60s));
  CHECK(agent.Metric("sluice_sink_records_total", {{"sink", "lake"}}) >= 100);
  StopAndAuditSystemd(agent, 100);
}

}  // namespace sluice::test
