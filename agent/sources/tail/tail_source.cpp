#include "agent/sources/tail/tail_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "agent/buffer/async_committer.h"
#include "agent/buffer/batch_builder.h"
#include "agent/record/json_record.h"
#include "agent/sources/tail/dir_watcher.h"
#include "agent/sources/tail/file_finder.h"
#include "agent/sources/tail/file_identity.h"
#include "agent/sources/tail/file_tailer.h"
#include "agent/transforms/stream_writer.h"
#include "core/backoff.h"
#include "core/util/pcre_regex.h"
#include "core/util/wall_clock.h"

namespace sluice {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class TailSource final : public Source {
 public:
  TailSource(std::string name, TailConfig config, SourceContext ctx, TailTestHooks hooks);
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
    std::string path;       // discovered under: the records' "path"
    std::string seen;       // where it was last seen
    bool detached = false;  // renamed out of the globs or deleted: finish, then close
    Clock::time_point detached_since{};
    bool deleted = false;
    bool read_error_logged = false;
    uint64_t splits_counted = 0;  // of tailer->splits(), already added to the metric
    std::optional<Committed> committed;
  };

  Status Setup(Clock::time_point now);
  void Restore(const FileCheckpoint& cp, const std::map<FileId, const FoundFile*>& found, Clock::time_point now);
  // Counts and forgets the checkpoints of files still not found by their deadline.
  void ExpireMissing(Clock::time_point now);
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
  // A file found by the globs with no checkpoint: opened from the start,
  // unless it is a copy of a tracked file (see OpenNew in the .cpp).
  void OpenNew(const FoundFile& f, Clock::time_point now);
  void Scan(Clock::time_point now);
  // One round over all files; returns whether some file has more to read.
  bool ReadRound(Clock::time_point now, std::stop_token stop, Status* error);
  void Timers(Clock::time_point now);
  void Close(std::map<FileId, Tracked>::iterator it, const char* why);
  bool CommitDue(Clock::time_point now) const;
  // Hands the batch read so far, with the checkpoints it reaches, to the
  // committer. Fails only with Cancelled or a batch that can never fit.
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
  TailTestHooks hooks_;
  Logger log_;
  TailerOptions tailer_options_;
  std::optional<PcreRegex> multiline_;

  std::map<FileId, Tracked> files_;
  std::vector<std::string> closed_keys_;         // checkpoints to delete in the next commit
  std::vector<CheckpointUpdate> extra_updates_;  // e.g. the "started" marker, lost files
  bool initial_ = false;                         // first start ever: start_at applies to files found now
  bool force_commit_ = false;
  std::optional<Clock::time_point> dirty_since_;
  bool rescan_ = true;

  // Before writer_: the writer's pipeline commits through it until the writer is gone.
  std::unique_ptr<AsyncCommitter> committer_;
  StreamWriter writer_;  // the source's stream and its transforms'
  JsonRecordEncoder encoder_;
  std::string read_buf_;

  std::unique_ptr<DirWatcher> watcher_;
  UniqueFd wake_fd_;

  std::unique_ptr<SourceMetrics> source_metrics_;
  Counter* records_ = nullptr;
  Counter* bytes_ = nullptr;
  Counter* splits_ = nullptr;
  Counter* truncations_ = nullptr;
  Counter* lost_ = nullptr;
  Gauge* files_open_ = nullptr;
  std::set<FileId> open_failed_;  // logged once, until it opens
  // New files whose first bytes equal a tracked file's: copies (copytruncate,
  // or cp) held back until their original is truncated or rotate_wait passes.
  struct HeldCopy {
    Clock::time_point since;
    FileId original;
    bool original_truncated = false;
  };
  std::map<FileId, HeldCopy> held_copies_;
  // What truncated files held before their truncation (newest last, a few
  // kept): a copy discovered after its original was truncated is recognised
  // by these first bytes.
  struct PastTruncation {
    std::string path;  // the original's path: the records' "path"
    FileTailer::Truncation tr;
  };
  std::deque<PastTruncation> past_truncations_;
  // Files closed while they still existed (rotated out of the globs), newest
  // last: if one comes back into the globs it resumes where it was closed.
  std::deque<FileCheckpoint> closed_files_;
  // Checkpointed files the startup scan did not find. Their checkpoints stay
  // in the buffer until the deadline: a listing raced by renames can miss a
  // file that is there, and a kill before a later scan finds it must not make
  // the next start read it from 0. Gone for good at the deadline: counted.
  struct MissingAtStart {
    FileCheckpoint checkpoint;
    Clock::time_point deadline;
  };
  std::vector<MissingAtStart> missing_at_start_;
  // Files the last scan left unopened (empty, or held as copies) are looked
  // at again soon after inotify reports a write, not only every scan_interval.
  bool waiting_untracked_ = false;
  bool modified_seen_ = false;
  // The tracked file whose first min(f.size, fingerprint_bytes) bytes equal f's, if any.
  std::optional<FileId> CopyOf(const FoundFile& f, Fingerprint* fp);

