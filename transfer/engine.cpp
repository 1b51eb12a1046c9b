#include "transfer/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice::transfer {
namespace {

using Clock = std::chrono::steady_clock;

std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

ReportEntry EntryFor(const Action& a) {
  ReportEntry e;
  e.path = a.path;
  e.action = ActionName(a.kind);
  e.reason = a.reason;
  if (a.kind == ActionKind::kCopyFile || a.kind == ActionKind::kUpToDate) e.bytes = a.source.size;
  return e;
}

class Run {
 public:
  Run(Endpoint& source, Endpoint& dest, const TransferOptions& options, ProgressObserver* progress,
      const std::atomic<bool>* cancel)
      : src_(source), dst_(dest), o_(options), progress_(progress), cancel_(cancel) {}

  Result<TransferReport> Go() {
    const Clock::time_point start = Clock::now();
    report_.command = o_.command;
    report_.source = src_.url();
    report_.destination = dst_.url();
    report_.hash_algorithm = std::string(HashName(o_.copy.hash));
    report_.dry_run = o_.dry_run;
    report_.started_at = NowRfc3339();

    Result<Plan> planned = MakePlan(src_, dst_, o_.plan);
    if (!planned.ok()) return planned.status();
    const Plan& plan = planned.value();
    if (progress_ != nullptr) progress_->OnPlanned(plan.files_to_copy, plan.bytes_to_copy, plan.failures);

    if (o_.dry_run) {
      for (const Action& a : plan.actions) {
        ReportEntry e = EntryFor(a);
        e.outcome = a.kind == ActionKind::kFail       ? "failed"
                    : a.kind == ActionKind::kUpToDate ? "up-to-date"
                    : a.kind == ActionKind::kSkip     ? "skipped"
                                                      : "planned";
        if (a.kind == ActionKind::kFail) e.error = a.reason;
        Record(std::move(e));
      }
      return Finish(start);
    }

    if (Status s = dst_.MakeDirectory(""); !s.ok()) {
      return Status(s.code(), fmt::format("cannot create the destination {}: {}", dst_.url(), s.message()));
    }
    std::vector<const Action*> files;
    const bool implicit_dirs = dst_.capabilities().implicit_directories;
    for (size_t i = 0; i < plan.actions.size(); ++i) {
      const Action& a = plan.actions[i];
      switch (a.kind) {
        case ActionKind::kMakeDirectory: {
          ReportEntry e = EntryFor(a);
          // Where directories are key prefixes (S3), one that will hold
          // something (the plan lists its contents right after it) comes into
          // being with its contents; only an empty one needs a marker.
          const Action* next = i + 1 < plan.actions.size() ? &plan.actions[i + 1] : nullptr;
          const bool filled = implicit_dirs && next != nullptr && next->path.starts_with(a.path + "/") &&
                              (next->kind == ActionKind::kCopyFile || next->kind == ActionKind::kMakeDirectory);
          const Status s = filled ? Status::Ok() : dst_.MakeDirectory(a.path);
          Outcome(e, s, "created");
          Record(std::move(e));
          break;
        }
        case ActionKind::kCopyFile:
          files.push_back(&a);
          break;
        case ActionKind::kUpToDate:
        case ActionKind::kSkip:
        case ActionKind::kFail: {
          ReportEntry e = EntryFor(a);
          e.outcome = a.kind == ActionKind::kUpToDate ? "up-to-date"
                      : a.kind == ActionKind::kSkip   ? "skipped"
                                                      : "failed";
          if (a.kind == ActionKind::kFail) e.error = a.reason;
          Record(std::move(e));
          break;
        }
        case ActionKind::kSymlink:
        case ActionKind::kDelete:
          break;  // later phases
      }
    }

    CopyFiles(files);

    for (const Action& a : plan.actions) {
      if (a.kind != ActionKind::kSymlink) continue;
      ReportEntry e = EntryFor(a);
      if (Cancelled()) {
        e.outcome = "cancelled";
      } else {
        Outcome(e, CopySymlink(dst_, a), "created");
      }
      Record(std::move(e));
    }

    const bool clean = !Failed();
    for (const Action& a : plan.actions) {
      if (a.kind != ActionKind::kDelete) continue;
      ReportEntry e = EntryFor(a);
      if (Cancelled()) {
        e.outcome = "cancelled";
      } else if (!clean) {
        e.outcome = "skipped";
        e.error = "not deleted: other entries failed, and a sync that failed deletes nothing";
      } else {
        Outcome(e, dst_.Remove(a.path), "deleted");
      }
      Record(std::move(e));
    }

    // Directory mtimes (and --owners) last, deepest first: filling a
    // directory changed its mtime.
    for (auto it = plan.actions.rbegin(); it != plan.actions.rend(); ++it) {
      if (it->kind == ActionKind::kMakeDirectory && !Cancelled()) FinishDirectory(*it);
    }
    // Every new name durable before success is reported (endpoint.h: Flush).
    if (Status s = dst_.Flush(); !s.ok()) {
      ReportEntry e;
      e.action = "flush";
      e.outcome = "failed";
      e.error = fmt::format("cannot make the new names durable: {}", s.message());
      Record(std::move(e));
    }
    return Finish(start);
  }

