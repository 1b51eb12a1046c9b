#include "transfer/progress.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/config/units.h"

namespace sluice::transfer {
namespace {

std::string HumanBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 5) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::string HumanSeconds(double s) {
  if (s < 0) return "--:--";
  const auto total = static_cast<int64_t>(s + 0.5);
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

}  // namespace

TickingProgress::TickingProgress(std::chrono::milliseconds interval) : interval_(interval) {}

TickingProgress::~TickingProgress() { StopTicker(); }

void TickingProgress::StartTicker() {
  started_ = true;
  ticker_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      const Snapshot s = Take();
      {
        std::lock_guard print(print_mu_);
        Tick(s);
      }
      lock.lock();
    }
  });
}

void TickingProgress::StopTicker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void TickingProgress::OnPlanned(uint64_t files, uint64_t bytes, uint64_t failures_found) {
  files_total_ = files;
  bytes_total_ = bytes;
  std::lock_guard print(print_mu_);
  Planned(files, bytes, failures_found);
}

void TickingProgress::OnEntry(const ReportEntry& entry) {
  if (entry.action == "copy") files_done_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard print(print_mu_);
  Entry(entry);
}

void TickingProgress::OnFinished(const TransferReport& report) {
  StopTicker();
  const Snapshot s = Take();
  std::lock_guard print(print_mu_);
  Finished(report, s);
}

TickingProgress::Snapshot TickingProgress::Take() {
  const auto now = std::chrono::steady_clock::now();
  Snapshot s{};
  s.files_total = files_total_.load();
  s.files_done = files_done_.load();
  s.bytes_total = bytes_total_.load();
  s.bytes_done = bytes_done_.load();
  s.elapsed_s = std::chrono::duration<double>(now - start_).count();
  {
    // An exponentially weighted rate: steady on a terminal, quick to follow a change.
    std::lock_guard lock(rate_mu_);
    const double dt = std::chrono::duration<double>(now - rate_at_).count();
    if (dt >= 0.2) {
      const double instant = static_cast<double>(s.bytes_done - rate_bytes_) / dt;
      rate_bps_ = rate_bps_ == 0 ? instant : 0.7 * rate_bps_ + 0.3 * instant;
      rate_at_ = now;
      rate_bytes_ = s.bytes_done;
    }
    s.rate_bps = std::max(0.0, rate_bps_);
  }
  const double left = static_cast<double>(s.bytes_total) - static_cast<double>(s.bytes_done);
  s.eta_s = s.rate_bps > 0 ? std::max(0.0, left) / s.rate_bps : -1;
  return s;
}

TerminalProgress::TerminalProgress(FILE* out) : TickingProgress(std::chrono::milliseconds(250)), out_(out) {
  StartTicker();
}

TerminalProgress::~TerminalProgress() { StopTicker(); }

std::string TerminalProgress::Line(const Snapshot& s) const {
  return fmt::format("{}/{} files  {} / {}  {}/s  ETA {}", s.files_done, s.files_total,
                     HumanBytes(static_cast<double>(std::max<int64_t>(0, s.bytes_done))),
                     HumanBytes(static_cast<double>(s.bytes_total)), HumanBytes(s.rate_bps), HumanSeconds(s.eta_s));
}

void TerminalProgress::Planned(uint64_t files, uint64_t bytes, uint64_t failures_found) {
  fmt::print(out_, "planned: {} files to copy, {}{}\n", files, HumanBytes(static_cast<double>(bytes)),
             failures_found > 0 ? fmt::format(", {} pre-flight problems", failures_found) : "");
  std::fflush(out_);
}

void TerminalProgress::Tick(const Snapshot& s) {
  const std::string line = Line(s);
  fmt::print(out_, "\r{}{}", line, std::string(last_width_ > line.size() ? last_width_ - line.size() : 0, ' '));
  last_width_ = line.size();
  std::fflush(out_);
}

void TerminalProgress::Entry(const ReportEntry& entry) {
  if (!entry.failed() && entry.warning.empty()) return;
  if (entry.failed()) {
    fmt::print(out_, "\r{}\rFAILED {}: {}\n", std::string(last_width_, ' '), entry.path, entry.error);
  } else {
    fmt::print(out_, "\r{}\rWARNING {}: {}\n", std::string(last_width_, ' '), entry.path, entry.warning);
  }
  last_width_ = 0;
  std::fflush(out_);
}

void TerminalProgress::Finished(const TransferReport& r, const Snapshot& s) {
  const ReportTotals& t = r.totals;
  const double secs = static_cast<double>(t.duration_ms) / 1000.0;
  fmt::print(out_, "\r{}\r{}{} copied ({}, {}/s), {} up to date, {} failed, {} deleted, {} skipped in {:.1f} s\n",
             std::string(last_width_, ' '), r.interrupted ? "INTERRUPTED: " : "", t.files_copied,
             HumanBytes(static_cast<double>(t.bytes_copied)),
             HumanBytes(secs > 0 ? static_cast<double>(t.bytes_written) / secs : 0), t.files_up_to_date, t.files_failed,
             t.deleted, t.skipped, secs);
  (void)s;
  std::fflush(out_);
}

JsonProgress::JsonProgress(FILE* out) : TickingProgress(std::chrono::seconds(1)), out_(out) { StartTicker(); }

JsonProgress::~JsonProgress() { StopTicker(); }

void JsonProgress::Emit(const nlohmann::json& j) {
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void JsonProgress::Planned(uint64_t files, uint64_t bytes, uint64_t failures_found) {
  Emit({{"event", "plan"}, {"files", files}, {"bytes", bytes}, {"preflight_failures", failures_found}});
}

void JsonProgress::Tick(const Snapshot& s) {
  Emit({{"event", "progress"},
        {"files_done", s.files_done},
        {"files_total", s.files_total},
        {"bytes_done", s.bytes_done},
        {"bytes_total", s.bytes_total},
        {"rate_bytes_per_s", static_cast<uint64_t>(s.rate_bps)},
        {"eta_s", s.eta_s < 0 ? nlohmann::json(nullptr) : nlohmann::json(static_cast<int64_t>(s.eta_s + 0.5))},
        {"elapsed_s", s.elapsed_s}});
}

void JsonProgress::Entry(const ReportEntry& entry) {
  nlohmann::json j = ToJson(entry);
  j["event"] = "file";
  Emit(j);
}

void JsonProgress::Finished(const TransferReport& r, const Snapshot& s) {
  (void)s;
  Emit({{"event", "done"}, {"ok", r.ok()}, {"interrupted", r.interrupted}, {"totals", ToJson(r.totals)}});
}

}  // namespace sluice::transfer