  std::mutex behind_mu_;
  std::map<std::string, double> behind_;  // path -> bytes behind, for the collector
  CollectorHandle collector_;             // last: removed before the state it reads
};

TailSource::TailSource(std::string name, TailConfig config, SourceContext ctx, TailTestHooks hooks)
    : name_(std::move(name)),
      config_(std::move(config)),
      ctx_(std::move(ctx)),
      hooks_(std::move(hooks)),
      log_(ctx_.log ? ctx_.log : std::make_shared<spdlog::logger>("tail " + name_)),
      writer_(name_, ctx_.transforms, log_) {
  committer_ = std::make_unique<AsyncCommitter>(*ctx_.buffer, name_, log_);
  tailer_options_.max_line = static_cast<size_t>(config_.max_line);
  tailer_options_.idle_flush = config_.idle_flush;
  tailer_options_.multiline_timeout = config_.multiline_timeout;
  tailer_options_.fingerprint_bytes = static_cast<uint32_t>(config_.fingerprint_bytes);
  if (config_.multiline_start) {
    Result<PcreRegex> re = PcreRegex::Compile(*config_.multiline_start);
    // ParseTailConfig validated it; a failure here is a programming error.
    if (re.ok()) multiline_.emplace(std::move(re).value());
  }
  read_buf_.resize(static_cast<size_t>(config_.read_buffer));

  source_metrics_ = std::make_unique<SourceMetrics>(ctx_.metrics, name_);
  MetricsRegistry* m = &source_metrics_->registry();
  const Labels& labels = source_metrics_->labels();
  records_ = &source_metrics_->records();
  bytes_ = &source_metrics_->bytes();
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
  // One wall-clock reading per call: every record emitted from one read was
  // read at the same moment (a clock call per line cost 4% of the agent's CPU).
  const int64_t ts = WallClockMs();
  return [this, &path, now, ts](const TailRecord& r) {
    if (writer_.direct()) {
      encoder_.AppendLogLine(writer_.staging(), ts, name_, ctx_.host, path, r.bytes);
      writer_.EndRecord(ts);
    } else {
      writer_.AddLogLine(ts, path, r.bytes);
    }
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
        log_->info(
            "{} is not the file checkpointed under its inode any more (inode reused or rewritten): reading "
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
  log_->info("opened {}{} at offset {} of {}", seen, seen == path ? "" : " (discovered as " + path + ")", offset, size);
  files_.emplace(id, std::move(t));
  MarkDirty(now);
  if (truncated) RecoverFromCopy(path, seen, *truncated, now);
  return true;
}

void TailSource::RecoverFromCopy(const std::string& path, const std::string& seen, const FileTailer::Truncation& tr,
                                 Clock::time_point now) {
  if (tr.offset == 0) return;
  past_truncations_.push_back({path, tr});
  if (past_truncations_.size() > 16) past_truncations_.pop_front();
  for (const FileCopy& copy : FindCopies(DirName(seen), tr.fp, tr.offset)) {
    if (files_.count(copy.id) != 0) continue;  // already tracked (it matches the globs, or is the file itself)
    FileCheckpoint resume{path, copy.path, copy.id, tr.fp, tr.offset, tr.mid_line, 0};
    log_->info("{} is a copy of {} made before it was truncated (copytruncate): reading it from offset {}", copy.path,
               seen, tr.offset);
    if (Open(path, copy.path, copy.id, &resume, /*committed=*/false, /*detached=*/true, now)) return;
  }
}

// copytruncate with copies that match the globs: logrotate copies app.log to
// app.log.1, then truncates app.log. If a scan finds the copy before the
// truncation, reading it from 0 would ship again every line already read
// from app.log. A new file whose first fingerprint_bytes equal a tracked
// file's (full-length) fingerprint is therefore held back: when the original
// is then found truncated, RecoverFromCopy opens the copy at the offset read
// from the original (only the lines the original lost are read from it). If
// no truncation follows within rotate_wait, it was a plain copy: everything
// in it has been or will be read through the original, so it is followed
// from its end.
std::optional<FileId> TailSource::CopyOf(const FoundFile& f, Fingerprint* fp) {
  const uint32_t k = static_cast<uint32_t>(std::min<uint64_t>(f.size, tailer_options_.fingerprint_bytes));
  if (k == 0) return std::nullopt;
  {
    UniqueFd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return std::nullopt;
    Result<Fingerprint> computed = ComputeFingerprint(fd.get(), f.size, k);
    if (!computed.ok() || computed->len != k) return std::nullopt;
    *fp = *computed;
  }
  for (const auto& [id, t] : files_) {
    const Fingerprint& theirs = t.tailer->fingerprint();
    if (theirs.len == k) {
      if (theirs == *fp) return id;
      continue;
    }
    if (theirs.len < k) continue;  // the tracked file is shorter than this one: not its copy
    // Compare with the same number of the tracked file's leading bytes, read
    // through its own descriptor: its path may name another file by now.
    Result<Fingerprint> prefix = ComputeFingerprint(t.tailer->fd(), theirs.len, k);
    if (prefix.ok() && *prefix == *fp) return id;
  }
  return std::nullopt;
}

void TailSource::OpenNew(const FoundFile& f, Clock::time_point now) {
  for (auto it = closed_files_.rbegin(); it != closed_files_.rend(); ++it) {
    if (it->id != f.id) continue;
    const FileCheckpoint resume = *it;
    // Open checks the fingerprint: a reused inode is read from 0.
    log_->info("{} was closed earlier as {}: resuming it at offset {}", f.path, resume.seen, resume.offset);
    // Forgotten only once the file is open. Open fails when f.path was
    // renamed after the listing (rotation: it now names the new file, or
    // nothing), and the next scan finds the file under its new name: without
    // this entry it would be a new file, read again from 0.
    if (Open(f.path, f.path, f.id, &resume, /*committed=*/false, /*detached=*/false, now)) {
      closed_files_.erase(std::next(it).base());
    }
    return;
  }
  Fingerprint fp;
  const std::optional<FileId> original = CopyOf(f, &fp);
  // A copy of a file that was truncated before this copy was seen: what the
  // original held past the offset we had read is read from here, as
  // RecoverFromCopy does; what precedes it was read already.
  for (auto it = past_truncations_.rbegin(); !original && fp.len != 0 && it != past_truncations_.rend(); ++it) {
    if (it->tr.fp != fp) continue;
    held_copies_.erase(f.id);
    const uint64_t offset = std::min(it->tr.offset, f.size);
    FileCheckpoint resume{it->path, f.path, f.id, fp, offset, offset == it->tr.offset && it->tr.mid_line, f.size};
    log_->info("{} is a copy of {} made before it was truncated (copytruncate): reading it from offset {}", f.path,
               it->path, offset);
    Open(it->path, f.path, f.id, &resume, /*committed=*/false, /*detached=*/false, now);
    return;
  }
  auto held = held_copies_.find(f.id);
  if (held == held_copies_.end()) {
    // Empty: nothing to read yet, and it may be a copy about to be written.
    if (f.size == 0) {
      waiting_untracked_ = true;
      return;
    }
    if (!original) {
      Open(f.path, f.path, f.id, nullptr, false, false, now);
      return;
    }
    held_copies_.emplace(f.id, HeldCopy{now, *original});
    waiting_untracked_ = true;
    log_->info(
        "{} holds the same first {} bytes as {}: holding it as a copy until that file is truncated "
        "(copytruncate) or {} ms pass",
        f.path, fp.len, files_.at(*original).seen, config_.rotate_wait.count());
    return;
  }
  const HeldCopy h = held->second;
  if (!h.original_truncated && original != h.original) {
    // Its content went its own way while the original stayed intact: an
    // independent file that merely started like another one.
    held_copies_.erase(held);
    log_->info("{} is not a copy after all: reading it from the beginning", f.path);
    Open(f.path, f.path, f.id, nullptr, false, false, now);
    return;
  }
  if (!h.original_truncated && now - h.since < config_.rotate_wait) {
    waiting_untracked_ = true;
    return;
  }
  // A copy is never read from 0: its original was truncated (RecoverFromCopy
  // read whatever the copy held past our offset, if anything), or it was a
  // plain copy whose content was read through the original.
  held_copies_.erase(held);
  if (fp.len == 0) return;
  FileCheckpoint at_end{f.path, f.path, f.id, fp, f.size, false, f.size};
  log_->info("{} is a copy whose content was read through its original: following it from its end ({} bytes)", f.path,
             f.size);
  Open(f.path, f.path, f.id, &at_end, /*committed=*/false, /*detached=*/false, now);
}

void TailSource::OnTruncated(Tracked& t, Clock::time_point now) {
  truncations_->Inc();
  for (auto& [copy, h] : held_copies_) {
    if (h.original == t.tailer->id()) h.original_truncated = true;
  }
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
  // A directory listing taken while files are being renamed can miss one that
  // is still there: if a later scan finds it, it resumes here, not at 0; its
  // checkpoint stays stored until then (see missing_at_start_).
  closed_files_.push_back(cp);
  if (closed_files_.size() > 256) closed_files_.pop_front();
  const milliseconds grace = std::max<milliseconds>(config_.rotate_wait, 4 * config_.scan_interval);
  log_->info(
      "{} (checkpointed as {}) was not found at start; keeping its checkpoint for {} ms in case a rename "
      "hid it from the directory listing",
      cp.path, cp.seen, grace.count());
  missing_at_start_.push_back({cp, now + grace});
}

void TailSource::ExpireMissing(Clock::time_point now) {
  std::erase_if(missing_at_start_, [&](const MissingAtStart& m) {
    if (files_.count(m.checkpoint.id) != 0) return true;  // found again: its checkpoint is live
    if (now < m.deadline) return false;
    const FileCheckpoint& cp = m.checkpoint;
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
    return true;
  });
}

Status TailSource::Setup(Clock::time_point now) {
  Result<std::map<std::string, std::string>> stored = ctx_.buffer->LoadCheckpoints(name_);
  if (!stored.ok()) return stored.status();
  initial_ = stored->count(std::string(kStartedKey)) == 0;

  const FindResult found = FindFiles(config_.paths, config_.exclude);
  if (watcher_) watcher_->SetDirectories(found.dirs);
  if (hooks_.after_listing) hooks_.after_listing();
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
    if (files_.count(f.id) == 0) OpenNew(f, now);
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
  if (hooks_.after_listing) hooks_.after_listing();
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
      t.detached_since = now;
      log_->info("{} was {}: finishing it", t.seen, t.deleted ? "deleted" : "rotated away (renamed out of the globs)");
    }
  }
  std::erase_if(held_copies_,
                [&](const auto& kv) { return files_.count(kv.first) != 0 || by_id.count(kv.first) == 0; });
  for (const FoundFile& f : found.files) {
    if (files_.count(f.id) == 0) OpenNew(f, now);
  }
  ExpireMissing(now);  // after OpenNew: a file found by this scan is not gone
}

