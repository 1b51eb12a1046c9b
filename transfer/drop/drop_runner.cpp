#include "transfer/drop/drop_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "core/backoff.h"
#include "core/util/wall_clock.h"
#include "transfer/drop/completeness.h"
#include "transfer/drop/lander.h"
#include "transfer/drop/landing.h"
#include "transfer/drop/sidecar.h"
#include "transfer/open_endpoint.h"
#include "transfer/rel_path.h"

namespace sluice::transfer::drop {
namespace {

constexpr size_t kSidecarLimit = 64 * 1024;

// JoinPath that also takes an empty directory or name ("" is the root).
std::string Join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (name.empty()) return std::string(dir);
  return JoinPath(dir, name);
}

// Runs f(0..n-1) on up to `threads` threads (the caller's included).
template <class F>
void ForEachParallel(size_t n, int threads, F&& f) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) f(i);
  };
  const size_t extra = std::min<size_t>(n, static_cast<size_t>(std::max(threads, 1))) - (n > 0 ? 1 : 0);
  std::vector<std::jthread> pool;
  pool.reserve(extra);
  for (size_t i = 0; i < extra; ++i) pool.emplace_back(worker);
  worker();
}

bool Transient(const Status& s) {
  return s.code() == ErrorCode::kUnavailable || s.code() == ErrorCode::kIo || s.code() == ErrorCode::kNoSpace;
}

// A finished row whose source file was left in the inbox: the same identity
// seen again is that same file, not a new upload.
bool SourceLeftInPlace(const FileRow& row) {
  return row.post_action.starts_with("kept") || row.post_action.starts_with("left");
}

}  // namespace

void StopFlag::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

bool StopFlag::WaitFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [&] { return stopped_.load(); });
}

struct DropRunner::Work {
  FileRow row;
  bool companions_known = false;
  std::vector<std::string> sidecars;  // inbox-relative
  std::string marker;
  LandResult land;
  std::string quarantine_reason;  // set: this file goes to quarantine
  bool forget = false;            // not the file that was claimed any more: drop the row
  Status error;                   // a failure to retry later
};

DropRunner::DropRunner(DropSpec spec, std::unique_ptr<Ledger> ledger, LandedLog* landed_log, MetricsRegistry* metrics,
                       Logger log, StopFlag* stop)
    : spec_(std::move(spec)),
      layout_(ResolveSourceLayout(spec_.source, spec_.move_to, spec_.failed_to).value()),
      ledger_(std::move(ledger)),
      landed_log_(landed_log),
      log_(std::move(log)),
      stop_(stop),
      m_seen_(metrics->GetCounter("sluice_drop_files_seen_total", "data files that appeared in the inbox",
                                  {{"drop", spec_.name}})),
      m_landed_(metrics->GetCounter("sluice_drop_files_landed_total", "files landed in the destination",
                                    {{"drop", spec_.name}})),
      m_duplicates_(metrics->GetCounter("sluice_drop_files_duplicate_total",
                                        "re-uploads whose content had already landed", {{"drop", spec_.name}})),
      m_quarantined_(metrics->GetCounter("sluice_drop_files_quarantined_total", "files put in quarantine",
                                         {{"drop", spec_.name}})),
      m_bytes_(metrics->GetCounter("sluice_drop_landed_bytes_total", "bytes landed", {{"drop", spec_.name}})),
      m_errors_(
          metrics->GetCounter("sluice_drop_poll_errors_total", "polls stopped by an error", {{"drop", spec_.name}})),
      m_post_failures_(metrics->GetCounter("sluice_drop_post_action_failures_total",
                                           "moves/deletes on the source that failed (retried)",
                                           {{"drop", spec_.name}})),
      m_waiting_(metrics->GetGauge("sluice_drop_files_waiting", "data files not complete yet", {{"drop", spec_.name}})),
      m_oldest_age_(metrics->GetGauge("sluice_drop_oldest_waiting_age_seconds",
                                      "age of the oldest file waiting (since first seen)", {{"drop", spec_.name}})),
      m_up_(metrics->GetGauge("sluice_drop_up", "1 when the last poll reached the source and destination",
                              {{"drop", spec_.name}})) {}

DropRunner::~DropRunner() = default;

std::string DropRunner::SourcePath(const std::string& inbox_relative) const {
  return Join(layout_.inbox, inbox_relative);
}

