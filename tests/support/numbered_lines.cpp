#include "tests/support/numbered_lines.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace sluice::test {

std::string NumberedLine(uint64_t n, size_t width) {
  char head[32];
  std::snprintf(head, sizeof head, "line %06llu ", static_cast<unsigned long long>(n));
  std::string line(head);
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  // The alphabet from position n % 36, cycled: appended a run at a time
  // (tests build lines of up to megabytes, and this code runs at -O0).
  line.reserve(std::max(width, line.size()));
  size_t i = static_cast<size_t>(n % kAlphabet.size());
  while (line.size() < width) {
    const size_t take = std::min(kAlphabet.size() - i, width - line.size());
    line.append(kAlphabet.substr(i, take));
    i = 0;
  }
  return line;
}

std::optional<uint64_t> ParseNumberedLine(std::string_view line, size_t width) {
  if (!line.starts_with("line ")) return std::nullopt;
  uint64_t n = 0;
  size_t i = 5;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') n = n * 10 + static_cast<uint64_t>(line[i++] - '0');
  if (i == 5 || i >= line.size() || line[i] != ' ') return std::nullopt;
  if (line != NumberedLine(n, width)) return std::nullopt;
  return n;
}

std::vector<uint64_t> LineNumbersInFile(const std::filesystem::path& path, size_t width) {
  std::vector<uint64_t> out;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (auto n = ParseNumberedLine(line, width)) out.push_back(*n);
  }
  return out;
}

LineWriter::LineWriter(Options options) : options_(std::move(options)), last_written_(options_.first - 1) {
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

LineWriter::~LineWriter() { Stop(); }

void LineWriter::Stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void LineWriter::Join() {
  if (thread_.joinable()) thread_.join();
}

std::optional<std::string> LineWriter::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void LineWriter::Run(std::stop_token stop) {
  const auto fail = [&](std::string what) {
    std::lock_guard lock(mu_);
    error_ = what + ": " + std::strerror(errno);
  };
  int fd = ::open(options_.file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return fail("open " + options_.file.string());
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::string line;
  for (uint64_t i = 0; options_.count == 0 || i < options_.count; ++i) {
    if (stop.stop_requested()) break;
    if (options_.lines_per_second > 0) {
      const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(i) / options_.lines_per_second));
      // Sleep only when ahead by more than a millisecond: lines come in small bursts.
      if (due - Clock::now() > std::chrono::milliseconds(1)) std::this_thread::sleep_until(due);
    }
    if (options_.follow_replacement) {
      struct stat by_path {
      }, by_fd{};
      if (::stat(options_.file.c_str(), &by_path) == 0 && ::fstat(fd, &by_fd) == 0 &&
          (by_path.st_ino != by_fd.st_ino || by_path.st_dev != by_fd.st_dev)) {
        const int reopened = ::open(options_.file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (reopened >= 0) {  // else it was rotated away again meanwhile: keep the old one
          ::close(fd);
          fd = reopened;
        }
      }
    }
    const uint64_t n = options_.first + i;
    line = NumberedLine(n, options_.width);
    line += '\n';
    ssize_t w;
    do {
      w = ::write(fd, line.data(), line.size());
    } while (w < 0 && errno == EINTR);
    if (w != static_cast<ssize_t>(line.size())) {
      fail("write " + options_.file.string());
      break;
    }
    last_written_.store(n);
    if (options_.after_line) options_.after_line(n);
  }
  ::close(fd);
}

bool NumberedLinesAscending(const std::vector<std::string>& msgs, size_t width) {
  std::optional<uint64_t> last;
  for (const std::string& m : msgs) {
    const std::optional<uint64_t> n = ParseNumberedLine(m, width);
    if (!n || (last && *n <= *last)) return false;
    last = n;
  }
  return true;
}

std::string FormatRanges(const std::vector<uint64_t>& v, size_t max_ranges) {
  std::string out;
  size_t ranges = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (ranges == max_ranges) {
      out += ", ...";
      break;
    }
    if (!out.empty()) out += ", ";
    out += std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    ++ranges;
    i = j + 1;
  }
  return out;
}

namespace {

void Count(LineAudit& a, std::string_view msg, size_t width) {
  std::optional<uint64_t> n = ParseNumberedLine(msg, width);
  if (!n || *n < a.first || *n > a.last) {
    if (a.foreign.size() < 20) a.foreign.emplace_back(msg.substr(0, 160));
    ++a.foreign_total;
    return;
  }
  ++a.count[*n];
}

void Finish(LineAudit& a) {
  for (uint64_t n = a.first; n <= a.last && a.last >= a.first; ++n) {
    auto it = a.count.find(n);
    if (it == a.count.end()) {
      a.missing.push_back(n);
    } else if (it->second > 1) {
      a.duplicated.push_back(n);
    }
  }
}

}  // namespace

LineAudit AuditLines(const std::vector<LakeRecord>& records, uint64_t first, uint64_t last, size_t width) {
  LineAudit a;
  a.first = first;
  a.last = last;
  for (const LakeRecord& r : records) Count(a, r.msg, width);
  Finish(a);
  return a;
}

LineAudit AuditLines(const std::vector<std::string>& msgs, uint64_t first, uint64_t last, size_t width) {
  LineAudit a;
  a.first = first;
  a.last = last;
  for (const std::string& m : msgs) Count(a, m, width);
  Finish(a);
  return a;
}

std::string LineAudit::Summary() const {
  uint64_t records = 0;
  for (const auto& [n, c] : count) records += static_cast<uint64_t>(c);
  std::string s = "lines " + std::to_string(first) + ".." + std::to_string(last) + ": " + std::to_string(records) +
                  " records; missing " + std::to_string(missing.size());
  if (!missing.empty()) s += " (" + FormatRanges(missing) + ")";
  s += "; duplicated " + std::to_string(duplicated.size());
  if (!duplicated.empty()) s += " (" + FormatRanges(duplicated) + ")";
  s += "; foreign " + std::to_string(foreign_total);
  for (const auto& f : foreign) s += "\n  foreign: " + f;
  return s;
}

}  // namespace sluice::test
