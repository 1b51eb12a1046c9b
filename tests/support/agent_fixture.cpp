#include "tests/support/agent_fixture.h"

#include <catch2/catch.hpp>
#include <csignal>
#include <sstream>

#include "core/config/reader.h"
#include "tests/support/net.h"
#include "tests/support/no_instance_metadata.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {

std::string TomlString(std::string_view s) { return TomlQuote(s); }

AgentUnderTest::AgentUnderTest(std::filesystem::path root, AgentOptions options)
    : root_(std::move(root)), options_(std::move(options)), metrics_port_(FreePort()), lake_lines_(lake()) {
  for (const auto& dir : {logs(), data_dir(), lake(), root_ / "run"}) std::filesystem::create_directories(dir);
  WriteConfig();
}

std::string AgentUnderTest::RenderConfig() const {
  const AgentOptions& o = options_;
  std::ostringstream c;
  c << "[agent]\n"
    << "data_dir = " << TomlString(data_dir().string()) << "\n"
    << "buffer_max = " << TomlString(o.buffer_max) << "\n"
    << "overflow = " << TomlString(o.overflow) << "\n"
    << "durability = " << TomlString(o.durability) << "\n"
    << "metrics = " << TomlString("127.0.0.1:" + std::to_string(metrics_port_)) << "\n"
    << "shutdown_timeout = " << TomlString(o.shutdown_timeout) << "\n"
    << "log_level = " << TomlString(o.log_level) << "\n";
  if (!o.retain.empty()) c << "retain = " << TomlString(o.retain) << "\n";
  c << "\n";
  if (!o.source_toml.empty()) {
    c << "[sources.app]\n" << o.source_toml << (o.source_toml.back() == '\n' ? "\n" : "\n\n");
  } else {
    c << "[sources.app]\n"
      << "type = \"tail\"\n"
      << "paths = [";
    std::vector<std::string> paths = o.paths;
    if (paths.empty()) paths.push_back((logs() / "app.log*").string());
    for (size_t i = 0; i < paths.size(); ++i) c << (i ? ", " : "") << TomlString(paths[i]);
    c << "]\n"
      << "start_at = " << TomlString(o.start_at) << "\n"
      << "idle_flush = " << TomlString(o.idle_flush) << "\n"
      << "rotate_wait = " << TomlString(o.rotate_wait) << "\n"
      << "commit_interval = " << TomlString(o.commit_interval) << "\n";
    if (!o.scan_interval.empty()) c << "scan_interval = " << TomlString(o.scan_interval) << "\n";
    c << o.extra_source_toml << (o.extra_source_toml.empty() || o.extra_source_toml.back() == '\n' ? "" : "\n") << "\n";
  }
  c << o.transforms_toml << (o.transforms_toml.empty() || o.transforms_toml.back() == '\n' ? "" : "\n") << "\n";
  c << "[sinks.lake]\n"
    << "inputs = [";
  for (size_t i = 0; i < o.sink_inputs.size(); ++i) c << (i ? ", " : "") << TomlString(o.sink_inputs[i]);
  c << "]\n";
  if (o.sink_toml.empty()) {
    c << "type = \"lake\"\n"
      << "path = " << TomlString(lake().string()) << "\n";
  } else {
    c << o.sink_toml << (o.sink_toml.back() == '\n' ? "" : "\n");
  }
  c << "batch.max_age = " << TomlString(o.batch_max_age) << "\n"
    << "batch.max_bytes = " << TomlString(o.batch_max_bytes) << "\n"
    << "retry.initial = " << TomlString(o.retry_initial) << "\n"
    << "retry.max = " << TomlString(o.retry_max) << "\n";
  return c.str();
}

void AgentUnderTest::WriteConfig() const { WriteFile(config_path(), RenderConfig()); }

void AgentUnderTest::Start(bool wait_ready) {
  REQUIRE_FALSE(Running());
  ++starts_;
  const std::filesystem::path run = root_ / "run";
  AppendFile(run / "agent.stderr", "=== start " + std::to_string(starts_) + " ===\n");
  ProcessOptions p;
  p.program = SLUICE_BINARY;
  p.args = {"agent", "--config", config_path().string()};
  p.log_dir = run;
  p.name = "agent";
  p.env = NoInstanceMetadata(options_.env);
  process_ = std::make_unique<Process>(std::move(p));
  if (!wait_ready) return;
  const bool ready = WaitUntil(
      std::chrono::seconds(60),
      [&] {
        if (!process_->Running()) return true;
        auto r = HttpGet(metrics_port_, "/healthz", std::chrono::seconds(2));
        return r.has_value() && r->status == 200;
      },
      std::chrono::milliseconds(20));
  INFO("agent stderr (tail):\n" << StderrTail());
  REQUIRE(process_->Running());
  REQUIRE(ready);
}

std::optional<ExitStatus> AgentUnderTest::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return std::nullopt;
  std::optional<ExitStatus> s = process_->Stop(SIGTERM, timeout);
  if (!s) process_->Kill9();
  return s;
}

ExitStatus AgentUnderTest::Kill9() { return process_ ? process_->Kill9() : ExitStatus{}; }

void AgentUnderTest::Signal(int sig) {
  if (process_) process_->Signal(sig);
}

bool AgentUnderTest::Running() { return process_ && process_->Running(); }

std::string AgentUnderTest::Stderr() const {
  const std::filesystem::path p = root_ / "run" / "agent.stderr";
  return std::filesystem::exists(p) ? ReadFile(p) : std::string();
}

std::string AgentUnderTest::StderrOfLastRun() const {
  const std::string all = Stderr();
  const size_t at = all.rfind("=== start " + std::to_string(starts_) + " ===\n");
  return at == std::string::npos ? all : all.substr(at);
}

double AgentUnderTest::Metric(std::string_view name, const Labels& labels) const {
  std::optional<MetricsSnapshot> m = Metrics();
  return m ? m->ValueOr0(name, labels) : 0.0;
}

bool AgentUnderTest::WaitForLakeLines(uint64_t n, std::chrono::milliseconds timeout) {
  return WaitUntil(
      timeout, [&] { return lake_lines_.Count() >= n; }, std::chrono::milliseconds(200));
}

uint64_t AgentUnderTest::LakeLines() { return lake_lines_.Count(); }

bool AgentUnderTest::WaitUntilCaughtUp(std::chrono::milliseconds timeout, std::chrono::milliseconds quiet) {
  using Clock = std::chrono::steady_clock;
  double last_in = -1;
  Clock::time_point still_since = Clock::now();
  return WaitUntil(
      timeout,
      [&] {
        std::optional<MetricsSnapshot> m = Metrics();
        if (!m) return false;
        const double in = m->Sum("sluice_source_records_total");
        const double out = m->Sum("sluice_sink_records_total");
        const bool idle =
            m->Sum("sluice_tail_bytes_behind") == 0 && m->Sum("sluice_sink_pending_batches") == 0 && out >= in;
        if (!idle || in != last_in) {
          last_in = idle ? in : -1;
          still_since = Clock::now();
          return false;
        }
        return Clock::now() - still_since >= quiet;
      },
      std::chrono::milliseconds(200));
}

std::string AgentUnderTest::StderrTail(size_t lines) const {
  const std::string all = Stderr();
  size_t pos = all.size();
  if (pos > 0 && all[pos - 1] == '\n') --pos;
  for (size_t n = 0; n < lines && pos > 0; ++n) {
    const size_t nl = all.rfind('\n', pos - 1);
    pos = nl == std::string::npos ? 0 : nl;
  }
  return pos == 0 ? all : all.substr(pos + 1);
}

}  // namespace sluice::test
