// One drop's ingestion: every poll it lists the inbox, decides what is
// complete (completeness.h), and takes each new file through the steps the
// ledger records (ledger.h), in batches:
//
//   claim (ledger) -> copy to a temporary name, verified (lander.h), sidecar
//   checked -> ledger "copied" (or "duplicate") -> rename to the landing path,
//   destination flushed -> ledger "landed" -> landed log line -> post-action
//   on the source (move / delete / keep) -> ledger "finished".
//
// Each ledger write happens after the step it records is durable, and each
// step can be redone or recognised as done after a crash, so a run resumes
// the unfinished rows first: a file is landed once and never lost. A file
// that fails a step for good is quarantined (a copy and a .reason under
// quarantine/<drop>/ in the destination), its source moved to failed_to if
// configured, and not taken again unless it changes.
//
// Thread model: Run/RunCycle on one thread per drop; the copies and
// post-actions of a batch fan out to `transfers` short-lived workers.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "core/log/log.h"
#include "core/metrics/metrics.h"
#include "core/status.h"
#include "transfer/drop/drop_config.h"
#include "transfer/drop/landed_log.h"
#include "transfer/drop/ledger.h"
#include "transfer/drop/source_layout.h"
#include "transfer/endpoint.h"

namespace sluice::transfer::drop {

// A stop request every drop thread can sleep on.
class StopFlag {
 public:
  void Stop();
  bool stopped() const { return stopped_.load(); }
  const std::atomic<bool>* flag() const { return &stopped_; }
  // Sleeps up to `d`; true when stopped.
  bool WaitFor(std::chrono::milliseconds d);

 private:
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

struct CycleOutcome {
  Status status;  // not Ok: the cycle stopped (source or destination unreachable, ledger error)
  int landed = 0, duplicates = 0, quarantined = 0, post_action_failures = 0;
  int waiting = 0;
  int waiting_unchanged = 0;  // see InboxAssessment
};

class DropRunner {
 public:
  DropRunner(DropSpec spec, std::unique_ptr<Ledger> ledger, LandedLog* landed_log, MetricsRegistry* metrics, Logger log,
             StopFlag* stop);
  ~DropRunner();

  // One poll.
  CycleOutcome RunCycle();
  // Polls until stopped; backs off (full jitter, up to 5 minutes) while the
  // source or destination is unreachable.
  void Run();
  // `--once`: polls until nothing more can become ready without a wait for
  // new uploads (see InboxAssessment::waiting_unchanged); Ok unless a cycle failed.
  Status RunOnce();

  const DropSpec& spec() const { return spec_; }

 private:
  struct Work;
  Status Connect();
  Status ListInbox(std::vector<struct ListedFile>& out);
  Status ProcessRows(std::vector<Work>& work, CycleOutcome& outcome);
  Status CopyStage(std::vector<Work>& work, CycleOutcome& outcome);
  Status LandStage(std::vector<Work>& work);
  Status QuarantineStage(std::vector<Work>& work, CycleOutcome& outcome);
  Status LogStage();
  Status PostActionStage(std::vector<Work>& work, CycleOutcome& outcome);
  Status VerifySidecars(Work& w, const std::string& sha256, const std::string& md5);
  std::vector<std::string> FindCompanions(const std::string& path);
  std::string LandingPath(const FileRow& row, int version) const;
  std::string SourcePath(const std::string& inbox_relative) const;
  void ObserveMetrics(const CycleOutcome& outcome, int64_t oldest_waiting_first_seen_ms);

  DropSpec spec_;
  SourceLayout layout_;
  std::unique_ptr<Ledger> ledger_;
  LandedLog* landed_log_;
  Logger log_;
  StopFlag* stop_;
  std::unique_ptr<Endpoint> source_;
  std::unique_ptr<Endpoint> dest_;

  Counter& m_seen_;
  Counter& m_landed_;
  Counter& m_duplicates_;
  Counter& m_quarantined_;
  Counter& m_bytes_;
  Counter& m_errors_;
  Counter& m_post_failures_;
  Gauge& m_waiting_;
  Gauge& m_oldest_age_;
  Gauge& m_up_;
};

}  // namespace sluice::transfer::drop
