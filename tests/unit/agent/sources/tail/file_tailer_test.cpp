#include "agent/sources/tail/file_tailer.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace sluice {
namespace {

using Clock = FileTailer::Clock;
using std::chrono::milliseconds;
using test::AppendFile;
using test::TempDir;
using test::WriteFile;

struct TailerHarness {
  explicit TailerHarness(const std::filesystem::path& p, TailerOptions o = {}, PcreRegex* ml = nullptr, uint64_t offset = 0)
      : path(p), buf(8, '\0') {
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd.valid());
    struct stat st {};
    REQUIRE(::fstat(fd.get(), &st) == 0);
    const FileId id{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
    Result<Fingerprint> fp = ComputeFingerprint(fd.get(), static_cast<uint64_t>(st.st_size), o.fingerprint_bytes);
    REQUIRE(fp.ok());
    tailer = std::make_unique<FileTailer>(std::move(fd), id, offset, false, *fp, o, ml, Clock::now());
  }
  FileTailer::Emit emit() {
    return [this](const TailRecord& r) { lines.emplace_back(r.bytes); };
  }
  FileTailer::ReadResult Read(Clock::time_point now = Clock::now()) {
    FileTailer::ReadResult total;
    for (;;) {
      Result<FileTailer::ReadResult> r = tailer->Read(std::span<char>(buf.data(), buf.size()), 64, now, emit());
      REQUIRE(r.ok());
      total.bytes += r->bytes;
      total.truncated = total.truncated || r->truncated;
      if (!r->more) break;
    }
    return total;
  }
  std::filesystem::path path;
  std::string buf;  // 8-byte chunks: every line crosses chunk boundaries
  std::unique_ptr<FileTailer> tailer;
  std::vector<std::string> lines;
};

TEST_CASE("tail: a tailer reads lines across small read chunks", "[unit]") {
  TempDir dir("sluice-tail");
  WriteFile(dir / "a.log", "first line\nsecond, a longer line\nthird");
  TailerHarness h(dir / "a.log");
  const FileTailer::ReadResult r = h.Read();
  CHECK(r.bytes == 38);
  CHECK(h.lines == std::vector<std::string>{"first line", "second, a longer line"});
  CHECK(h.tailer->record_offset() == 33);  // the partial "third" is not covered
  CHECK(h.tailer->read_offset() == 38);
  AppendFile(dir / "a.log", " and more\n");
  h.Read();
  CHECK(h.lines.back() == "third and more");
  CHECK(h.tailer->record_offset() == 48);
}

TEST_CASE("tail: bytes that are not UTF-8 are passed on unchanged", "[unit]") {
  TempDir dir("sluice-tail");
  const std::string bad("caf\xe9 \xff\xfe\x00 end", 12);
  WriteFile(dir / "a.log", bad + "\n");
  TailerHarness h(dir / "a.log");
  h.Read();
  REQUIRE(h.lines.size() == 1);
  CHECK(h.lines[0] == bad);
}

TEST_CASE("tail: a last line without newline is emitted after idle_flush", "[unit]") {
  TempDir dir("sluice-tail");
  WriteFile(dir / "a.log", "done\npartial");
  TailerOptions o;
  o.idle_flush = milliseconds(200);
  TailerHarness h(dir / "a.log", o);
  const Clock::time_point t0 = Clock::now();
  h.Read(t0);
  CHECK(h.lines == std::vector<std::string>{"done"});
  REQUIRE(h.tailer->NextDeadline().has_value());
  CHECK(*h.tailer->NextDeadline() == t0 + milliseconds(200));
  h.tailer->OnTimers(t0 + milliseconds(199), h.emit());
  CHECK(h.lines.size() == 1);
  h.tailer->OnTimers(t0 + milliseconds(200), h.emit());
  CHECK(h.lines == std::vector<std::string>{"done", "partial"});
  CHECK(h.tailer->record_offset() == 12);
  CHECK(h.tailer->record_mid_line());
  CHECK_FALSE(h.tailer->NextDeadline().has_value());
}

TEST_CASE("tail: a tailer splits lines longer than max_line", "[unit]") {
  TempDir dir("sluice-tail");
  WriteFile(dir / "a.log", std::string(50, 'x') + "\nshort\n");
  TailerOptions o;
  o.max_line = 16;
  TailerHarness h(dir / "a.log", o);
  h.Read();
  CHECK(h.lines == std::vector<std::string>{std::string(16, 'x'), std::string(16, 'x'), std::string(16, 'x'), "xx",
                                            "short"});
  CHECK(h.tailer->splits() == 3);
}

TEST_CASE("tail: a tailer restarts at 0 when its file is truncated", "[unit]") {
  TempDir dir("sluice-tail");
  WriteFile(dir / "a.log", "one\ntwo\nthree\n");
  TailerHarness h(dir / "a.log");
  h.Read();
  CHECK(h.lines.size() == 3);
  // copytruncate: truncated to 0, then the writer goes on.
  WriteFile(dir / "a.log", "four\n");
  const FileTailer::ReadResult r = h.Read();
  CHECK(r.truncated);
  CHECK(h.lines.back() == "four");
  CHECK(h.tailer->record_offset() == 5);
  // The fingerprint follows what was read, so a checkpoint at 5 is vouched for.
  CHECK(h.tailer->fingerprint().len == 5);
}

TEST_CASE("tail: a file rewritten in place past our offset is detected by its fingerprint", "[unit]") {
  TempDir dir("sluice-tail");
  WriteFile(dir / "a.log", "aaaa\n");
  TailerHarness h(dir / "a.log");
  h.Read();
  WriteFile(dir / "a.log", "bbbb\ncccc\n");  // same inode, larger than our offset
  Result<FileTailer::CheckResult> c = h.tailer->Check(h.emit());
  REQUIRE(c.ok());
  CHECK(c->truncated);
  h.Read();
  CHECK(h.lines == std::vector<std::string>{"aaaa", "bbbb", "cccc"});
}

TEST_CASE("tail: the fingerprint grows with a short file, and deletion is seen", "[unit]") {
  TempDir dir("sluice-tail");
  WriteFile(dir / "a.log", "ab\n");
  TailerHarness h(dir / "a.log");
  CHECK(h.tailer->fingerprint().len == 3);
  AppendFile(dir / "a.log", "cd\n");
  Result<FileTailer::CheckResult> c = h.tailer->Check(h.emit());
  REQUIRE(c.ok());
  CHECK(c->fingerprint_grew);
  CHECK(h.tailer->fingerprint().len == 6);
  CHECK_FALSE(c->deleted);
  std::filesystem::remove(dir / "a.log");
  c = h.tailer->Check(h.emit());
  REQUIRE(c.ok());
  CHECK(c->deleted);
  h.Read();
  CHECK(h.lines == std::vector<std::string>{"ab", "cd"});  // still readable to its end
  CHECK(h.tailer->IdleAtEof(Clock::now() + milliseconds(10), milliseconds(5)));
}

TEST_CASE("tail: a tailer with multiline.start groups lines and flushes on timeout", "[unit]") {
  TempDir dir("sluice-tail");
  WriteFile(dir / "a.log", "S 1\n  at x\n  at y\nS 2\n  tail\n");
  Result<PcreRegex> re = PcreRegex::Compile("^S ");
  REQUIRE(re.ok());
  TailerOptions o;
  o.multiline_timeout = milliseconds(100);
  TailerHarness h(dir / "a.log", o, &*re);
  const Clock::time_point t0 = Clock::now();
  h.Read(t0);
  CHECK(h.lines == std::vector<std::string>{"S 1\n  at x\n  at y"});
  CHECK(h.tailer->record_offset() == 18);  // the pending "S 2" record is not covered
  h.tailer->OnTimers(t0 + milliseconds(100), h.emit());
  CHECK(h.lines.back() == "S 2\n  tail");
  CHECK(h.tailer->record_offset() == 29);
}

}  // namespace
}  // namespace sluice