std::string DropRunner::LandingPath(const FileRow& row, int version) const {
  LandingInput in{spec_.name, row.path, row.date, version, spec_.decompress && !CompressionSuffix(row.path).empty()};
  return ExpandLandingTemplate(spec_.land_as, in);
}

Status DropRunner::Connect() {
  EndpointOptions options;
  options.sftp = spec_.sftp;
  options.s3 = spec_.s3;
  if (!source_) {
    Result<OpenedSource> src = OpenSource(layout_.root_url, options);
    if (!src.ok()) return src.status();
    if (!src.value().only.empty()) return Status::InvalidArgument(spec_.source + ": is a file, not a directory");
    source_ = std::move(src.value().endpoint);
  }
  if (!dest_) {
    Result<std::unique_ptr<Endpoint>> dst = OpenDestination(spec_.destination, options);
    if (!dst.ok()) return dst.status();
    dest_ = std::move(dst).value();
  }
  return Status::Ok();
}

Status DropRunner::ListInbox(std::vector<ListedFile>& out) {
  std::vector<std::string> dirs{""};
  while (!dirs.empty()) {
    const std::string dir = std::move(dirs.back());
    dirs.pop_back();
    Status s = source_->List(SourcePath(dir), [&](const EntryInfo& e) -> Status {
      const std::string path = Join(dir, e.name);
      if (e.type == EntryType::kFile) {
        out.push_back({path, e.size, e.mtime_ns});
      } else if (e.type == EntryType::kDirectory && spec_.recursive) {
        dirs.push_back(path);
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

std::vector<std::string> DropRunner::FindCompanions(const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& t : spec_.sidecars) {
    const std::string sc = CompanionPath(t, path);
    if (source_->Stat(SourcePath(sc)).ok()) out.push_back(sc);
  }
  return out;
}

Status DropRunner::VerifySidecars(Work& w, const std::string& sha256, const std::string& md5) {
  for (const std::string& sc : w.sidecars) {
    Result<std::string> content = ReadSmallFile(*source_, SourcePath(sc), kSidecarLimit);
    if (!content.ok()) {
      if (content.status().code() == ErrorCode::kNotFound) continue;  // withdrawn: nothing to check against
      if (content.status().code() == ErrorCode::kInvalidArgument) {
        w.quarantine_reason = fmt::format("sidecar {}: {}", sc, content.status().message());
        return Status::Ok();
      }
      return content.status();
    }
    const SidecarKind kind = SidecarKindOf(sc);
    Result<std::string> digest = ParseSidecarDigest(content.value(), kind, NameOf(w.row.path));
    if (!digest.ok()) {
      w.quarantine_reason = fmt::format("sidecar {}: {}", sc, digest.status().message());
      return Status::Ok();
    }
    const std::string& actual = kind == SidecarKind::kMd5 ? md5 : sha256;
    if (digest.value() != actual) {
      w.quarantine_reason = fmt::format("checksum mismatch: sidecar {} says {} {}, the file's is {}", sc,
                                        SidecarKindName(kind), digest.value(), actual);
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status DropRunner::CopyStage(std::vector<Work>& work, CycleOutcome& outcome) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < work.size(); ++i) {
    if (work[i].row.state == FileState::kClaimed && work[i].quarantine_reason.empty()) todo.push_back(i);
  }
  if (todo.empty()) return Status::Ok();
  const size_t max_name = dest_->capabilities().max_name_bytes;
  ForEachParallel(todo.size(), spec_.transfers, [&](size_t k) {
    Work& w = work[todo[k]];
    if (stop_->stopped()) {
      w.error = Status::Cancelled("stopping");
      return;
    }
    if (!w.companions_known) {
      w.sidecars = FindCompanions(w.row.path);
      w.companions_known = true;
    }
    LandRequest req;
    req.source_path = SourcePath(w.row.path);
    req.size = w.row.size;
    req.mtime_ns = w.row.mtime_ns;
    req.temp_path = TempPathFor(w.row.landed_path, max_name);
    req.decompress = spec_.decompress && !CompressionSuffix(w.row.path).empty();
    req.md5 = std::any_of(w.sidecars.begin(), w.sidecars.end(),
                          [](const std::string& s) { return SidecarKindOf(s) == SidecarKind::kMd5; });
    req.verify = spec_.verify;
    req.cancel = stop_->flag();
    w.land = CopyToTemp(*source_, *dest_, req);
    if (w.land.status.ok()) {
      if (Status s = VerifySidecars(w, w.land.sha256, w.land.md5); !s.ok()) w.error = s;
      if (!w.quarantine_reason.empty()) (void)dest_->Remove(req.temp_path);
    } else if (w.land.source_changed) {
      w.forget = true;
    } else if (w.land.status.code() == ErrorCode::kCorrupt) {
      w.quarantine_reason = w.land.status.message();
      (void)dest_->Remove(req.temp_path);
    } else {
      w.error = w.land.status;
    }
  });

  if (Status s = ledger_->Begin(); !s.ok()) return s;
  for (size_t i : todo) {
    Work& w = work[i];
    FileRow& row = w.row;
    Status s;
    if (w.forget) {
      log_->info("{}: changed or gone since it was listed; it will be taken once it is complete again", row.path);
      s = ledger_->Delete(row.id);
    } else if (!w.error.ok()) {
      // Cancelled: resumed next run. Unreachable: the cycle backs off and the
      // file waits; an outage is not the file's fault and never quarantines it.
      if (w.error.code() == ErrorCode::kCancelled || w.error.code() == ErrorCode::kUnavailable) continue;
      ++row.attempts;
      if (row.attempts >= spec_.max_attempts) {
        w.quarantine_reason = fmt::format("failed {} times; last: {}", row.attempts, w.error.message());
      } else {
        log_->warn("{}: attempt {} of {} failed: {}", row.path, row.attempts, spec_.max_attempts, w.error.message());
      }
      s = ledger_->Update(row);
    } else if (w.quarantine_reason.empty()) {
      row.sha256 = w.land.sha256;
      row.landed_bytes = w.land.landed_bytes;
      std::optional<FileRow> same;
      if (spec_.dedupe != Dedupe::kOff) {
        Result<std::optional<FileRow>> found =
            ledger_->FindLandedContent(spec_.name, row.sha256, row.path, spec_.dedupe == Dedupe::kAnyName, row.id);
        if (!found.ok())
          s = found.status();
        else
          same = found.value();
      }
      if (same) {
        (void)dest_->Remove(TempPathFor(row.landed_path, max_name));
        row.state = FileState::kDuplicate;
        row.reason = fmt::format("same content as #{} ({}, landed as {})", same->id, same->path, same->landed_path);
        row.landed_path.clear();
        row.landed_bytes = 0;
        ++outcome.duplicates;
        m_duplicates_.Inc();
      } else if (s.ok()) {
        row.state = FileState::kCopied;
      }
      if (s.ok()) s = ledger_->Update(row);
    }
    if (!s.ok()) {
      ledger_->Rollback();
      return s;
    }
  }
  if (Status s = ledger_->Commit(); !s.ok()) return s;
  std::erase_if(work, [](const Work& w) { return w.forget; });
  return Status::Ok();
}

Status DropRunner::QuarantineStage(std::vector<Work>& work, CycleOutcome& outcome) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < work.size(); ++i) {
    if (!work[i].quarantine_reason.empty() && work[i].row.state != FileState::kQuarantined) todo.push_back(i);
  }
  if (todo.empty()) return Status::Ok();
  const size_t max_name = dest_->capabilities().max_name_bytes;
  ForEachParallel(todo.size(), spec_.transfers, [&](size_t k) {
    Work& w = work[todo[k]];
    w.error = Status::Ok();
    const std::string qpath = fmt::format("quarantine/{}/{}_{}", spec_.name, w.row.id, NameOf(w.row.path));
    LandRequest req;
    req.source_path = SourcePath(w.row.path);
    req.size = w.row.size;
    req.mtime_ns = w.row.mtime_ns;
    req.temp_path = TempPathFor(qpath, max_name);
    req.verify = VerifyLanded::kSize;
    req.cancel = stop_->flag();
    LandResult copy = CopyToTemp(*source_, *dest_, req);
    std::string copied = "yes";
    if (copy.status.ok()) {
      if (Status s = dest_->Rename(req.temp_path, qpath); !s.ok()) {
        w.error = s;
        return;
      }
      if (w.row.sha256.empty()) w.row.sha256 = copy.sha256;
    } else if (copy.source_changed) {
      copied = "no: the source changed or is gone";
    } else if (Transient(copy.status) || copy.status.code() == ErrorCode::kCancelled) {
      w.error = copy.status;
      return;
    } else {
      copied = "no: " + copy.status.message();
    }
    const std::string reason = fmt::format(
        "drop: {}\nsource: {}\nsize: {}\nmtime_ns: {}\nsha256: {}\nquarantined_at_ms: {}\ncopy_here: {}\nreason: {}\n",
        spec_.name, Join(spec_.source, w.row.path), w.row.size, w.row.mtime_ns, w.row.sha256, WallClockMs(), copied,
        w.quarantine_reason);
    if (Status s = WriteSmallFile(*dest_, qpath + ".reason", reason); !s.ok()) w.error = s;
  });
  if (Status s = dest_->Flush(); !s.ok()) return s;
  if (Status s = ledger_->Begin(); !s.ok()) return s;
  for (size_t i : todo) {
    Work& w = work[i];
    if (!w.error.ok()) continue;  // retried next cycle
    w.row.state = FileState::kQuarantined;
    w.row.reason = w.quarantine_reason;
    w.row.landed_path.clear();
    w.row.landed_bytes = 0;
    if (Status s = ledger_->Update(w.row); !s.ok()) {
      ledger_->Rollback();
      return s;
    }
    ++outcome.quarantined;
    m_quarantined_.Inc();
    log_->warn("{}: quarantined: {}", w.row.path, w.quarantine_reason);
  }
  return ledger_->Commit();
}

Status DropRunner::LandStage(std::vector<Work>& work) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < work.size(); ++i) {
    if (work[i].row.state == FileState::kCopied) todo.push_back(i);
  }
  if (todo.empty()) return Status::Ok();
  const size_t max_name = dest_->capabilities().max_name_bytes;
  enum class Next { kRenamed, kWasRenamed, kForeign, kRecopy, kError };
  std::vector<Next> next(todo.size(), Next::kError);
  auto try_land = [&](size_t k) {
    Work& w = work[todo[k]];
    const std::string temp = TempPathFor(w.row.landed_path, max_name);
    Result<EntryInfo> final_info = dest_->Stat(w.row.landed_path);
    if (!final_info.ok() && final_info.status().code() != ErrorCode::kNotFound) {
      w.error = final_info.status();
      return;
    }
    Result<EntryInfo> temp_info = dest_->Stat(temp);
    if (!temp_info.ok() && temp_info.status().code() != ErrorCode::kNotFound) {
      w.error = temp_info.status();
      return;
    }
    if (final_info.ok()) {
      // Ours, renamed just before a crash, when the temporary file is gone;
      // somebody else's otherwise: never overwrite it.
      next[k] = temp_info.ok() ? Next::kForeign : Next::kWasRenamed;
      return;
    }
    if (!temp_info.ok()) {
      next[k] = Next::kRecopy;
      return;
    }
    if (Status s = dest_->Rename(temp, w.row.landed_path); !s.ok()) {
      w.error = s;
      return;
    }
    next[k] = Next::kRenamed;
  };
  ForEachParallel(todo.size(), spec_.transfers, try_land);

  // Foreign files at the landing path: move the reservation, then land there.
  std::vector<size_t> foreign;
  for (size_t k = 0; k < todo.size(); ++k) {
    if (next[k] == Next::kForeign) foreign.push_back(k);
  }
  if (!foreign.empty()) {
    if (Status s = ledger_->Begin(); !s.ok()) return s;
    std::vector<std::string> old_temps;
    for (size_t k : foreign) {
      FileRow& row = work[todo[k]].row;
      old_temps.push_back(TempPathFor(row.landed_path, max_name));
      log_->warn("{}: {} already exists and is not ours; landing as the next version", row.path, row.landed_path);
      Status s = ledger_->Rereserve(row, [&](int v) { return LandingPath(row, v); });
      if (s.ok()) s = ledger_->Update(row);
      if (!s.ok()) {
        ledger_->Rollback();
        return s;
      }
    }
    if (Status s = ledger_->Commit(); !s.ok()) return s;
    for (size_t j = 0; j < foreign.size(); ++j) {
      Work& w = work[todo[foreign[j]]];
      Status s = dest_->Rename(old_temps[j], TempPathFor(w.row.landed_path, max_name));
      if (s.ok()) s = dest_->Rename(TempPathFor(w.row.landed_path, max_name), w.row.landed_path);
      if (s.ok())
        next[foreign[j]] = Next::kRenamed;
      else
        w.error = s;
    }
  }

  if (Status s = dest_->Flush(); !s.ok()) return s;
  if (Status s = ledger_->Begin(); !s.ok()) return s;
  uint64_t bytes = 0;
  int landed = 0;
  for (size_t k = 0; k < todo.size(); ++k) {
    FileRow& row = work[todo[k]].row;
    if (next[k] == Next::kRenamed || next[k] == Next::kWasRenamed) {
      row.state = FileState::kLanded;
      bytes += row.landed_bytes;
      ++landed;
    } else if (next[k] == Next::kRecopy) {
      log_->warn("{}: its copied file {} is gone; copying it again", row.path, TempPathFor(row.landed_path, max_name));
      row.state = FileState::kClaimed;
    } else {
      continue;
    }
    if (Status s = ledger_->Update(row); !s.ok()) {
      ledger_->Rollback();
      return s;
    }
  }
  if (Status s = ledger_->Commit(); !s.ok()) return s;
  m_landed_.Inc(static_cast<uint64_t>(landed));
  m_bytes_.Inc(bytes);
  return Status::Ok();
}

Status DropRunner::LogStage() {
  Result<std::vector<FileRow>> rows = ledger_->Unlogged(spec_.name);
  if (!rows.ok()) return rows.status();
  if (rows.value().empty()) return Status::Ok();
  if (Status s = landed_log_->Append(rows.value()); !s.ok()) return s;
  if (Status s = ledger_->Begin(); !s.ok()) return s;
  for (FileRow& row : rows.value()) {
    if (Status s = ledger_->MarkLogged(row.id); !s.ok()) {
      ledger_->Rollback();
      return s;
    }
  }
  return ledger_->Commit();
}

Status DropRunner::PostActionStage(std::vector<Work>& work, CycleOutcome& outcome) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < work.size(); ++i) {
    const FileState st = work[i].row.state;
    if (!work[i].row.finished &&
        (st == FileState::kLanded || st == FileState::kDuplicate || st == FileState::kQuarantined)) {
      todo.push_back(i);
    }
  }
  if (todo.empty()) return Status::Ok();
  std::mutex dirs_mu;
  std::set<std::string> dirs_made;
  std::vector<uint8_t> done(todo.size(), 0);  // not vector<bool>: workers write elements concurrently
  ForEachParallel(todo.size(), spec_.transfers, [&](size_t k) {
    Work& w = work[todo[k]];
    w.error = Status::Ok();
    FileRow& row = w.row;
    const std::string src = SourcePath(row.path);
    Result<EntryInfo> info = source_->Stat(src);
    if (!info.ok()) {
      if (info.status().code() != ErrorCode::kNotFound) {
        w.error = info.status();
        return;
      }
      row.post_action = "gone: not in the inbox any more";
      done[k] = 1;
      return;
    }
    if (info.value().size != row.size || info.value().mtime_ns != row.mtime_ns) {
      row.post_action = "left in place: it changed since it was taken (a new version)";
      done[k] = 1;
      return;
    }
    const bool quarantined = row.state == FileState::kQuarantined;
    const AfterAction action =
        quarantined ? (layout_.failed_to.empty() ? AfterAction::kKeep : AfterAction::kMove) : spec_.after;
    if (action == AfterAction::kKeep) {
      row.post_action = quarantined ? "left in place (quarantined; no failed_to)" : "kept";
      done[k] = 1;
      return;
    }
    if (!w.companions_known) {
      w.sidecars = FindCompanions(row.path);
      w.companions_known = true;
    }
    std::vector<std::string> companions = w.sidecars;
    if (!spec_.done_marker.empty()) companions.push_back(CompanionPath(spec_.done_marker, row.path));
    if (action == AfterAction::kDelete) {
      if (Status s = source_->Remove(src); !s.ok()) {
        w.error = s;
        return;
      }
      for (const std::string& c : companions) (void)source_->Remove(SourcePath(c));
      row.post_action = "deleted";
      done[k] = 1;
      return;
    }
    const std::string dir = Join(quarantined ? layout_.failed_to : layout_.move_to, ParentOf(row.path));
    {
      std::unique_lock lock(dirs_mu);
      if (dirs_made.count(dir) == 0) {
        lock.unlock();
        if (Status s = source_->MakeDirectory(dir); !s.ok()) {
          w.error = s;
          return;
        }
        lock.lock();
        dirs_made.insert(dir);
      }
    }
    // Never overwrite an earlier upload of the same name in processed/.
    std::string suffix;
    if (source_->Stat(Join(dir, NameOf(row.path))).ok()) suffix = fmt::format(".{}", row.id);
    const std::string target = Join(dir, NameOf(row.path) + suffix);
    if (Status s = source_->Rename(src, target); !s.ok()) {
      w.error = s;
      return;
    }
    for (const std::string& c : companions) {
      (void)source_->Rename(SourcePath(c), Join(dir, NameOf(c) + suffix));
    }
    row.post_action = "moved to " + target;
    done[k] = 1;
  });

  if (Status s = ledger_->Begin(); !s.ok()) return s;
  for (size_t k = 0; k < todo.size(); ++k) {
    Work& w = work[todo[k]];
    if (!done[k]) {
      ++outcome.post_action_failures;
      m_post_failures_.Inc();
      log_->warn("{}: {} on the source failed (retried next poll; not landed again): {}", w.row.path,
                 w.row.state == FileState::kQuarantined ? "moving it to failed_to" : "the post-action",
                 w.error.message());
      continue;
    }
    w.row.finished = true;
    Status s = ledger_->Update(w.row);
    // Gone from the inbox: forget its observation, so a new upload under the
    // same name is a new file, not one that "changed" (which --once leaves).
    if (s.ok() && !w.row.post_action.starts_with("kept") && !w.row.post_action.starts_with("left")) {
      s = ledger_->RemoveObservation(spec_.name, w.row.path);
    }
    if (!s.ok()) {
      ledger_->Rollback();
      return s;
    }
  }
  return ledger_->Commit();
}

