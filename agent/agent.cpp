#include "agent/agent.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "agent/sinks/sink_runner.h"
#include "agent/transforms/stream_writer.h"
#include "core/metrics/http_server.h"
#include "core/util/thread_name.h"
#include "core/util/working_set.h"

namespace sluice {
namespace {

// The liveness check behind AgentObserver::alive: a query through the
// buffer's locks for every sink. The status line on success, nullopt (and
// the reason logged) when the buffer did not answer.
std::optional<std::string> CheckAlive(Buffer& buffer, const AgentConfig& config, const Logger& log) {
  int64_t pending = 0;
  for (const SinkSpec& spec : config.sinks) {
    Result<PendingSummary> p = buffer.Pending(spec.name);
    if (!p.ok()) {
      log->warn("liveness check: the buffer did not answer for sink {}: {}", spec.name, p.status().message());
      return std::nullopt;
    }
    pending += p->batches;
  }
  return std::to_string(config.sources.size()) + " sources, " + std::to_string(config.sinks.size()) + " sinks, " +
         std::to_string(pending) + " batches pending";
}

}  // namespace

Status RunAgent(const AgentConfig& config, Logger log, std::stop_token stop, std::stop_token abort,
                const AgentObserver& observer) {
  MetricsRegistry metrics;
  Result<std::unique_ptr<Buffer>> opened = Buffer::Open(config.buffer, ChildLogger(log, "buffer"), metrics);
  if (!opened.ok()) return opened.status();
  Buffer& buffer = *opened.value();

  std::vector<std::unique_ptr<Sink>> sinks;
  for (const SinkSpec& spec : config.sinks) {
    if (Status s = buffer.RegisterSink(spec.name, spec.inputs); !s.ok()) return s;
    sinks.push_back(
        spec.build(SinkContext{ChildLogger(log, spec.type + " " + spec.name), &metrics, config.buffer.dir}));
  }

  // Transforms: one factory each for this run; sources build their own
  // instances through it (agent/transforms/stream_writer.h).
  std::set<std::string, std::less<>> stored;
  for (const SinkSpec& spec : config.sinks) stored.insert(spec.inputs.begin(), spec.inputs.end());
  Result<TransformTopology> built =
      BuildTransformTopology(config.transforms, std::move(stored), config.host, &metrics, log, &buffer);
  if (!built.ok()) return built.status();
  TransformTopology& topology = built.value();
  if (!config.transforms.empty()) {
    // State a transform saved with a source's checkpoints (schema fingerprints).
    for (const SourceSpec& spec : config.sources) {
      Result<std::map<std::string, std::string>> cps = buffer.LoadCheckpoints(spec.name);
      if (!cps.ok()) return cps.status();
      std::set<std::string> seen;
      std::vector<std::string> todo{spec.name};
      while (!todo.empty()) {
        const std::string in = std::move(todo.back());
        todo.pop_back();
        auto c = topology.consumers.find(in);
        if (c == topology.consumers.end()) continue;
        for (const std::string& t : c->second) {
          if (!seen.insert(t).second) continue;
          topology.factories.at(t)->Restore(spec.name, cps.value());
          todo.push_back(t);
        }
      }
    }
  }

  // A failed component records why and stops the agent.
  std::mutex failure_mu;
  Status failure;
  std::stop_source internal_stop;
  const auto fail = [&](Status s) {
    std::lock_guard lock(failure_mu);
    if (failure.ok()) failure = std::move(s);
    internal_stop.request_stop();
  };

  std::unique_ptr<MetricsServer> server;
  std::atomic<int> running_sources{0};
  if (!config.metrics_address.empty()) {
    Result<std::unique_ptr<MetricsServer>> started =
        MetricsServer::Start(config.metrics_address, metrics, [&]() -> Health {
          if (internal_stop.stop_requested()) return {false, R"({"status":"stopping"})"};
          return {true, R"({"status":"ok","sources_running":)" + std::to_string(running_sources.load()) + "}"};
        });
    if (!started.ok()) return started.status();
    server = std::move(started).value();
    log->info("metrics on http://{}/metrics", config.metrics_address);
  }

  std::stop_source source_stop, sink_drain, sink_abort;
  std::vector<std::jthread> sink_threads;
  std::vector<std::unique_ptr<SinkRunner>> runners;
  for (size_t i = 0; i < sinks.size(); ++i) {
    runners.push_back(std::make_unique<SinkRunner>(
        *sinks[i], buffer, metrics, ChildLogger(log, "sink " + sinks[i]->name()), config.sinks[i].retry));
    sink_threads.emplace_back([&, runner = runners.back().get(), name = sinks[i]->name()] {
      SetThreadName("sink:" + name);
      runner->Run(sink_drain.get_token(), sink_abort.get_token());
    });
  }

  SourceContext ctx{&buffer, &metrics, log, config.host};
  if (!config.transforms.empty()) ctx.transforms = &topology;
  std::vector<std::unique_ptr<Source>> sources;
  for (const SourceSpec& spec : config.sources) {
    SourceContext c = ctx;
    c.log = ChildLogger(log, spec.type + " " + spec.name);
    sources.push_back(spec.build(c));
  }
  std::vector<std::jthread> source_threads;
  for (auto& src : sources) {
    running_sources.fetch_add(1);
    source_threads.emplace_back([&, s = src.get()] {
      SetThreadName("src:" + s->name());
      Status st = s->Run(source_stop.get_token());
      running_sources.fetch_sub(1);
      if (!st.ok() && st.code() != ErrorCode::kCancelled) {
        fail(Status(st.code(), "source " + s->name() + ": " + st.message()));
      }
    });
  }
  log->info("agent running: {} sources, {} sinks, buffer {}", sources.size(), sinks.size(), buffer.path().string());

  if (observer.running) observer.running();

  // Wait for a stop request (a signal) or an internal failure.
  {
    using Clock = std::chrono::steady_clock;
    // Every 10 s, hand memory freed since (after a burst or a backlog) back to
    // the OS: glibc keeps it otherwise, and RSS would stay at the burst's peak.
    constexpr std::chrono::milliseconds kTrimEvery{10'000};
    const bool report_alive = observer.alive && observer.alive_every.count() > 0;
    // The first comes sooner, when the start-up is over: it also gives back
    // the start-up's code pages (working_set.h).
    constexpr std::chrono::milliseconds kStartupOver{3'000};
    Clock::time_point next_trim = Clock::now() + kStartupOver;
    bool startup_released = false;
    Clock::time_point next_alive = report_alive ? Clock::now() : Clock::time_point::max();
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    std::stop_callback on_internal(internal_stop.get_token(), [&] { cv.notify_all(); });
    do {
      const Clock::time_point now = Clock::now();
      if (now >= next_alive) {
        if (std::optional<std::string> status = CheckAlive(buffer, config, log)) observer.alive(*status);
        next_alive = now + observer.alive_every;
      }
      if (now >= next_trim) {
        malloc_trim(0);
        if (!startup_released) {
          startup_released = true;
          if (Result<ReleasedPages> r = ReleaseCleanFileMappings(); r.ok()) {
            log->debug("released {} KiB of start-up code pages ({} mappings)", r->resident_bytes / 1024, r->mappings);
          }
        }
        next_trim = now + kTrimEvery;
      }
    } while (!cv.wait_until(lock, stop, std::min(next_trim, next_alive), [&] {
      return internal_stop.stop_requested();
    }) && !stop.stop_requested());
  }
  if (observer.stopping) observer.stopping();

  log->info("stopping: sources commit what they have read");
  source_stop.request_stop();
  source_threads.clear();  // joins

  log->info("stopping: sinks deliver what is pending (at most {} ms)", config.shutdown_timeout.count());
  sink_drain.request_stop();
  {
    // Abort the drain on timeout or on a second signal.
    std::jthread watchdog([&](std::stop_token done) {
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      std::stop_callback on_abort(abort, [&] { cv.notify_all(); });
      cv.wait_for(lock, done, config.shutdown_timeout, [&] { return abort.stop_requested(); });
      if (!done.stop_requested()) {
        log->warn("shutdown_timeout reached: undelivered batches stay in the buffer for the next start");
        sink_abort.request_stop();
      }
    });
    sink_threads.clear();  // joins
    watchdog.request_stop();
  }
  log->info("stopped");
  std::lock_guard lock(failure_mu);
  return failure;
}

}  // namespace sluice
