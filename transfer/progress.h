// Progress of a running transfer, for people and for programs:
//  - TerminalProgress: one status line on stderr, redrawn a few times a
//    second (files, bytes, rate, ETA), and a line per failure.
//  - JsonProgress: JSON Lines on stdout: {"event":"plan"}, one
//    {"event":"file"} per finished entry, {"event":"progress"} every second,
//    {"event":"done"} with the totals.
// Observers are called from the copier's worker threads; they are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "transfer/report.h"

namespace sluice::transfer {

class ProgressObserver {
 public:
  virtual ~ProgressObserver() = default;
  virtual void OnPlanned(uint64_t files, uint64_t bytes, uint64_t failures_found) = 0;
  virtual void OnBytes(int64_t delta) = 0;
  virtual void OnEntry(const ReportEntry& entry) = 0;
  virtual void OnFinished(const TransferReport& report) = 0;
};

// Shared counters and a ticker thread; subclasses say how to print.
class TickingProgress : public ProgressObserver {
 public:
  explicit TickingProgress(std::chrono::milliseconds interval);
  ~TickingProgress() override;
  void OnPlanned(uint64_t files, uint64_t bytes, uint64_t failures_found) override;
  void OnBytes(int64_t delta) override { bytes_done_.fetch_add(delta, std::memory_order_relaxed); }
  void OnEntry(const ReportEntry& entry) override;
  void OnFinished(const TransferReport& report) override;

 protected:
  struct Snapshot {
    uint64_t files_total, files_done, bytes_total;
    int64_t bytes_done;
    double elapsed_s, rate_bps;  // rate over the last few seconds
    double eta_s;                // -1: unknown
  };
  Snapshot Take();
  virtual void Planned(uint64_t files, uint64_t bytes, uint64_t failures_found) = 0;
  virtual void Tick(const Snapshot& s) = 0;
  virtual void Entry(const ReportEntry& entry) = 0;
  virtual void Finished(const TransferReport& report, const Snapshot& s) = 0;
  // Subclasses start the ticker once constructed and stop it in their
  // destructor, so Tick never runs on a half-built or half-destroyed object.
  void StartTicker();
  void StopTicker();
  std::mutex print_mu_;  // one line at a time

 private:
  const std::chrono::milliseconds interval_;
  std::atomic<uint64_t> files_total_{0};
  std::atomic<uint64_t> files_done_{0};
  std::atomic<uint64_t> bytes_total_{0};
  std::atomic<int64_t> bytes_done_{0};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex rate_mu_;
  std::chrono::steady_clock::time_point rate_at_ = start_;
  int64_t rate_bytes_ = 0;
  double rate_bps_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool started_ = false;
  std::thread ticker_;
};

class TerminalProgress final : public TickingProgress {
 public:
  explicit TerminalProgress(FILE* out);
  ~TerminalProgress() override;

 private:
  void Planned(uint64_t files, uint64_t bytes, uint64_t failures_found) override;
  void Tick(const Snapshot& s) override;
  void Entry(const ReportEntry& entry) override;
  void Finished(const TransferReport& report, const Snapshot& s) override;
  std::string Line(const Snapshot& s) const;
  FILE* out_;
  size_t last_width_ = 0;
};

class JsonProgress final : public TickingProgress {
 public:
  explicit JsonProgress(FILE* out);
  ~JsonProgress() override;

 private:
  void Planned(uint64_t files, uint64_t bytes, uint64_t failures_found) override;
  void Tick(const Snapshot& s) override;
  void Entry(const ReportEntry& entry) override;
  void Finished(const TransferReport& report, const Snapshot& s) override;
  void Emit(const nlohmann::json& j);
  FILE* out_;
};

}  // namespace sluice::transfer