Status DropRunner::ProcessRows(std::vector<Work>& work, CycleOutcome& outcome) {
  if (Status s = CopyStage(work, outcome); !s.ok()) return s;
  if (Status s = QuarantineStage(work, outcome); !s.ok()) return s;
  const int before = static_cast<int>(m_landed_.value());
  if (Status s = LandStage(work); !s.ok()) return s;
  outcome.landed += static_cast<int>(m_landed_.value()) - before;
  if (Status s = LogStage(); !s.ok()) return s;
  if (Status s = PostActionStage(work, outcome); !s.ok()) return s;
  // A lost connection stops the cycle (backoff); other per-file failures
  // were recorded and are retried by the next one.
  for (const Work& w : work) {
    if (w.error.code() == ErrorCode::kUnavailable || w.error.code() == ErrorCode::kCancelled) return w.error;
  }
  return Status::Ok();
}

CycleOutcome DropRunner::RunCycle() {
  CycleOutcome out;
  auto fail = [&](Status s) {
    out.status = std::move(s);
    return out;
  };
  if (Status s = Connect(); !s.ok()) return fail(s);

  // Finish what an earlier cycle or run left half-done.
  Result<std::vector<FileRow>> unfinished = ledger_->Unfinished(spec_.name);
  if (!unfinished.ok()) return fail(unfinished.status());
  for (size_t at = 0; at < unfinished.value().size() && !stop_->stopped();) {
    std::vector<Work> work;
    for (; at < unfinished.value().size() && work.size() < static_cast<size_t>(spec_.batch); ++at) {
      Work w;
      w.row = std::move(unfinished.value()[at]);
      work.push_back(std::move(w));
    }
    if (Status s = ProcessRows(work, out); !s.ok()) return fail(s);
  }

  std::vector<ListedFile> listing;
  if (Status s = ListInbox(listing); !s.ok()) return fail(s);
  Result<std::map<std::string, Observation>> previous = ledger_->Observations(spec_.name);
  if (!previous.ok()) return fail(previous.status());
  const int64_t now = WallClockMs();
  InboxAssessment a = AssessInbox(listing, previous.value(), now, spec_);
  if (!a.put.empty() || !a.removed.empty()) {
    if (Status s = ledger_->Begin(); !s.ok()) return fail(s);
    for (const Observation& o : a.put) {
      Status s = ledger_->PutObservation(spec_.name, o);
      if (s.ok() && o.first_seen_ms == now && !IsCompanionName(NameOf(o.path), spec_)) m_seen_.Inc();
      if (!s.ok()) {
        ledger_->Rollback();
        return fail(s);
      }
    }
    for (const std::string& p : a.removed) {
      if (Status s = ledger_->RemoveObservation(spec_.name, p); !s.ok()) {
        ledger_->Rollback();
        return fail(s);
      }
    }
    if (Status s = ledger_->Commit(); !s.ok()) return fail(s);
  }
  out.waiting = a.waiting;
  out.waiting_unchanged = a.waiting_unchanged;

  // New files: those the ledger has no row for (or only a finished one whose
  // source went away: this is a new upload under the same name and mtime).
  std::vector<Work> fresh;
  for (ReadyFile& r : a.ready) {
    Result<std::optional<FileRow>> known = ledger_->FindByIdentity(spec_.name, r.path, r.size, r.mtime_ns);
    if (!known.ok()) return fail(known.status());
    if (known.value() && (!known.value()->finished || SourceLeftInPlace(*known.value()))) continue;
    Work w;
    w.row.drop = spec_.name;
    w.row.path = r.path;
    w.row.size = r.size;
    w.row.mtime_ns = r.mtime_ns;
    w.row.first_seen_ms = r.first_seen_ms;
    w.sidecars = std::move(r.sidecars);
    w.marker = std::move(r.marker);
    w.companions_known = true;
    fresh.push_back(std::move(w));
  }
  for (size_t at = 0; at < fresh.size() && !stop_->stopped();) {
    std::vector<Work> batch;
    for (; at < fresh.size() && batch.size() < static_cast<size_t>(spec_.batch); ++at) {
      batch.push_back(std::move(fresh[at]));
    }
    if (Status s = ledger_->Begin(); !s.ok()) return fail(s);
    const int64_t claimed = WallClockMs();
    for (Work& w : batch) {
      w.row.claimed_ms = claimed;
      w.row.date = UtcDate(claimed);
      if (Status s = ledger_->Claim(w.row, [&](int v) { return LandingPath(w.row, v); }); !s.ok()) {
        ledger_->Rollback();
        return fail(s);
      }
    }
    if (Status s = ledger_->Commit(); !s.ok()) return fail(s);
    if (Status s = ProcessRows(batch, out); !s.ok()) return fail(s);
  }
  ObserveMetrics(out, a.oldest_waiting_first_seen_ms);
  if (out.landed + out.duplicates + out.quarantined > 0) {
    log_->info("landed {} file(s), {} duplicate(s), {} quarantined; {} waiting", out.landed, out.duplicates,
               out.quarantined, out.waiting);
  }
  return out;
}