 private:
  bool Cancelled() const { return cancel_ != nullptr && cancel_->load(); }
  bool Failed() {
    std::lock_guard lock(mu_);
    return report_.totals.files_failed > 0;
  }

  // A new directory's mtime, and its owner under --owners (in one request
  // where the endpoint can). Best effort, as the mtime always was; a refused
  // owner becomes a warning on the directory's entry.
  void FinishDirectory(const Action& a) {
    const EndpointCapabilities caps = dst_.capabilities();
    FileAttributes attrs;
    attrs.mtime_ns = a.source.mtime_ns;
    const bool owner = o_.copy.owners && caps.owners && a.source.uid.has_value() && a.source.gid.has_value();
    if (owner) {
      attrs.uid = a.source.uid;
      attrs.gid = a.source.gid;
    }
    if (!owner) {
      (void)dst_.SetTimes(a.path, a.source.mtime_ns);
      return;
    }
    const Status s = dst_.SetAttributes(a.path, attrs);

    if (s.code() != ErrorCode::kPermissionDenied) return;
    (void)dst_.SetTimes(a.path, a.source.mtime_ns);
    std::lock_guard lock(mu_);
    for (ReportEntry& e : report_.entries) {
      if (e.path != a.path || e.action != "mkdir" || !e.warning.empty()) continue;
      e.warning = fmt::format("owner {}:{} not kept: {}", *a.source.uid, *a.source.gid, s.message());
      ++report_.totals.warnings;
      break;
    }
  }

  static void Outcome(ReportEntry& e, const Status& s, const char* ok_outcome) {
    if (s.ok()) {
      e.outcome = ok_outcome;
    } else {
      e.outcome = "failed";
      e.error = s.message();
    }
  }

  void Record(ReportEntry e) {
    {
      std::lock_guard lock(mu_);
      ReportTotals& t = report_.totals;
      if (!e.warning.empty()) ++t.warnings;
      if (e.failed()) {
        ++t.files_failed;
      } else if (e.outcome == "copied") {
        ++t.files_copied;
        t.bytes_copied += e.bytes;
        t.bytes_written += e.bytes_written;
      } else if (e.outcome == "up-to-date") {
        if (e.action == "copy" || e.action == "up-to-date") ++t.files_up_to_date;
      } else if (e.outcome == "created") {
        if (e.action == "mkdir") ++t.dirs_created;
        if (e.action == "symlink") ++t.symlinks;
      } else if (e.outcome == "deleted") {
        ++t.deleted;
      } else if (e.outcome == "skipped") {
        ++t.skipped;
      }
    }
    if (progress_ != nullptr) progress_->OnEntry(e);
    std::lock_guard lock(mu_);
    report_.entries.push_back(std::move(e));
  }

  void CopyFiles(const std::vector<const Action*>& files) {
    CopyOptions copy = o_.copy;
    copy.cancel = cancel_;
    if (progress_ != nullptr) copy.on_bytes = [this](int64_t n) { progress_->OnBytes(n); };
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (;;) {
        const size_t i = next.fetch_add(1);
        if (i >= files.size()) return;
        const Action& a = *files[i];
        ReportEntry e = EntryFor(a);
        if (Cancelled()) {
          e.outcome = "cancelled";
          Record(std::move(e));
          continue;
        }
        const FileResult r = CopyFile(src_, dst_, a, copy);
        e.outcome = FileOutcomeName(r.outcome);
        e.bytes = r.size;
        e.bytes_written = r.bytes_written;
        e.resumed_from = r.resumed_from;
        e.hash = r.hash;
        e.verified_by = r.verified_by;
        e.attempts = r.attempts;
        e.duration_ms = r.duration.count();
        e.error = r.error;
        e.warning = r.warning;
        Record(std::move(e));
      }
    };
    const int n = std::max(1, std::min<int>(o_.transfers, static_cast<int>(files.size())));
    std::vector<std::thread> threads;
    for (int i = 1; i < n; ++i) threads.emplace_back(worker);
    worker();
    for (std::thread& t : threads) t.join();
  }

  Result<TransferReport> Finish(Clock::time_point start) {
    report_.interrupted = Cancelled();
    report_.totals.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    if (progress_ != nullptr) progress_->OnFinished(report_);
    return std::move(report_);
  }

  Endpoint& src_;
  Endpoint& dst_;
  const TransferOptions& o_;
  ProgressObserver* progress_;
  const std::atomic<bool>* cancel_;
  std::mutex mu_;
  TransferReport report_;
};

}  // namespace

Result<TransferReport> RunTransfer(Endpoint& source, Endpoint& dest, const TransferOptions& options,
                                   ProgressObserver* progress, const std::atomic<bool>* cancel) {
  return Run(source, dest, options, progress, cancel).Go();
}

}  // namespace sluice::transfer
