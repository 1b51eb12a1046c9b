#include "core/util/pcre_regex.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace sluice {
namespace {

PcreRegex CompiledPcre(std::string_view pattern, PcreRegex::Jit jit = PcreRegex::Jit::kIfAvailable) {
  Result<PcreRegex> r = PcreRegex::Compile(pattern, jit);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return std::move(r).value();
}

// Every match of `re` in `subject`, scanning with Find from the end of the last one.
std::vector<std::string> AllPcreMatches(PcreRegex& re, std::string_view subject) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (std::optional<PcreSpan> m = re.Find(subject, pos, PcreRegex::Empty::kSkip)) {
    out.emplace_back(subject.substr(m->begin, m->size()));
    pos = m->end;
  }
  return out;
}

}  // namespace

TEST_CASE("pcre: a compile error names the offset and PCRE2's reason", "[unit][pcre]") {
  Result<PcreRegex> r = PcreRegex::Compile("ab(cd");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  CHECK(r.status().message().find("offset 5") != std::string::npos);
  CHECK(r.status().message().find("missing closing parenthesis") != std::string::npos);
  // \C could split a UTF-8 character into a group: refused.
  CHECK_FALSE(PcreRegex::Compile(R"(a\Cb)").ok());
  CHECK(PcreRegex::Compile("").ok());
}

TEST_CASE("pcre: Find walks the matches of a subject from an offset", "[unit][pcre]") {
  for (PcreRegex::Jit jit : {PcreRegex::Jit::kIfAvailable, PcreRegex::Jit::kOff}) {
    PcreRegex re = CompiledPcre(R"(\d+)", jit);
    CHECK(AllPcreMatches(re, "a1b22c333") == std::vector<std::string>{"1", "22", "333"});
    CHECK(re.Find("a1b22", 2) == PcreSpan{3, 5});
    CHECK(re.Find("a1b22", 5) == std::nullopt);
    CHECK(re.Find("a1b22", 6) == std::nullopt);  // past the end: no match, no crash
    CHECK_FALSE(re.limit_hit());
    // Lookbehinds and \b see the bytes before the offset.
    PcreRegex lb = CompiledPcre(R"((?<=x)\d|\b\d)", jit);
    CHECK(lb.Find("x1", 1) == PcreSpan{1, 2});
    CHECK(lb.Find("a1", 1) == std::nullopt);
    CHECK(lb.Find("a 1", 1) == PcreSpan{2, 3});
  }
  PcreRegex empty = CompiledPcre("a*");
  CHECK(empty.Find("bbaab") == PcreSpan{0, 0});
  CHECK(empty.Find("bbaab", 0, PcreRegex::Empty::kSkip) == PcreSpan{2, 4});
  CHECK(empty.Find("bbb", 3) == PcreSpan{3, 3});
  CHECK(empty.Find("bbb", 0, PcreRegex::Empty::kSkip) == std::nullopt);
  CHECK(empty.Find({}, 0) == PcreSpan{0, 0});
}

TEST_CASE("pcre: groups of the last match, set, unset and empty", "[unit][pcre]") {
  PcreRegex re = CompiledPcre(R"((\w+)=(?<value>\d*)(?<unit>ms|s)?(x)?)");
  CHECK(re.group_count() == 4);
  CHECK(re.named_groups() == std::vector<PcreNamedGroup>{{"value", 2}, {"unit", 3}});
  REQUIRE(re.Find("t: took=15ms") == PcreSpan{3, 12});
  CHECK(re.Group(0) == PcreSpan{3, 12});
  CHECK(re.Group(1) == PcreSpan{3, 7});
  CHECK(re.Group(2) == PcreSpan{8, 10});
  CHECK(re.Group(3) == PcreSpan{10, 12});
  CHECK(re.Group(4) == std::nullopt);  // did not participate
  CHECK(re.Group(5) == std::nullopt);  // no such group
  REQUIRE(re.Find("took=") == PcreSpan{0, 5});
  CHECK(re.Group(2) == PcreSpan{5, 5});  // participated, empty
  CHECK(re.Group(3) == std::nullopt);
  CHECK_FALSE(re.Find("nothing here"));
  CHECK(re.Group(0) == std::nullopt);  // a failed search leaves no groups behind
  CHECK(re.Search("a=1"));
  CHECK(re.Group(1) == PcreSpan{0, 1});
}

