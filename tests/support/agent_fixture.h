// One `sluice agent` under test, in a directory of its own:
//   <root>/logs/      the files it tails (paths default to <root>/logs/app.log*)
//   <root>/state/     data_dir (buffer.db, quarantine/)
//   <root>/lake/      the lake sink's path
//   <root>/agent.toml the configuration, rendered from AgentOptions
//   <root>/run/       the agent's stdout/stderr, appended across restarts with
//                     a "=== start N ===" line before each start
// Owns the agent process: it is SIGKILLed and reaped when the fixture goes
// away (a passing test stops it itself, and checks the exit status).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/lake_reader.h"
#include "tests/support/process.h"
#include "tests/support/prometheus.h"

namespace sluice::test {

// The settings a test varies; everything else takes the agent's defaults.
// The defaults here are the fast ones of the example in the test plan.
struct AgentOptions {
  std::vector<std::string> paths;  // empty: {"<root>/logs/app.log*"}
  std::string start_at = "beginning";
  std::string durability = "full";
  std::string overflow = "block";
  std::string buffer_max = "64MiB";
  std::string shutdown_timeout = "10s";
  std::string log_level = "info";
  std::string idle_flush = "500ms";
  std::string rotate_wait = "2s";
  std::string commit_interval = "200ms";
  std::string scan_interval;  // empty: the agent's default
  std::string batch_max_age = "1s";
  std::string batch_max_bytes = "32MiB";
  std::string retry_initial = "100ms";
  std::string retry_max = "2s";
  std::string retain;             // [agent] retain; empty: the agent's default (0s)
  std::string extra_source_toml;  // more lines for [sources.app]
  // When set, the whole body of [sources.app] (e.g. an MQTT source) instead
  // of the tail source the fields above describe.
  std::string source_toml;
  // When set, the sink's own keys (type and its settings, e.g. an S3 sink)
  // instead of the lake sink at <root>/lake; the batch and retry keys above
  // are added either way, and the sink keeps the name "lake".
  std::string sink_toml;
  // The lake sink's inputs (sources, transforms, "_events").
  std::vector<std::string> sink_inputs = {"app"};
  // [transforms.NAME] tables, verbatim.
  std::string transforms_toml;
  // Environment variables for the agent process (added to the test's own).
  std::vector<std::pair<std::string, std::string>> env;
};

// Quotes a string as a TOML basic string.
std::string TomlString(std::string_view s);

class AgentUnderTest {
 public:
  explicit AgentUnderTest(std::filesystem::path root, AgentOptions options = {});
  ~AgentUnderTest() = default;
  AgentUnderTest(const AgentUnderTest&) = delete;
  AgentUnderTest& operator=(const AgentUnderTest&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path logs() const { return root_ / "logs"; }
  std::filesystem::path data_dir() const { return root_ / "state"; }
  std::filesystem::path lake() const { return root_ / "lake"; }
  std::filesystem::path config_path() const { return root_ / "agent.toml"; }
  std::filesystem::path buffer_db() const { return data_dir() / "buffer.db"; }
  uint16_t metrics_port() const { return metrics_port_; }
  AgentOptions& options() { return options_; }

  // The configuration AgentOptions render to (also written to config_path()).
  std::string RenderConfig() const;
  void WriteConfig() const;

  // Starts `sluice agent --config <config_path()>`. With wait_ready, waits
  // until the metrics endpoint answers and fails the test (with the log) if
  // the agent exits or does not answer within 60 s.
  void Start(bool wait_ready = true);
  // SIGTERM, then waits up to `timeout` for the exit; nullopt (and the
  // agent SIGKILLed) when it did not exit in time.
  std::optional<ExitStatus> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ExitStatus Kill9();
  // Sends `sig` (SIGHUP: reload) to the running agent.
  void Signal(int sig);
  bool Running();
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  int starts() const { return starts_; }

  // The agent's stderr over every start so far, and since the last start.
  std::string Stderr() const;
  std::string StderrOfLastRun() const;
  // The last `lines` lines of Stderr(), for failure messages.
  std::string StderrTail(size_t lines = 40) const;

  std::optional<MetricsSnapshot> Metrics() const { return ScrapeMetrics(metrics_port_); }
  // A metric of the running agent; 0 when the series or the agent is absent.
  double Metric(std::string_view name, const Labels& labels = {}) const;

  // Polls the lake until it holds at least `n` lines (true) or `timeout`
  // passed (false). Counting only: a test audits the records afterwards.
  bool WaitForLakeLines(uint64_t n, std::chrono::milliseconds timeout);
  uint64_t LakeLines();
  // Polls the metrics until the agent looks caught up: every tailed file read
  // to its end (sluice_tail_bytes_behind 0), nothing in the buffer waiting for
  // a sink (sluice_sink_pending_batches 0), at least as many records
  // delivered in this run as read (more after a restart: what the run before
  // committed and did not deliver goes out again), and the records read not
  // moving for `quiet`. For tests whose expected lake content is not a simple
  // count. False when that did not happen within `timeout`.
  bool WaitUntilCaughtUp(std::chrono::milliseconds timeout,
                         std::chrono::milliseconds quiet = std::chrono::milliseconds(2000));

 private:
  std::filesystem::path root_;
  AgentOptions options_;
  uint16_t metrics_port_;
  int starts_ = 0;
  std::unique_ptr<Process> process_;
  LakeLineCounter lake_lines_;
};

}  // namespace sluice::test
