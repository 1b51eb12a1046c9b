// The lake becomes unwritable for a while: the agent keeps reading into its
// disk buffer, retries with backoff, holds its memory flat while the backlog
// grows, and delivers everything exactly once when the lake comes back.
#include <fcntl.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "tests/support/agent_fixture.h"
#include "tests/support/lake_reader.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// Makes a directory unwritable in a way that holds for root (the tests run as
// root, which ignores permission bits, so chmod 0555 would not stop it):
// the directory is atomically swapped (renameat2 RENAME_EXCHANGE) with a
// regular file. Every path under it then fails with ENOTDIR - mkdir of the
// partitions, creating the temporary file, the rename - exactly like an
// unwritable or vanished mount. The swap is atomic, so the agent never sees a
// moment without one or the other (a rename-then-create would let it mkdir a
// fresh lake in between), and swapping back restores the same directory with
// everything written before. Needs no privileges beyond the directory's
// parent, and works on any file system with RENAME_EXCHANGE (ext4, xfs,
// btrfs, tmpfs); chattr +i needs ext4 attributes and a bind mount needs a
// mount namespace.
class DirectoryBlocker {
 public:
  explicit DirectoryBlocker(std::filesystem::path dir) : dir_(std::move(dir)), stand_in_(dir_.string() + ".blocked") {
    WriteFile(stand_in_, "the lake is blocked by a test\n");
    Swap();
  }
  ~DirectoryBlocker() {
    if (restored_) return;
    try {
      Restore();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "DirectoryBlocker: %s\n", e.what());
    }
  }
  DirectoryBlocker(const DirectoryBlocker&) = delete;
  DirectoryBlocker& operator=(const DirectoryBlocker&) = delete;

  void Restore() {
    restored_ = true;
    Swap();
    std::filesystem::remove(stand_in_);
  }

 private:
  void Swap() {
    if (::renameat2(AT_FDCWD, dir_.c_str(), AT_FDCWD, stand_in_.c_str(), RENAME_EXCHANGE) != 0) {
      throw std::runtime_error("renameat2(RENAME_EXCHANGE) " + dir_.string() + ": " + std::strerror(errno));
    }
  }

  std::filesystem::path dir_;
  std::filesystem::path stand_in_;
  bool restored_ = false;
};

constexpr uint64_t kBefore = 1000;  // delivered before the outage
#if defined(__SANITIZE_ADDRESS__)
// The RSS bound, which needs a backlog large enough to show growth, is not
// checked under the sanitizers (see below); a smaller backlog runs the same code.
constexpr uint64_t kBacklog = 25'000;
#else
constexpr uint64_t kBacklog = 100'000;  // lines per backlog step (~100 bytes each)
#endif

// Appends lines first..first+count-1 as fast as possible.
void WriteOutageLines(const std::filesystem::path& file, uint64_t first, uint64_t count) {
  LineWriter::Options o;
  o.file = file;
  o.first = first;
  o.count = count;
  o.lines_per_second = 0;  // as fast as possible
  LineWriter w(std::move(o));
  w.Join();
  INFO("writer error: " << w.error().value_or("none"));
  REQUIRE_FALSE(w.error());
}

// Waits until the source committed `n` records in this run, sampling RSS
// meanwhile; returns the largest RSS seen.
uint64_t WaitForOutageSourceRecords(AgentUnderTest& agent, uint64_t n) {
  uint64_t peak = 0;
  const bool read = WaitUntil(120s, [&] {
    peak = std::max(peak, RssBytes(agent.pid()).value_or(0));
    return agent.Metric("sluice_source_records_total", {{"source", "app"}}) >= static_cast<double>(n);
  });
  INFO("agent stderr (tail):\n" << agent.StderrTail());
  REQUIRE(read);
  return peak;
}

// The agent's resident memory once settled, in total and by kind: the
// smallest of samples over 11 s. The agent hands the memory it freed back
// to the OS every 10 s (malloc_trim, agent/agent.cpp), so the window holds
// a trim whenever it starts; transient allocations of a retry do not count
// as growth either.
struct Resident {
  uint64_t rss = UINT64_MAX, anon = UINT64_MAX, file = UINT64_MAX, shmem = UINT64_MAX;
};
Resident SettledRss(AgentUnderTest& agent) {
  Resident r;
  for (int i = 0; i < 110; ++i) {
    r.rss = std::min(r.rss, StatusBytes(agent.pid(), "VmRSS").value_or(UINT64_MAX));
    r.anon = std::min(r.anon, StatusBytes(agent.pid(), "RssAnon").value_or(UINT64_MAX));
    r.file = std::min(r.file, StatusBytes(agent.pid(), "RssFile").value_or(UINT64_MAX));
    r.shmem = std::min(r.shmem, StatusBytes(agent.pid(), "RssShmem").value_or(UINT64_MAX));
    std::this_thread::sleep_for(100ms);
  }
  return r;
}

}  // namespace

