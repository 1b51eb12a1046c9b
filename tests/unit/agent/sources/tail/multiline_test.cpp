#include "agent/sources/tail/multiline.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace sluice {
namespace {

using Clock = MultilineAggregator::Clock;
using std::chrono::milliseconds;

struct MultilineRec {
  std::string bytes;
  uint64_t end = 0;
  bool operator==(const MultilineRec&) const = default;
};

PcreRegex Re(const char* p) {
  Result<PcreRegex> r = PcreRegex::Compile(p);
  REQUIRE(r.ok());
  return std::move(r).value();
}

struct Fixture {
  explicit Fixture(const char* pattern, size_t max = 1 << 20) : re(Re(pattern)), agg(re, max, milliseconds(100)) {}
  void Line(std::string text, bool newline = true, bool continuation = false, Clock::time_point now = Clock::now()) {
    offset += text.size() + (newline ? 1 : 0);
    LinePiece p;
    p.bytes = text;
    p.end_offset = offset;
    p.newline = newline;
    p.continuation = continuation;
    agg.Add(p, now, emit());
  }
  MultilineAggregator::Emit emit() {
    return [this](const TailRecord& r) { out.push_back({std::string(r.bytes), r.end_offset}); };
  }
  PcreRegex re;
  MultilineAggregator agg;
  uint64_t offset = 0;
  std::vector<MultilineRec> out;
};

TEST_CASE("tail: multiline groups continuation lines with their start line", "[unit]") {
  Fixture f(R"(^\d{4}-\d{2}-\d{2})");
  f.Line("2026-01-01 first");
  f.Line("java.lang.Exception: boom");
  f.Line("\tat a.b(C.java:1)");
  CHECK(f.out.empty());
  f.Line("2026-01-01 second");
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0] == MultilineRec{"2026-01-01 first\njava.lang.Exception: boom\n\tat a.b(C.java:1)", 61});
  CHECK(f.agg.pending());
  f.agg.Flush(f.emit());
  REQUIRE(f.out.size() == 2);
  CHECK(f.out[1] == MultilineRec{"2026-01-01 second", 79});
  CHECK_FALSE(f.agg.pending());
}

TEST_CASE("tail: multiline lines before the first start line form a record", "[unit]") {
  Fixture f("^START");
  f.Line("orphan 1");
  f.Line("orphan 2");
  f.Line("START x");
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0].bytes == "orphan 1\norphan 2");
}

TEST_CASE("tail: a pending multiline record is flushed after the timeout", "[unit]") {
  Fixture f("^S");
  const Clock::time_point t0 = Clock::now();
  f.Line("S one", true, false, t0);
  f.Line("more", true, false, t0 + milliseconds(50));
  REQUIRE(f.agg.deadline().has_value());
  CHECK(*f.agg.deadline() == t0 + milliseconds(150));
  f.agg.FlushIfDue(t0 + milliseconds(149), f.emit());
  CHECK(f.out.empty());
  f.agg.FlushIfDue(t0 + milliseconds(150), f.emit());
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0].bytes == "S one\nmore");
  CHECK_FALSE(f.agg.deadline().has_value());
}

TEST_CASE("tail: multiline records are capped at max_line", "[unit]") {
  Fixture f("^S", 10);
  f.Line("S 1234");   // 6 bytes
  f.Line("abc");      // +4 = 10: fits
  f.Line("d");        // +2 = 12: cut before it
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0] == MultilineRec{"S 1234\nabc", 11});
  CHECK(f.agg.splits() == 1);
  f.agg.Flush(f.emit());
  CHECK(f.out[1].bytes == "d");
}

TEST_CASE("tail: multiline rejoins continuation pieces without a newline", "[unit]") {
  Fixture f("^S");
  f.Line("S lo", false);           // split part or idle-flushed partial
  f.Line("ng line", true, true);   // its continuation: never matched as a start
  f.Line("S next");
  REQUIRE(f.out.size() == 1);
  CHECK(f.out[0].bytes == "S long line");
}

TEST_CASE("tail: multiline regex handles invalid UTF-8 and long lines", "[unit]") {
  PcreRegex re = Re(R"(^\d+ )");
  CHECK(re.Search("123 ok"));
  CHECK_FALSE(re.Search("x123 ok"));
  CHECK_FALSE(re.Search(std::string("\xff\xfe 1", 4)));
  CHECK(re.Search(std::string("1 \xff\xfe", 4)));
  CHECK_FALSE(re.Search(""));
  const std::string huge(4 << 20, 'a');
  CHECK_FALSE(re.Search(huge));  // no stack overflow, unlike std::regex
  // Catastrophic backtracking ends at PCRE2's limits (either answer), not in a hang or crash.
  PcreRegex bad = Re("(a|aa)+$");
  (void)bad.Search(huge);
  CHECK_FALSE(PcreRegex::Compile("(unclosed").ok());
  CHECK(PcreRegex::Compile("(unclosed").status().message().find("offset") != std::string::npos);
}

}  // namespace
}  // namespace sluice
