// The agent against the real logrotate (Debian package), in create and
// copytruncate modes, while a writer appends numbered lines at a steady rate.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "tests/support/agent_fixture.h"
#include "tests/support/lake_reader.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kLines = 24000;
constexpr double kRotateLinesPerSecond = 2000;  // 12 s of writing
constexpr auto kRotateEvery = 1500ms;

// Runs `logrotate -s STATE -f CONF` (forced: the size/time conditions do not matter).
void RunLogrotate(const std::filesystem::path& dir, const std::filesystem::path& conf) {
  ProcessOptions p;
  p.program = "logrotate";
  p.args = {"-s", (dir / "logrotate.state").string(), "-f", conf.string()};
  p.log_dir = dir;
  RunResult r = RunToCompletion(std::move(p), 60s);
  INFO("logrotate stdout:\n" << r.out << "\nlogrotate stderr:\n" << r.err);
  REQUIRE_FALSE(r.timed_out);
  REQUIRE(r.status.Exited(0));
}

// Writes lines 1..kLines into logs/app.log while logrotate (configured with
// `mode_lines`) rotates it every kRotateEvery; returns the number of rotations.
int WriteWhileRotating(AgentUnderTest& agent, const std::string& mode_lines) {
  const std::filesystem::path conf = agent.root() / "logrotate.conf";
  // A glob, as packaged logrotate configurations use.
  WriteFile(conf, (agent.logs() / "*.log").string() + " {\n" + mode_lines +
                      "    nocompress\n"
                      "    missingok\n"
                      "}\n");
  LineWriter::Options o;
  o.file = agent.logs() / "app.log";
  o.count = kLines;
  o.lines_per_second = kRotateLinesPerSecond;
  LineWriter writer(std::move(o));
  int rotations = 0;
  while (writer.last_written() < kLines && !writer.error()) {
    std::this_thread::sleep_for(kRotateEvery);
    if (writer.last_written() >= kLines) break;
    RunLogrotate(agent.root(), conf);
    ++rotations;
  }
  writer.Join();
  INFO("writer error: " << writer.error().value_or("none"));
  REQUIRE_FALSE(writer.error());
  REQUIRE(writer.last_written() == kLines);
  return rotations;
}

LakeContents StopAndReadLake(AgentUnderTest& agent) {
  std::optional<ExitStatus> exit = agent.Stop();
  INFO("agent stderr (tail):\n" << agent.StderrTail());
  REQUIRE(exit.has_value());
  REQUIRE(exit->Exited(0));
  LakeContents lake = ReadLake(agent.lake());
  INFO("lake problems: " << lake.problems.size() << (lake.problems.empty() ? "" : "; first: " + lake.problems[0]));
  REQUIRE(lake.problems.empty());
  return lake;
}

}  // namespace

TEST_CASE("agent: logrotate create mode delivers every line exactly once", "[integration][agent][rotation]") {
  TempDir dir("sluice-logrotate-create");
  AgentUnderTest agent(dir.path());
  agent.Start();

  const int rotations = WriteWhileRotating(agent,
                                           "    create\n"
                                           "    rotate 5\n");
  CHECK(rotations >= 5);

  const bool caught_up = agent.WaitForLakeLines(kLines, 120s);
  const LakeContents lake = StopAndReadLake(agent);
  const LineAudit audit = AuditLines(lake.records, 1, kLines);
  INFO("rotations: " << rotations << "; caught up: " << caught_up << "\n" << audit.Summary()
                     << "\nagent stderr (tail):\n" << agent.StderrTail());
  REQUIRE(audit.ExactlyOnce());
}