TEST_CASE("pcre: named groups are listed in pattern order, duplicates with (?J)", "[unit][pcre]") {
  PcreRegex re = CompiledPcre(R"((?<zeta>a)(b)(?<alpha>c))");
  CHECK(re.named_groups() == std::vector<PcreNamedGroup>{{"zeta", 1}, {"alpha", 3}});
  PcreRegex dup = CompiledPcre(R"((?J)(?<n>a)|(?<m>x)(?<n>b))");
  CHECK(dup.named_groups() == std::vector<PcreNamedGroup>{{"n", 1}, {"m", 2}, {"n", 3}});
  CHECK(CompiledPcre("(a)").named_groups().empty());
  CHECK(PcreRegex::Compile("(?<n>a)(?<n>b)").status().message().find("offset") != std::string::npos);
}

TEST_CASE("pcre: bytes that are not UTF-8 never match and never crash", "[unit][pcre]") {
  for (PcreRegex::Jit jit : {PcreRegex::Jit::kIfAvailable, PcreRegex::Jit::kOff}) {
    PcreRegex word = CompiledPcre(R"(\w+)", jit);
    CHECK(AllPcreMatches(word,
                         "ab\xff\xfe"
                         "cd\xc3") == std::vector<std::string>{"ab", "cd"});
    PcreRegex any = CompiledPcre(".+", jit);
    CHECK(AllPcreMatches(any, "\xe2\x82\xac x\x80y") == std::vector<std::string>{"\xe2\x82\xac x", "y"});
    // An offset inside a character: the rest of it is invalid there, not a crash.
    CHECK(any.Find("\xc3\xa9z", 1) == PcreSpan{2, 3});
    const std::string garbage(1 << 20, '\xff');
    CHECK_FALSE(any.Search(garbage));
    CHECK_FALSE(any.limit_hit());
  }
}

TEST_CASE("pcre: negated classes match non-ASCII characters, in valid and invalid subjects", "[unit][pcre]") {
  // PCRE2 10.42's JIT with PCRE2_MATCH_INVALID_UTF gets these wrong (PCRE2 issue #224).
  for (PcreRegex::Jit jit : {PcreRegex::Jit::kIfAvailable, PcreRegex::Jit::kOff}) {
    const std::pair<const char*, const char*> cases[] = {{R"(\S+)", " "},   {R"(\D+)", "1"},  {R"(\W+)", "a"},
                                                         {R"([^ ]+)", " "}, {R"(\H+)", "\t"}, {R"(\N+)", "\n"}};
    for (const auto& [pattern, stop] : cases) {
      INFO(pattern);
      PcreRegex re = CompiledPcre(pattern, jit);
      const std::string word = "\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c";  // пароль
      CHECK(re.Find(word + stop) == PcreSpan{0, word.size()});
      CHECK(re.Find("\xff" + word + stop) == PcreSpan{1, 1 + word.size()});
    }
  }
  PcreRegex nonspace = CompiledPcre(R"(\S+)");
  const PcreSubject subject("ab \xc3\xa9t\xc3\xa9 \xe2\x82\xac");
  CHECK(subject.valid_utf8());
  CHECK(nonspace.Find(subject, 3) == PcreSpan{3, 8});
  CHECK(nonspace.Find(subject, 4) == PcreSpan{5, 8});  // inside a character: from the next one
  CHECK(nonspace.Find(subject, 9) == PcreSpan{9, 12});
  CHECK(nonspace.Find(subject, 10) == std::nullopt);
  CHECK_FALSE(PcreSubject("\xc3").valid_utf8());
}

TEST_CASE("pcre: catastrophic backtracking ends at the match limit", "[unit][pcre]") {
  const std::string subject(2000, 'a');
  for (PcreRegex::Jit jit : {PcreRegex::Jit::kIfAvailable, PcreRegex::Jit::kOff}) {
    PcreRegex re = CompiledPcre("(?:a+)+[bc]", jit);
    CHECK_FALSE(re.Find(subject));
    CHECK(re.limit_hit());
    CHECK(re.Find("aab") == PcreSpan{0, 3});  // the next search starts afresh
    CHECK_FALSE(re.limit_hit());
  }
}

TEST_CASE("pcre: many matches in a long subject", "[unit][pcre]") {
  std::string subject;
  for (int i = 0; subject.size() < (4u << 20); ++i) subject += "id=" + std::to_string(i) + " \xff ";
  PcreRegex re = CompiledPcre(R"(id=(?<n>\d+))");
  CHECK(re.jit());  // x86-64 and arm64 have PCRE2's JIT
  size_t count = 0;
  size_t pos = 0;
  while (std::optional<PcreSpan> m = re.Find(subject, pos)) {
    REQUIRE(re.Group(1));
    pos = m->end;
    ++count;
  }
  CHECK_FALSE(re.limit_hit());
  CHECK(count > 300'000);
  PcreRegex moved = std::move(re);
  CHECK(moved.Find(subject, pos - 10));
}

}  // namespace sluice
