#include "agent/sources/tail/tail_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "agent/buffer/batch_builder.h"
#include "agent/record/json_record.h"
#include "agent/sources/tail/dir_watcher.h"
#include "agent/sources/tail/file_finder.h"
#include "agent/sources/tail/file_identity.h"
#include "agent/sources/tail/file_tailer.h"
#include "agent/sources/tail/line_regex.h"
#include "core/backoff.h"

namespace sluice {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class TailSource final : public Source {
 public:
  TailSource(std::string name, TailConfig config, SourceContext ctx);
  const std::string& name() const override { return name_; }
  Status Run(std::stop_token stop) override;

 private:
  // What the last successful commit stored for a file.
  struct Committed {
    uint64_t offset = 0;
    bool mid_line = false;
    Fingerprint fp;
    std::string seen;
  };
  struct Tracked {
    std::unique_ptr<FileTailer> tailer;
    std::string path;  // discovered under: the records' "path"
    std::string seen;  // where it was last seen
    bool detached = false;  // renamed out of the globs or deleted: finish, then close
    bool deleted = false;
    bool read_error_logged = false;
    uint64_t splits_counted = 0;  // of tailer->splits(), already added to the metric
    std::optional<Committed> committed;
  };
  struct PendingCommit {
    EncodedBatch batch;
    std::vector<CheckpointUpdate> updates;
    std::vector<std::pair<FileId, Committed>> apply;
  };

  Status Setup(Clock::time_point now);
  void Restore(const FileCheckpoint& cp, const std::map<FileId, const FoundFile*>& found, Clock::time_point now);
  // Opens and tracks a file. `resume` (may be null) is where to resume if
  // the file still matches it; `committed` says whether that is what the
  // buffer holds (a checkpoint) or only where to start (a copy).
  bool Open(const std::string& path, const std::string& seen, FileId expect, const FileCheckpoint* resume,
            bool committed, bool detached, Clock::time_point now);
  // After `seen` was found truncated at `tr.offset`: reads the rest of what
  // it held from a copytruncate copy in the same directory, if there is one
  // the globs have not already picked up.
  void RecoverFromCopy(const std::string& path, const std::string& seen, const FileTailer::Truncation& tr,
                       Clock::time_point now);
  void OnTruncated(Tracked& t, Clock::time_point now);
  void Scan(Clock::time_point now);
  // One round over all files; returns whether some file has more to read.
  bool ReadRound(Clock::time_point now, std::stop_token stop, Status* error);
  void Timers(Clock::time_point now);
  void Close(std::map<FileId, Tracked>::iterator it, const char* why);
  bool CommitDue(Clock::time_point now) const;
  // Builds (if needed) and commits the pending batch. On an error other than
  // kCancelled the batch stays pending and is retried as it is.
  Status Commit(std::stop_token stop);
  void MarkDirty(Clock::time_point now) {
    if (!dirty_since_) dirty_since_ = now;
  }
  FileTailer::Emit EmitFor(const std::string& path, Clock::time_point now);
  void CountSplits(Tracked& t);
  void UpdateGauges();
  void Wait(Clock::time_point deadline, std::stop_token stop);
  Clock::time_point NextWake(Clock::time_point now) const;

  std::string name_;
  TailConfig config_;
  SourceContext ctx_;
  Logger log_;
  TailerOptions tailer_options_;
  std::optional<LineRegex> multiline_;

  std::map<FileId, Tracked> files_;
  std::vector<std::string> closed_keys_;        // checkpoints to delete in the next commit
  std::vector<CheckpointUpdate> extra_updates_;  // e.g. the "started" marker, lost files
  bool initial_ = false;  // first start ever: start_at applies to files found now
  bool force_commit_ = false;
  std::optional<Clock::time_point> dirty_since_;
  bool rescan_ = true;

  BatchBuilder builder_;
  JsonRecordEncoder encoder_;
  std::optional<PendingCommit> pending_;
  std::string read_buf_;

  std::unique_ptr<DirWatcher> watcher_;
  UniqueFd wake_fd_;

