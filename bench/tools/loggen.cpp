// sluice-loggen: writes numbered log lines into a file, optionally rotating it
// the way logrotate does, at a fixed rate or as fast as possible. Used by the
// demo, the benchmarks and by hand. Every line carries its sequence number
// ("seq=000000042") so a reader can check that each line arrived exactly once.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>

namespace {

struct Options {
  std::string out;
  uint64_t lines = 10'000;
  uint64_t first = 1;
  double rate = 0;  // lines per second; 0 = as fast as possible
  size_t line_bytes = 200;
  uint64_t rotate_every = 0;
  std::string rotate_mode = "rename";
  int keep = 5;
};

int OpenAppend(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
  return fd;
}

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("write");
      std::exit(1);
    }
    off += static_cast<size_t>(n);
  }
}

// Shifts out.N -> out.N+1 ... out -> out.1 (rename), or copies out to out.1 and
// truncates out in place (copytruncate), as logrotate does.
int Rotate(const Options& o, int fd) {
  namespace fs = std::filesystem;
  for (int i = o.keep - 1; i >= 1; --i) {
    const fs::path from = o.out + "." + std::to_string(i);
    if (fs::exists(from)) fs::rename(from, o.out + "." + std::to_string(i + 1));
  }
  if (o.rotate_mode == "copytruncate") {
    fs::copy_file(o.out, o.out + ".1", fs::copy_options::overwrite_existing);
    if (::ftruncate(fd, 0) != 0) std::perror("ftruncate");
    return fd;
  }
  fs::rename(o.out, o.out + ".1");
  ::close(fd);
  return OpenAppend(o.out);
}

std::string Line(uint64_t seq, size_t target) {
  char head[128];
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  const int n = std::snprintf(head, sizeof head, "%s.%03dZ INFO app[4242]: seq=%09llu user=u%04llu action=checkout ",
                              ts, static_cast<int>(ms), static_cast<unsigned long long>(seq),
                              static_cast<unsigned long long>(seq % 9973));
  std::string line(head, static_cast<size_t>(n));
  static constexpr char kWords[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";
  while (line.size() + 1 < target) line += kWords[(line.size() + seq) % (sizeof kWords - 1)];
  line += '\n';
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Write numbered log lines, optionally rotating the file"};
  app.add_option("--out", o.out, "log file to append to")->required();
  app.add_option("--lines", o.lines, "how many lines to write");
  app.add_option("--first", o.first, "sequence number of the first line");
  app.add_option("--rate", o.rate, "lines per second (0: as fast as possible)");
  app.add_option("--line-bytes", o.line_bytes, "approximate bytes per line, newline included");
  app.add_option("--rotate-every", o.rotate_every, "rotate after this many lines (0: never)");
  app.add_option("--rotate-mode", o.rotate_mode, "rename or copytruncate")
      ->check(CLI::IsMember({"rename", "copytruncate"}));
  app.add_option("--keep", o.keep, "rotated files kept: out.1 .. out.N");
  CLI11_PARSE(app, argc, argv);

  int fd = OpenAppend(o.out);
  std::string pending;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < o.lines; ++i) {
    const uint64_t seq = o.first + i;
    pending += Line(seq, o.line_bytes);
    const bool rotate_now = o.rotate_every != 0 && (i + 1) % o.rotate_every == 0;
    if (pending.size() >= (1 << 16) || o.rate > 0 || rotate_now || i + 1 == o.lines) {
      WriteAll(fd, pending);
      pending.clear();
    }
    if (rotate_now) fd = Rotate(o, fd);
    if (o.rate > 0) {
      const auto due = start + std::chrono::duration<double>(static_cast<double>(i + 1) / o.rate);
      std::this_thread::sleep_until(due);
    }
  }
  ::close(fd);
  return 0;
}