bool TailSource::ReadRound(Clock::time_point now, std::stop_token stop, Status* error) {
  bool more = false;
  for (auto& [id, t] : files_) {
    Result<FileTailer::ReadResult> r = t.tailer->Read(std::span<char>(read_buf_.data(), read_buf_.size()),
                                                      read_buf_.size(), now, EmitFor(t.path, now));
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
    if (writer_.raw_bytes() >= config_.batch_bytes) {
      *error = Commit(stop);
      if (!error->ok()) return false;
    }
  }
  return more;
}

void TailSource::Close(std::map<FileId, Tracked>::iterator it, const char* why) {
  Tracked& t = it->second;
  t.tailer->FlushAll(EmitFor(t.path, Clock::now()));
  if (!t.deleted) {
    closed_files_.push_back(FileCheckpoint{t.path, t.seen, it->first, t.tailer->fingerprint(),
                                           t.tailer->record_offset(), t.tailer->record_mid_line(), t.tailer->size()});
    if (closed_files_.size() > 256) closed_files_.pop_front();
  }
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
    // Detached for rotate_wait, not only idle: a directory listing taken while
    // logrotate renames files can miss one that is still there, and the next
    // scan finds it again.
    if (t.detached && now - t.detached_since >= config_.rotate_wait && t.tailer->IdleAtEof(now, config_.rotate_wait)) {
      Close(it, t.deleted ? "deleted" : "rotated");
    }
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
  if (writer_.raw_bytes() >= config_.batch_bytes) return true;
  return dirty_since_ && now - *dirty_since_ >= config_.commit_interval;
}

