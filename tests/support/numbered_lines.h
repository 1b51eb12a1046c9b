// Numbered log lines for delivery tests: a writer thread that appends
// "line 000042 <padding>" at a steady rate (the way an application logs), and
// an audit of what reached the destination: which numbers are missing, which
// arrived more than once, and which records are not exactly a line we wrote.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/lake_reader.h"

namespace sluice::test {

// Line n without its newline: "line 000042 " and padding up to `width` bytes
// (the padding depends on n, so a mangled line does not pass as another).
std::string NumberedLine(uint64_t n, size_t width = 100);
// The number of a line made by NumberedLine, or nullopt for anything else
// (including a line whose padding is not exactly NumberedLine(n)'s).
std::optional<uint64_t> ParseNumberedLine(std::string_view line, size_t width = 100);
// The numbers of the lines in a file on disk, in file order (non-numbered
// lines skipped); an absent file yields none.
std::vector<uint64_t> LineNumbersInFile(const std::filesystem::path& path, size_t width = 100);

// Appends numbered lines to a file from its own thread, one write(2) per
// line, with O_APPEND. It keeps its descriptor across rotations like an
// application does; with follow_replacement it reopens (without creating)
// once the path names another file, as an application does after logrotate's
// postrotate tells it to (create mode). Owns its thread; the destructor stops
// and joins it.
class LineWriter {
 public:
  struct Options {
    std::filesystem::path file;
    uint64_t first = 1;
    uint64_t count = 0;              // lines to write; 0: until Stop()
    double lines_per_second = 1000;  // 0: as fast as possible
    size_t width = 100;
    bool follow_replacement = true;
    // Called on the writer thread after line n was written (e.g. to rotate).
    std::function<void(uint64_t n)> after_line;
  };

  explicit LineWriter(Options options);
  ~LineWriter();
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

  // Stops after the line being written; idempotent.
  void Stop();
  // Waits until `count` lines are written (or the writer failed).
  void Join();
  // The number of the last line written (first - 1 before the first).
  uint64_t last_written() const { return last_written_.load(); }
  // Why the writer stopped early, if it did.
  std::optional<std::string> error() const;

 private:
  void Run(std::stop_token stop);

  Options options_;
  std::atomic<uint64_t> last_written_;
  mutable std::mutex mu_;
  std::optional<std::string> error_;
  std::jthread thread_;
};

// What reached the destination, compared with lines first..last.
struct LineAudit {
  uint64_t first = 0;
  uint64_t last = 0;
  std::map<uint64_t, int> count;     // how often each number arrived (only those that did)
  std::vector<uint64_t> missing;     // sorted
  std::vector<uint64_t> duplicated;  // sorted; count[n] > 1
  std::vector<std::string> foreign;  // records that are not one of our lines (first 20)
  size_t foreign_total = 0;

  bool ExactlyOnce() const { return missing.empty() && duplicated.empty() && foreign_total == 0; }
  // "N records; missing 3 (10-12); duplicated 0; foreign 0" with ranges, for failure messages.
  std::string Summary() const;
};
LineAudit AuditLines(const std::vector<LakeRecord>& records, uint64_t first, uint64_t last, size_t width = 100);
LineAudit AuditLines(const std::vector<std::string>& msgs, uint64_t first, uint64_t last, size_t width = 100);

// Compact ranges: {1,2,3,7} -> "1-3, 7" (at most `max_ranges`, then "...").
// True when every message is a numbered line and each number is larger
// than the one before.
bool NumberedLinesAscending(const std::vector<std::string>& msgs, size_t width = 100);

std::string FormatRanges(const std::vector<uint64_t>& sorted, size_t max_ranges = 20);

}  // namespace sluice::test