void DropRunner::ObserveMetrics(const CycleOutcome& outcome, int64_t oldest_waiting_first_seen_ms) {
  m_waiting_.Set(outcome.waiting);
  m_oldest_age_.Set(oldest_waiting_first_seen_ms == 0
                        ? 0.0
                        : static_cast<double>(WallClockMs() - oldest_waiting_first_seen_ms) / 1000.0);
}

void DropRunner::Run() {
  Backoff backoff(std::chrono::milliseconds(1000), std::max(spec_.poll, std::chrono::milliseconds(300000)));
  bool failing = false;
  while (!stop_->stopped()) {
    CycleOutcome out = RunCycle();
    if (stop_->stopped()) break;
    if (!out.status.ok()) {
      m_up_.Set(0);
      m_errors_.Inc();
      const std::chrono::milliseconds delay = backoff.Next();
      if (!failing || backoff.attempts() % 10 == 0) {
        log_->warn("poll failed: {}; retrying in {} ms (attempt {})", out.status.message(), delay.count(),
                   backoff.attempts());
      }
      failing = true;
      // A broken connection is dropped by the endpoint's pool; a source that
      // could not be opened at all is opened again next time.
      if (stop_->WaitFor(delay)) break;
      continue;
    }
    if (failing) log_->info("reachable again after {} failed poll(s)", backoff.attempts());
    failing = false;
    backoff.Reset();
    m_up_.Set(1);
    if (stop_->WaitFor(spec_.poll)) break;
  }
}

Status DropRunner::RunOnce() {
  for (;;) {
    CycleOutcome out = RunCycle();
    if (!out.status.ok()) {
      m_up_.Set(0);
      return out.status;
    }
    m_up_.Set(1);
    if (stop_->stopped()) return Status::Cancelled("stopped");
    if (out.waiting_unchanged == 0) {
      if (out.post_action_failures > 0) {
        return Status::Io(
            fmt::format("{} post-action(s) on the source failed (retried next run; the files are "
                        "landed and will not be landed again)",
                        out.post_action_failures));
      }
      return Status::Ok();
    }
    if (stop_->WaitFor(std::min(spec_.poll, spec_.stable_for))) return Status::Cancelled("stopped");
  }
}

}  // namespace sluice::transfer::drop