TEST_CASE("agent: lake unwritable for a while, then writable: everything arrives once, RSS stays flat",
          "[integration][agent][outage]") {
  TempDir dir("sluice-lake-outage");
  AgentOptions options;
  options.retry_initial = "50ms";
  options.retry_max = "500ms";
  AgentUnderTest agent(dir.path(), options);
  const auto log = agent.logs() / "app.log";
  agent.Start();

  WriteOutageLines(log, 1, kBefore);
  REQUIRE(agent.WaitForLakeLines(kBefore, 60s));
  // The counter follows the cursor: wait for the ack of what is in the lake.
  REQUIRE(WaitUntil(30s, [&] { return agent.Metric("sluice_sink_records_total", {{"sink", "lake"}}) == kBefore; }));

  DirectoryBlocker outage(agent.lake());
  const double retries_at_start = agent.Metric("sluice_sink_retries_total", {{"sink", "lake"}});

  // Backlog 1x.
  WriteOutageLines(log, kBefore + 1, kBacklog);
  const uint64_t peak1 = WaitForOutageSourceRecords(agent, kBefore + kBacklog);
  const Resident res1 = SettledRss(agent);
  const uint64_t rss1 = res1.rss;
  const double retries1 = agent.Metric("sluice_sink_retries_total", {{"sink", "lake"}});
  const double buffer1 = agent.Metric("sluice_buffer_bytes");

  // Backlog 2x.
  WriteOutageLines(log, kBefore + kBacklog + 1, kBacklog);
  const uint64_t peak2 = WaitForOutageSourceRecords(agent, kBefore + 2 * kBacklog);
  const Resident res2 = SettledRss(agent);
  const uint64_t rss2 = res2.rss;
  REQUIRE(WaitUntil(10s, [&] { return agent.Metric("sluice_sink_retries_total", {{"sink", "lake"}}) > retries1; }));
  const double retries2 = agent.Metric("sluice_sink_retries_total", {{"sink", "lake"}});
  const double buffer2 = agent.Metric("sluice_buffer_bytes");
  const double delivered_during_outage = agent.Metric("sluice_sink_records_total", {{"sink", "lake"}});

  constexpr double kMiB = 1024.0 * 1024.0;
  WARN("lake outage: RSS " << rss1 / kMiB << " MiB at a backlog of " << kBacklog << " lines, " << rss2 / kMiB
                           << " MiB at " << 2 * kBacklog << " (peaks " << peak1 / kMiB << ", " << peak2 / kMiB
                           << "); buffer " << buffer1 / kMiB << " -> " << buffer2 / kMiB << " MiB; retries "
                           << retries_at_start << " -> " << retries1 << " -> " << retries2 << "; anon "
                           << res1.anon / kMiB << " -> " << res2.anon / kMiB << ", file " << res1.file / kMiB << " -> "
                           << res2.file / kMiB << ", shmem " << res1.shmem / kMiB << " -> " << res2.shmem / kMiB);
  INFO("agent stderr (tail):\n" << agent.StderrTail());
  CHECK(retries1 > retries_at_start);
  CHECK(retries2 > retries1);
  CHECK(delivered_during_outage == kBefore);
  CHECK(buffer2 > buffer1);
  // Memory is bounded by configuration, not by backlog: doubling the backlog
  // (another ~20 MiB of records) may not cost more than a few MiB of what
  // the agent allocates (RssAnon). The file-backed part of RSS is the code
  // the agent runs: it released its start-up's code pages 3 s in
  // (core/util/working_set.h) and faults back in what it runs again, a few
  // MiB more by the second measure (1.6-3.6 -> 5.7-5.9 MiB, with the
  // anonymous memory flat at 3.1-3.6 MiB), which made a bound on the whole
  // RSS fail now and then. Under AddressSanitizer the anonymous memory is
  // ASan's quarantine of freed memory (up to 256 MiB by default), not the
  // agent, so the bound is checked in uninstrumented builds only (the suite
  // runs both).
#if defined(__SANITIZE_ADDRESS__)
  WARN("AddressSanitizer build: memory bound not checked");
#else
  CHECK(res2.anon <= res1.anon + 4 * 1024 * 1024);
#endif

  outage.Restore();
  const uint64_t total = kBefore + 2 * kBacklog;
  const bool caught_up = agent.WaitForLakeLines(total, 180s);
  const std::optional<ExitStatus> exit = agent.Stop();
  REQUIRE(exit.has_value());
  REQUIRE(exit->Exited(0));
  const LakeContents lake = ReadLake(agent.lake());
  INFO("lake problems: " << lake.problems.size() << (lake.problems.empty() ? "" : "; first: " + lake.problems[0]));
  REQUIRE(lake.problems.empty());
  const LineAudit audit = AuditLines(lake.records, 1, total);
  INFO("caught up: " << caught_up << "; " << audit.Summary());
  REQUIRE(audit.ExactlyOnce());
}

}  // namespace sluice::test