// copytruncate: logrotate copies app.log to app.log.1 (a new inode), then
// truncates app.log in place while the writer keeps appending to it.
//
// The window inherent to copytruncate: lines the writer appends after the copy
// reached end of file and before the truncation are in neither file. They
// reach the lake only if the agent read them from app.log before the
// truncation; nobody can deliver them afterwards. Everything else is on disk:
// the copies hold segment k's lines up to the copy's end, the live file holds
// what was written after the last truncation.
//
// The test keeps every copy (rotate 20) so it can say exactly where each
// line is, and asserts:
//  - copies matching the globs (paths = app.log*): no line twice (a copy is a
//    new inode whose first bytes equal what the agent already read from
//    app.log; reading it from 0 would ship the whole segment again), and every
//    line except window lines is in the lake;
//  - copies excluded (paths = app.log): no line twice, and in each segment
//    the lines missing from the lake form one contiguous run at the segment's
//    end: what the agent had not read when the truncation came (in the copy
//    after the agent's offset, and the window). The live segment is complete.
namespace {

struct Segment {
  uint64_t first = 0;          // first line of the segment
  uint64_t copy_last = 0;      // last line the copy holds (0: no copy, the live file)
  uint64_t end = 0;            // last line written before the truncation that ended it
  std::string file;
};

// The segments, oldest first, from the files on disk (copies app.log.N with
// N = 20..1, then the live app.log); fails the test on a file that is not one
// contiguous run of numbers.
std::vector<Segment> SegmentsOnDisk(const std::filesystem::path& logs, uint64_t last_line) {
  std::vector<Segment> out;
  std::vector<std::filesystem::path> files;
  for (int k = 30; k >= 1; --k) {
    const auto p = logs / ("app.log." + std::to_string(k));
    if (std::filesystem::exists(p)) files.push_back(p);
  }
  files.push_back(logs / "app.log");
  for (const auto& f : files) {
    const std::vector<uint64_t> n = LineNumbersInFile(f);
    if (n.empty()) {
      // The writer may stop right after a rotation: the live file is empty,
      // its segment holds nothing (and the window before it ends at last_line).
      if (f.filename() == "app.log" && !out.empty()) out.push_back({last_line + 1, 0, 0, "app.log"});
      continue;
    }
    INFO(f.string() << " holds " << FormatRanges(n));
    REQUIRE(n.back() - n.front() + 1 == n.size());  // contiguous
    REQUIRE((out.empty() || n.front() > out.back().copy_last));
    out.push_back({n.front(), n.back(), 0, f.filename().string()});
  }
  REQUIRE_FALSE(out.empty());
  REQUIRE(out.back().file == "app.log");
  for (size_t i = 0; i + 1 < out.size(); ++i) out[i].end = out[i + 1].first - 1;
  out.back().end = last_line;
  out.back().copy_last = 0;
  return out;
}

void RunCopytruncate(bool copies_match_globs) {
  TempDir dir("sluice-logrotate-copytruncate");
  AgentOptions options;
  if (!copies_match_globs) options.paths = {(dir.path() / "logs" / "app.log").string()};
  AgentUnderTest agent(dir.path(), options);
  agent.Start();

  const int rotations = WriteWhileRotating(agent,
                                           "    copytruncate\n"
                                           "    rotate 20\n");
  CHECK(rotations >= 5);
  // Not every line can arrive (the window): wait until the agent is idle.
  const bool caught_up = agent.WaitUntilCaughtUp(120s);
  const LakeContents lake = StopAndReadLake(agent);
  const LineAudit audit = AuditLines(lake.records, 1, kLines);
  const std::vector<Segment> segments = SegmentsOnDisk(agent.logs(), kLines);

  std::string layout;
  std::vector<uint64_t> window;  // on no file on disk
  for (const Segment& s : segments) {
    layout += "\n  " + s.file + ": lines " + std::to_string(s.first) + ".." +
              std::to_string(s.copy_last ? s.copy_last : s.end);
    if (s.copy_last != 0 && s.end > s.copy_last) {
      layout += ", window " + std::to_string(s.copy_last + 1) + ".." + std::to_string(s.end);
      for (uint64_t n = s.copy_last + 1; n <= s.end; ++n) window.push_back(n);
    }
  }
  const std::set<uint64_t> window_set(window.begin(), window.end());
  std::vector<uint64_t> lost_from_window, lost_elsewhere;
  for (uint64_t n : audit.missing) (window_set.count(n) ? lost_from_window : lost_elsewhere).push_back(n);

  INFO("rotations: " << rotations << "; caught up: " << caught_up << "; segments on disk:" << layout << "\n" << audit.Summary()
                     << "\nmissing in the copy->truncate window: " << lost_from_window.size()
                     << "\nmissing outside it: " << lost_elsewhere.size() << " (" << FormatRanges(lost_elsewhere) << ")"
                     << "\nagent stderr (tail):\n" << agent.StderrTail(60));
  WARN("copytruncate (copies " << (copies_match_globs ? "match the globs" : "excluded") << "): " << rotations
                               << " rotations, " << window.size() << " lines in copy->truncate windows, "
                               << lost_from_window.size() << " of them lost; " << lost_elsewhere.size()
                               << " other lines missing; " << audit.duplicated.size() << " duplicated");
  CHECK(audit.foreign_total == 0);
  CHECK(audit.duplicated.empty());
  if (copies_match_globs) {
    CHECK(lost_elsewhere.empty());
  } else {
    // Per segment: the missing lines are one run that ends at the segment's end.
    for (const Segment& s : segments) {
      std::vector<uint64_t> missing_here;
      for (uint64_t n : audit.missing) {
        if (n >= s.first && n <= s.end) missing_here.push_back(n);
      }
      INFO("segment " << s.file << " (" << s.first << ".." << s.end << ") misses " << FormatRanges(missing_here));
      if (s.copy_last == 0) {
        CHECK(missing_here.empty());  // the live file: everything delivered
      } else if (!missing_here.empty()) {
        CHECK(missing_here.back() == s.end);
        CHECK(missing_here.back() - missing_here.front() + 1 == missing_here.size());
      }
    }
  }
}

}  // namespace

TEST_CASE("agent: logrotate copytruncate, copies matching the globs", "[integration][agent][rotation]") {
  RunCopytruncate(/*copies_match_globs=*/true);
}

TEST_CASE("agent: logrotate copytruncate, copies excluded by the globs", "[integration][agent][rotation]") {
  RunCopytruncate(/*copies_match_globs=*/false);
}

}  // namespace sluice::test