  std::unique_ptr<MetricsRegistry> own_metrics_;  // when the context has none (tests)
  Counter* records_ = nullptr;
  Counter* bytes_ = nullptr;
  Counter* splits_ = nullptr;
  Counter* truncations_ = nullptr;
  Counter* lost_ = nullptr;
  Gauge* files_open_ = nullptr;
  std::set<FileId> open_failed_;  // logged once, until it opens

  std::mutex behind_mu_;
  std::map<std::string, double> behind_;  // path -> bytes behind, for the collector
  CollectorHandle collector_;  // last: removed before the state it reads
};

TailSource::TailSource(std::string name, TailConfig config, SourceContext ctx)
    : name_(std::move(name)), config_(std::move(config)), ctx_(std::move(ctx)) {
  log_ = ctx_.log ? ctx_.log : std::make_shared<spdlog::logger>("tail " + name_);
  tailer_options_.max_line = static_cast<size_t>(config_.max_line);
  tailer_options_.idle_flush = config_.idle_flush;
  tailer_options_.multiline_timeout = config_.multiline_timeout;
  tailer_options_.fingerprint_bytes = static_cast<uint32_t>(config_.fingerprint_bytes);
  if (config_.multiline_start) {
    Result<LineRegex> re = LineRegex::Compile(*config_.multiline_start);
    // ParseTailConfig validated it; a failure here is a programming error.
    if (re.ok()) multiline_.emplace(std::move(re).value());
  }
  read_buf_.resize(static_cast<size_t>(config_.read_buffer));

  MetricsRegistry* m = ctx_.metrics;
  if (m == nullptr) {
    own_metrics_ = std::make_unique<MetricsRegistry>();
    m = own_metrics_.get();
  }
  const Labels labels{{"source", name_}};
  records_ = &m->GetCounter("sluice_source_records_total", "Records read by a source", labels);
  bytes_ = &m->GetCounter("sluice_source_bytes_total", "Raw bytes read by a source", labels);
  splits_ = &m->GetCounter("sluice_tail_split_lines_total", "Lines longer than max_line, split into parts", labels);
  truncations_ =
      &m->GetCounter("sluice_tail_truncations_total", "Tailed files truncated or rewritten in place", labels);
  lost_ = &m->GetCounter("sluice_tail_lost_files_total",
                         "Checkpointed files that were gone at restart, possibly with unread lines", labels);
  files_open_ = &m->GetGauge("sluice_tail_files_open", "Files a tail source holds open", labels);
  collector_ = m->AddCollector([this](MetricWriter& w) {
    std::lock_guard lock(behind_mu_);
    for (const auto& [path, behind] : behind_) {
      w.Gauge("sluice_tail_bytes_behind", "Bytes of a tailed file not yet committed to the buffer",
              {{"source", name_}, {"path", path}}, behind);
    }
  });
}

FileTailer::Emit TailSource::EmitFor(const std::string& path, Clock::time_point now) {
  return [this, &path, now](const TailRecord& r) {
    const int64_t ts = NowMs();
    encoder_.AppendLogLine(builder_.staging(), ts, name_, ctx_.host, path, r.bytes);
    builder_.EndRecord(ts);
    records_->Inc();
    MarkDirty(now);
  };
}

bool TailSource::Open(const std::string& path, const std::string& seen, FileId expect, const FileCheckpoint* cp,
                      bool committed_cp, bool detached, Clock::time_point now) {
  UniqueFd fd(::open(seen.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    // Gone between the directory walk and open: the next scan settles it.
    // Other errors (permissions) are logged once per file, not every scan.
    if (errno != ENOENT && open_failed_.insert(expect).second) {
      log_->warn("cannot open {}: {}", seen, std::strerror(errno));
    }
    return false;
  }
  open_failed_.erase(expect);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const FileId id{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  if (id != expect || files_.count(id) != 0) return false;  // replaced meanwhile; the next scan sees the new one
  const auto size = static_cast<uint64_t>(st.st_size);

  uint64_t offset = 0;
  bool mid_line = false;
  Fingerprint fp;
  std::optional<Committed> committed;
  std::optional<FileTailer::Truncation> truncated;
  if (cp != nullptr) {
    if (committed_cp) committed = Committed{cp->offset, cp->mid_line, cp->fp, cp->seen};
    Result<FingerprintCheck> check = CheckFingerprint(fd.get(), cp->fp);
    if (!check.ok()) {
      log_->warn("cannot read {}: {}", seen, check.status().message());
      return false;
    }
    if (*check == FingerprintCheck::kSame && size >= cp->offset) {
      offset = cp->offset;
      mid_line = cp->mid_line;
      fp = cp->fp;
    } else {
      truncations_->Inc();
      truncated = FileTailer::Truncation{cp->offset, cp->mid_line, cp->fp};
      if (*check == FingerprintCheck::kChanged) {
        log_->info("{} is not the file checkpointed under its inode any more (inode reused or rewritten): reading "
                   "it from the beginning",
                   seen);
      } else {
        log_->info("{} was truncated while stopped (size {} < offset {}): reading it from the beginning", seen, size,
                   cp->offset);
      }
    }
  } else if (initial_ && config_.start_at == TailConfig::StartAt::kEnd) {
    offset = size;
  }
  if (fp.len == 0) {
    Result<Fingerprint> computed = ComputeFingerprint(fd.get(), size, tailer_options_.fingerprint_bytes);
    if (!computed.ok()) {
      log_->warn("cannot read {}: {}", seen, computed.status().message());
      return false;
    }
    fp = *computed;
  }
  Tracked t;
  t.path = path;
  t.seen = seen;
  t.detached = detached;
  t.committed = std::move(committed);
  t.tailer = std::make_unique<FileTailer>(std::move(fd), id, offset, mid_line, fp, tailer_options_,
                                          multiline_ ? &*multiline_ : nullptr, now);
  log_->info("opened {}{} at offset {} of {}", seen, seen == path ? "" : " (discovered as " + path + ")", offset,
             size);
  files_.emplace(id, std::move(t));
  MarkDirty(now);
  if (truncated) RecoverFromCopy(path, seen, *truncated, now);
  return true;
}

void TailSource::RecoverFromCopy(const std::string& path, const std::string& seen, const FileTailer::Truncation& tr,
                                 Clock::time_point now) {
  if (tr.offset == 0) return;
  for (const FileCopy& copy : FindCopies(DirName(seen), tr.fp, tr.offset)) {
    if (files_.count(copy.id) != 0) continue;  // already tracked (it matches the globs, or is the file itself)
    FileCheckpoint resume{path, copy.path, copy.id, tr.fp, tr.offset, tr.mid_line, 0};
    log_->info("{} is a copy of {} made before it was truncated (copytruncate): reading it from offset {}",
               copy.path, seen, tr.offset);
    if (Open(path, copy.path, copy.id, &resume, /*committed=*/false, /*detached=*/true, now)) return;
  }
}

void TailSource::OnTruncated(Tracked& t, Clock::time_point now) {
  truncations_->Inc();
  log_->info("{} was truncated or rewritten in place: reading it again from the beginning", t.seen);
  MarkDirty(now);
  if (std::optional<FileTailer::Truncation> tr = t.tailer->TakeTruncation()) {
    const std::string path = t.path;
    const std::string seen = t.seen;
    RecoverFromCopy(path, seen, *tr, now);
  }
}

void TailSource::Restore(const FileCheckpoint& cp, const std::map<FileId, const FoundFile*>& found,
                         Clock::time_point now) {
  std::optional<std::string> where;
  bool detached = false;
  if (auto it = found.find(cp.id); it != found.end()) {
    where = it->second->path;
  } else {
    where = FindByInode(DirName(cp.seen), cp.id);
    detached = true;
  }
  if (where && Open(cp.path, *where, cp.id, &cp, /*committed=*/true, detached, now)) return;
  lost_->Inc();
  if (cp.size > cp.offset) {
    log_->warn("{} (checkpointed as {}) is gone: at least {} bytes of it were never read", cp.path, cp.seen,
               cp.size - cp.offset);
  } else {
    log_->warn("{} (checkpointed as {}) is gone; it had been read to offset {}, anything written after is lost",
               cp.path, cp.seen, cp.offset);
  }
  closed_keys_.push_back(FileKey(cp.id));
  force_commit_ = true;
}

Status TailSource::Setup(Clock::time_point now) {
  Result<std::map<std::string, std::string>> stored = ctx_.buffer->LoadCheckpoints(name_);
  if (!stored.ok()) return stored.status();
  initial_ = stored->count(std::string(kStartedKey)) == 0;

  const FindResult found = FindFiles(config_.paths, config_.exclude);
  if (watcher_) watcher_->SetDirectories(found.dirs);
  std::map<FileId, const FoundFile*> by_id;
  for (const FoundFile& f : found.files) by_id.emplace(f.id, &f);

  for (const auto& [key, value] : *stored) {
    if (!key.starts_with("file:")) continue;
    Result<FileCheckpoint> cp = DecodeCheckpoint(value);
    if (!cp.ok() || FileKey(cp->id) != key) {
      log_->warn("dropping unreadable checkpoint {}: {}", key, cp.ok() ? "key mismatch" : cp.status().message());
      closed_keys_.push_back(key);
      force_commit_ = true;
      continue;
    }
    Restore(*cp, by_id, now);
  }
  for (const FoundFile& f : found.files) {
    if (files_.count(f.id) == 0) Open(f.path, f.path, f.id, nullptr, false, false, now);
  }
  if (initial_) {
    // From now on start_at no longer applies: files found after this are new.
    extra_updates_.push_back({std::string(kStartedKey), "1"});
    force_commit_ = true;
  }
  initial_ = false;
  rescan_ = false;
  return Status::Ok();
}

void TailSource::Scan(Clock::time_point now) {
  const FindResult found = FindFiles(config_.paths, config_.exclude);
  if (watcher_) watcher_->SetDirectories(found.dirs);
  std::map<FileId, const FoundFile*> by_id;
  for (const FoundFile& f : found.files) by_id.emplace(f.id, &f);

  for (auto& [id, t] : files_) {
    const FileTailer::Emit emit = EmitFor(t.path, now);
    Result<FileTailer::CheckResult> check = t.tailer->Check(emit);
    if (!check.ok()) {
      log_->warn("cannot check {}: {}", t.seen, check.status().message());
      continue;
    }
    if (check->truncated) OnTruncated(t, now);
    if (check->fingerprint_grew) MarkDirty(now);
    t.deleted = check->deleted;
    auto it = by_id.find(id);
    if (it != by_id.end()) {
      if (it->second->path != t.seen) {
        log_->info("{} was renamed to {}", t.seen, it->second->path);
        t.seen = it->second->path;
        MarkDirty(now);
      }
      t.detached = false;
    } else if (!t.detached) {
      t.detached = true;
      log_->info("{} was {}: finishing it", t.seen, t.deleted ? "deleted" : "rotated away (renamed out of the globs)");
    }
  }
  for (const FoundFile& f : found.files) {
    if (files_.count(f.id) == 0) Open(f.path, f.path, f.id, nullptr, false, false, now);
  }
}

bool TailSource::ReadRound(Clock::time_point now, std::stop_token stop, Status* error) {
  bool more = false;
  for (auto& [id, t] : files_) {
    Result<FileTailer::ReadResult> r =
        t.tailer->Read(std::span<char>(read_buf_.data(), read_buf_.size()), read_buf_.size(), now, EmitFor(t.path, now));
    if (!r.ok()) {
      if (!t.read_error_logged) log_->warn("cannot read {}: {}", t.seen, r.status().message());
      t.read_error_logged = true;
      continue;
    }
    t.read_error_logged = false;
    bytes_->Inc(r->bytes);
    CountSplits(t);
    if (r->truncated) OnTruncated(t, now);
    more = more || r->more;
    if (builder_.raw_bytes() >= config_.batch_bytes) {
      *error = Commit(stop);
      if (!error->ok()) return false;
    }
  }
  return more;
}

void TailSource::Close(std::map<FileId, Tracked>::iterator it, const char* why) {
  Tracked& t = it->second;
  t.tailer->FlushAll(EmitFor(t.path, Clock::now()));
  CountSplits(t);
  log_->info("closed {} ({}) at offset {}", t.seen, why, t.tailer->read_offset());
  closed_keys_.push_back(FileKey(it->first));
  files_.erase(it);
  force_commit_ = true;
}

void TailSource::Timers(Clock::time_point now) {
  for (auto it = files_.begin(); it != files_.end();) {
    Tracked& t = it->second;
    t.tailer->OnTimers(now, EmitFor(t.path, now));
    auto next = std::next(it);
    if (t.detached && t.tailer->IdleAtEof(now, config_.rotate_wait)) Close(it, t.deleted ? "deleted" : "rotated");
    it = next;
  }
  for (auto& [id, t] : files_) CountSplits(t);
}

void TailSource::CountSplits(Tracked& t) {
  const uint64_t splits = t.tailer->splits();
  if (splits > t.splits_counted) splits_->Inc(splits - t.splits_counted);
  t.splits_counted = splits;
}

bool TailSource::CommitDue(Clock::time_point now) const {
  if (force_commit_) return true;
  if (builder_.raw_bytes() >= config_.batch_bytes) return true;
  return dirty_since_ && now - *dirty_since_ >= config_.commit_interval;
}

Status TailSource::Commit(std::stop_token stop) {
  if (!pending_) {
    Result<EncodedBatch> batch = builder_.Finish();
    if (!batch.ok()) return Status::Internal("tail source " + name_ + ": " + batch.status().message());
    PendingCommit p;
    p.batch = std::move(batch).value();
    p.updates = std::move(extra_updates_);
    extra_updates_.clear();
    for (std::string& key : closed_keys_) p.updates.push_back({std::move(key), std::nullopt});
    closed_keys_.clear();
    for (const auto& [id, t] : files_) {
      Committed c{t.tailer->record_offset(), t.tailer->record_mid_line(), t.tailer->fingerprint(), t.seen};
      if (t.committed && t.committed->offset == c.offset && t.committed->mid_line == c.mid_line &&
          t.committed->fp == c.fp && t.committed->seen == c.seen) {
        continue;
      }
      FileCheckpoint cp{t.path, t.seen, id, c.fp, c.offset, c.mid_line, t.tailer->size()};
      p.updates.push_back({FileKey(id), EncodeCheckpoint(cp)});
      p.apply.emplace_back(id, std::move(c));
    }
    pending_ = std::move(p);
    dirty_since_.reset();
    force_commit_ = false;
  }
  if (pending_->batch.empty() && pending_->updates.empty()) {
    pending_.reset();
    return Status::Ok();
  }
  Status s = ctx_.buffer->Commit(name_, pending_->batch, pending_->updates, stop);
  if (!s.ok()) return s;
  for (auto& [id, c] : pending_->apply) {
    if (auto it = files_.find(id); it != files_.end()) it->second.committed = std::move(c);
  }
  pending_.reset();
  UpdateGauges();
  return Status::Ok();
}

void TailSource::UpdateGauges() {
  files_open_->Set(static_cast<double>(files_.size()));
  // Keyed by where the file is now; a deleted file still being finished and
  // its successor share a path, and a series must appear once.
  std::map<std::string, double> behind;
  for (const auto& [id, t] : files_) {
    const uint64_t committed = t.committed ? t.committed->offset : 0;
    const uint64_t size = t.tailer->size();
    behind[t.seen] += static_cast<double>(size > committed ? size - committed : 0);
  }
  std::lock_guard lock(behind_mu_);
  behind_ = std::move(behind);
}

Clock::time_point TailSource::NextWake(Clock::time_point now) const {
  Clock::time_point wake = now + config_.scan_interval;
  if (dirty_since_) wake = std::min(wake, *dirty_since_ + config_.commit_interval);
  for (const auto& [id, t] : files_) {
    if (auto d = t.tailer->NextDeadline()) wake = std::min(wake, *d);
    // A finishing file is closed once idle at its end for rotate_wait.
    if (t.detached) wake = std::min(wake, now + std::max(milliseconds(10), config_.rotate_wait / 4));
  }
  return std::max(wake, now);
}

void TailSource::Wait(Clock::time_point deadline, std::stop_token stop) {
  if (stop.stop_requested()) return;
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  pollfd fds[2];
  nfds_t n = 0;
  fds[n++] = pollfd{wake_fd_.get(), POLLIN, 0};
  if (watcher_) fds[n++] = pollfd{watcher_->fd(), POLLIN, 0};
  // Round up so we do not spin on sub-millisecond remainders.
  const int timeout = static_cast<int>(std::clamp<int64_t>(left.count() + 1, 0, 60'000));
  if (::poll(fds, n, timeout) > 0 && watcher_ && (fds[1].revents & POLLIN) != 0) {
    const DirWatcher::Events ev = watcher_->Drain();
    if (ev.changed) rescan_ = true;
  }
}

Status TailSource::Run(std::stop_token stop) {
  wake_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_.valid()) return Status::FromErrno(errno, "tail source " + name_ + ": eventfd");
  std::stop_callback on_stop(stop, [fd = wake_fd_.get()] {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);
  });
  if (!config_.poll) {
    Result<std::unique_ptr<DirWatcher>> w = DirWatcher::Create(log_);
    if (w.ok()) {
      watcher_ = std::move(w).value();
    } else {
      log_->warn("inotify unavailable ({}); polling every {} ms", w.status().message(), config_.scan_interval.count());
    }
  }
  Clock::time_point now = Clock::now();
  if (Status s = Setup(now); !s.ok()) return s;
  UpdateGauges();
  Clock::time_point next_scan = now + config_.scan_interval;
  Backoff backoff(milliseconds(100), milliseconds(10'000));

  while (!stop.stop_requested()) {
    now = Clock::now();
    if (pending_) {
      // A failed commit is retried as it is before anything else is read.
      Status s = Commit(stop);
      if (s.code() == ErrorCode::kCancelled) return Status::Ok();
      if (!s.ok()) {
        const milliseconds delay = backoff.Next();
        log_->warn("commit failed, retrying in {} ms: {}", delay.count(), s.message());
        Wait(Clock::now() + delay, stop);
        continue;
      }
      backoff.Reset();
    }
    if (rescan_ || now >= next_scan) {
      Scan(now);
      rescan_ = false;
      next_scan = now + config_.scan_interval;
      UpdateGauges();
    }
    Status error;
    const bool more = ReadRound(now, stop, &error);
    if (error.code() == ErrorCode::kCancelled) return Status::Ok();
    if (!error.ok()) continue;  // pending_ is retried at the top of the loop
    Timers(now);
    if (CommitDue(now)) {
      Status s = Commit(stop);
      if (s.code() == ErrorCode::kCancelled) return Status::Ok();
      if (!s.ok()) continue;
    }
    if (!more) Wait(NextWake(Clock::now()), stop);
    if (watcher_ && more) {
      // Drain without waiting so inotify's queue cannot overflow under load.
      if (watcher_->Drain().changed) rescan_ = true;
    }
  }
  // Final commit of everything read (first a batch still pending from a failed
  // attempt, then the rest); pending partial lines and multiline records are
  // not covered and will be re-read after a restart.
  Status s = Commit(stop);
  if (s.ok()) s = Commit(stop);
  if (s.code() == ErrorCode::kCancelled) return Status::Ok();
  if (!s.ok()) {
    log_->error("final commit failed, the last lines will be read again after a restart: {}", s.message());
    return s;
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<Source> MakeTailSource(std::string name, TailConfig config, SourceContext ctx) {
  return std::make_unique<TailSource>(std::move(name), std::move(config), std::move(ctx));
}

}  // namespace sluice