Status TailSource::Commit(std::stop_token stop) {
  std::vector<CheckpointUpdate> updates = std::move(extra_updates_);
  extra_updates_.clear();
  for (std::string& key : closed_keys_) updates.push_back({std::move(key), std::nullopt});
  closed_keys_.clear();
  std::vector<std::pair<FileId, Committed>> apply;
  for (const auto& [id, t] : files_) {
    Committed c{t.tailer->record_offset(), t.tailer->record_mid_line(), t.tailer->fingerprint(), t.seen};
    if (t.committed && t.committed->offset == c.offset && t.committed->mid_line == c.mid_line &&
        t.committed->fp == c.fp && t.committed->seen == c.seen) {
      continue;
    }
    FileCheckpoint cp{t.path, t.seen, id, c.fp, c.offset, c.mid_line, t.tailer->size()};
    updates.push_back({FileKey(id), EncodeCheckpoint(cp)});
    apply.emplace_back(id, std::move(c));
  }
  dirty_since_.reset();
  force_commit_ = false;
  if (writer_.empty() && updates.empty()) return Status::Ok();
  // The committer stores batches in order and retries transient failures
  // itself; reading goes on while this one commits (and, with transforms,
  // while the writer's pipeline finishes the batches). The Status is an
  // earlier commit's: Cancelled (stopped while the buffer was full) or a
  // batch that can never fit.
  Status s = writer_.Commit(std::move(updates),
                            [this, stop](std::vector<StreamBatch> batches, std::vector<CheckpointUpdate> u) {
                              if (batches.empty() && u.empty()) return Status::Ok();
                              return committer_->Submit(std::move(batches), std::move(u), stop);
                            });
  if (!s.ok()) return s;
  for (auto& [id, c] : apply) {
    if (auto it = files_.find(id); it != files_.end()) it->second.committed = std::move(c);
  }
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
    if (ev.modified) modified_seen_ = true;
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
  Clock::time_point last_scan = now;
  constexpr milliseconds kUntrackedRescan{100};

  while (!stop.stop_requested()) {
    now = Clock::now();
    const bool poke = waiting_untracked_ && modified_seen_ && now - last_scan >= kUntrackedRescan;
    if (rescan_ || now >= next_scan || poke) {
      waiting_untracked_ = false;
      modified_seen_ = false;
      Scan(now);
      last_scan = now;
      rescan_ = false;
      next_scan = now + config_.scan_interval;
      UpdateGauges();
    }
    Status error;
    const bool more = ReadRound(now, stop, &error);
    if (error.code() == ErrorCode::kCancelled) return Status::Ok();
    if (!error.ok()) return error;
    Timers(now);
    // commit_interval groups a trickle of lines into one commit; once every
    // file is read to its end, a sizeable batch gains nothing by waiting.
    constexpr uint64_t kCaughtUpCommitBytes = 64 * 1024;
    if (CommitDue(now) || (!more && writer_.raw_bytes() >= kCaughtUpCommitBytes)) {
      Status s = Commit(stop);
      if (s.code() == ErrorCode::kCancelled) return Status::Ok();
      if (!s.ok()) return s;
    }
    if (!more) {
      Clock::time_point wake = NextWake(Clock::now());
      if (waiting_untracked_ && modified_seen_) wake = std::min(wake, last_scan + kUntrackedRescan);
      Wait(wake, stop);
    }
    if (watcher_ && more) {
      // Drain without waiting so inotify's queue cannot overflow under load.
      const DirWatcher::Events ev = watcher_->Drain();
      if (ev.changed) rescan_ = true;
      if (ev.modified) modified_seen_ = true;
    }
  }
  // Final commit of everything read; pending partial lines and multiline
  // records are not covered and will be re-read after a restart.
  Status s = Commit(stop);
  if (s.ok()) s = writer_.Flush();
  if (s.ok()) s = committer_->Flush();
  if (s.code() == ErrorCode::kCancelled) return Status::Ok();
  if (!s.ok()) {
    log_->error("final commit failed, the last lines will be read again after a restart: {}", s.message());
    return s;
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<Source> MakeTailSource(std::string name, TailConfig config, SourceContext ctx, TailTestHooks hooks) {
  return std::make_unique<TailSource>(std::move(name), std::move(config), std::move(ctx), std::move(hooks));
}

}  // namespace sluice
