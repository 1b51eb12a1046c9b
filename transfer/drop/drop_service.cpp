#include "transfer/drop/drop_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <ostream>
#include <thread>

#include "core/config/units.h"
#include "core/metrics/http_server.h"
#include "core/util/wall_clock.h"
#include "transfer/drop/ledger.h"

namespace sluice::transfer::drop {
namespace {

std::string LedgerPath(const DropServiceConfig& c) { return c.data_dir + "/ledger.db"; }

// Held for the life of the service: flock is released by the kernel when the
// process dies, so a kill -9 never leaves a stale lock behind.
class DataDirLock {
 public:
  static Result<DataDirLock> Take(const std::string& dir) {
    const std::string path = dir + "/drop.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(errno, path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Status::Unavailable(fmt::format(
            "{}: another `sluice transfer drop` is running with this data_dir; two would land files twice", dir));
      }
      return Status::FromErrno(err, path + ": flock");
    }
    return DataDirLock(fd);
  }
  DataDirLock(DataDirLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  DataDirLock& operator=(DataDirLock&&) = delete;
  ~DataDirLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

std::string FormatAge(int64_t ms) {
  if (ms < 0) ms = 0;
  return FormatDuration(std::chrono::milliseconds(ms / 1000 * 1000));
}

}  // namespace

Status RunDropService(const DropServiceConfig& config, bool once, const Logger& log, StopFlag& stop) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::Io(fmt::format("{}: cannot create the data directory: {}", config.data_dir, ec.message()));
  Result<DataDirLock> lock = DataDirLock::Take(config.data_dir);
  if (!lock.ok()) return lock.status();
  Result<std::unique_ptr<LandedLog>> landed_log = LandedLog::Open(config.landed_log);
  if (!landed_log.ok()) return landed_log.status();

  MetricsRegistry metrics;
  std::vector<std::unique_ptr<DropRunner>> runners;
  for (const DropSpec& spec : config.drops) {
    Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(LedgerPath(config));
    if (!ledger.ok()) return ledger.status();
    runners.push_back(std::make_unique<DropRunner>(spec, std::move(ledger).value(), landed_log.value().get(), &metrics,
                                                   ChildLogger(log, "drop " + spec.name), &stop));
  }
  std::unique_ptr<MetricsServer> server;
  if (config.metrics) {
    Result<std::unique_ptr<MetricsServer>> started = MetricsServer::Start(*config.metrics, metrics, [] {
      return Health{true, R"({"status":"ok"})"};
    });
    if (!started.ok()) return started.status();
    server = std::move(started).value();
    log->info("metrics on http://{}/metrics", *config.metrics);
  }
  log->info("{} {} drop(s); ledger {}", once ? "one pass over" : "watching", runners.size(), LedgerPath(config));

  std::mutex mu;
  Status first_failure;
  {
    std::vector<std::jthread> threads;
    for (auto& r : runners) {
      threads.emplace_back([&, runner = r.get()] {
        if (!once) {
          runner->Run();
          return;
        }
        Status s = runner->RunOnce();
        if (!s.ok() && s.code() != ErrorCode::kCancelled) {
          std::lock_guard l(mu);
          if (first_failure.ok()) first_failure = Status(s.code(), "drop " + runner->spec().name + ": " + s.message());
        }
      });
    }
  }
  return first_failure;
}

Status PrintDropStatus(const DropServiceConfig& config, std::ostream& out, int recent) {
  const std::string path = LedgerPath(config);
  if (!std::filesystem::exists(path)) {
    out << fmt::format("no ledger yet at {}: the ingester has not run with this data_dir\n", path);
    return Status::Ok();
  }
  Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(path);
  if (!ledger.ok()) return ledger.status();
  const int64_t now = WallClockMs();
  for (const DropSpec& spec : config.drops) {
    Result<DropCounts> c = ledger.value()->Counts(spec.name);
    if (!c.ok()) return c.status();
    Result<std::map<std::string, Observation>> observed = ledger.value()->Observations(spec.name);
    if (!observed.ok()) return observed.status();
    out << fmt::format("drop {}  ({} -> {})\n", spec.name, spec.source, spec.destination);
    out << fmt::format("  landed {} ({}), duplicates {}, quarantined {}, in progress {}, post-action pending {}\n",
                       c.value().landed, FormatSize(c.value().landed_bytes), c.value().duplicate, c.value().quarantined,
                       c.value().in_progress, c.value().waiting_post_action);
    int64_t oldest = 0;
    for (const auto& [p, o] : observed.value()) {
      if (oldest == 0 || o.first_seen_ms < oldest) oldest = o.first_seen_ms;
    }
    out << fmt::format("  in the inbox at the last poll: {} file(s){}\n", observed.value().size(),
                       oldest == 0 ? "" : fmt::format(", first seen {} ago", FormatAge(now - oldest)));
    Result<std::vector<FileRow>> rows = ledger.value()->Recent(spec.name, recent);
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) out << "  recent:\n";
    for (const FileRow& r : rows.value()) {
      std::string detail;
      if (r.state == FileState::kLanded) detail = "-> " + r.landed_path;
      if (r.state == FileState::kDuplicate || r.state == FileState::kQuarantined) detail = r.reason;
      if (!r.post_action.empty()) detail += (detail.empty() ? "" : "; ") + r.post_action;
      out << fmt::format("    #{} {} ago  {:<11} {}  {}  {}\n", r.id, FormatAge(now - r.updated_ms),
                         std::string(FileStateName(r.state)) + (r.finished ? "" : "*"), r.path, FormatSize(r.size),
                         detail);
    }
  }
  out << "(* = a step is still to be done)\n";
  return Status::Ok();
}

}  // namespace sluice::transfer::drop
