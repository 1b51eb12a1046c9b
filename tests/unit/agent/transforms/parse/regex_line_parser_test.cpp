#include "agent/transforms/parse/regex_line_parser.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace sluice {
namespace {

constexpr std::string_view kRegexParsePrefix = "kept|";

RegexLineParser MakeRegexParser(std::string_view pattern) {
  Result<RegexLineParser> p = RegexLineParser::Create(pattern);
  INFO(p.status().message());
  REQUIRE(p.ok());
  return std::move(p).value();
}

// The object Parse appends, checked to be valid JSON; nullopt when Parse
// fails, checked to leave the string as it was.
std::optional<std::string> RegexObject(RegexLineParser& parser, std::string_view line) {
  std::string out(kRegexParsePrefix);
  if (!parser.Parse(line, out)) {
    CHECK(out == kRegexParsePrefix);
    return std::nullopt;
  }
  REQUIRE(out.substr(0, kRegexParsePrefix.size()) == kRegexParsePrefix);
  std::string json = out.substr(kRegexParsePrefix.size());
  CHECK(nlohmann::ordered_json::accept(json));
  return json;
}

}  // namespace

TEST_CASE("regex parse: named groups become fields in pattern order", "[transforms][regexparse]") {
  RegexLineParser p =
      MakeRegexParser(R"re(^(?<ip>\S+) \S+ (?<user>\S+) \[(?<ts>[^\]]+)\] "(?<req>[^"]*)" (?<status>\d{3}))re");
  CHECK(p.fields() == std::vector<std::string>{"ip", "user", "ts", "req", "status"});
  CHECK(
      RegexObject(p, R"(10.0.0.1 - bob [21/Nov/2026:10:00:00 +0000] "GET /a?b=c\d HTTP/1.1" 200 512)") ==
      R"({"ip":"10.0.0.1","user":"bob","ts":"21/Nov/2026:10:00:00 +0000","req":"GET /a?b=c\\d HTTP/1.1","status":"200"})");
  CHECK_FALSE(RegexObject(p, "not an access log line"));
}

TEST_CASE("regex parse: unanchored search, unset and empty groups", "[transforms][regexparse]") {
  RegexLineParser p = MakeRegexParser(R"((?<key>\w+)=(?<value>\d*)(?:ms)?(?<unit>s)?(\d)?)");
  CHECK(RegexObject(p, "prefix took=15ms suffix") == R"({"key":"took","value":"15"})");  // unit did not take part
  CHECK(RegexObject(p, "x=s") == R"({"key":"x","value":"","unit":"s"})");                // value matched ""
  CHECK_FALSE(RegexObject(p, "no pairs"));
  RegexLineParser all_optional = MakeRegexParser("(?<a>x)?");
  CHECK(RegexObject(all_optional, "y") == "{}");  // matched, with no field
  RegexLineParser anchored = MakeRegexParser(R"(^(?<n>\d+)$)");
  CHECK(RegexObject(anchored, "123") == R"({"n":"123"})");
  CHECK_FALSE(RegexObject(anchored, "123 "));
}

TEST_CASE("regex parse: a name shared by alternatives with (?J)", "[transforms][regexparse]") {
  RegexLineParser p = MakeRegexParser(R"(^(?J)(?:(?<ts>\d+) (?<msg>.*)|(?<msg>[^\d].*)))");
  CHECK(p.fields() == std::vector<std::string>{"ts", "msg"});
  CHECK(RegexObject(p, "17 started") == R"({"ts":"17","msg":"started"})");
  CHECK(RegexObject(p, "no time") == R"({"msg":"no time"})");
}

TEST_CASE("regex parse: values are escaped, unicode kept", "[transforms][regexparse]") {
  RegexLineParser p = MakeRegexParser(R"(^(?<all>.*)$)");
  const std::string line = "q\" b\\ t\t c\x01 ключ 😀";
  CHECK(nlohmann::json::parse(RegexObject(p, line).value())["all"] == line);
  RegexLineParser nonspace = MakeRegexParser(R"(=(?<v>\S+))");
  CHECK(RegexObject(nonspace, "ключ=значение x") == R"({"v":"значение"})");
  RegexLineParser word = MakeRegexParser(R"((?<w>\w+))");
  CHECK(RegexObject(word, "é_x1") == R"({"w":"_x1"})");  // \w is ASCII (no UCP)
}

TEST_CASE("regex parse: lines that are not UTF-8 fail", "[transforms][regexparse]") {
  RegexLineParser p = MakeRegexParser(R"((?<n>\d+))");
  CHECK_FALSE(RegexObject(p, "12 \xff"));
  CHECK_FALSE(RegexObject(p, "\xc3(12"));
  CHECK(RegexObject(p, "12 \xc3\xbf") == R"({"n":"12"})");
}

TEST_CASE("regex parse: bad patterns are errors", "[transforms][regexparse]") {
  Result<RegexLineParser> bad = RegexLineParser::Create("(?<a>x");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("offset 6") != std::string::npos);
  CHECK(bad.status().message().find("missing closing parenthesis") != std::string::npos);
  Result<RegexLineParser> unnamed = RegexLineParser::Create(R"((\d+) (\w+))");
  REQUIRE_FALSE(unnamed.ok());
  CHECK(unnamed.status().message().find("no named group") != std::string::npos);
  CHECK_FALSE(RegexLineParser::Create("").ok());
}

TEST_CASE("regex parse: multi-MiB lines and catastrophic backtracking", "[transforms][regexparse]") {
  RegexLineParser p = MakeRegexParser(R"(^(?<head>\w+) (?<body>.*) (?<tail>\w+)$)");
  const std::string big(4 << 20, 'b');
  const auto f = nlohmann::json::parse(RegexObject(p, "h " + big + " t").value());
  CHECK(f["body"].get<std::string>().size() == big.size());
  CHECK(f["tail"] == "t");

  RegexLineParser evil = MakeRegexParser(R"(^(?<x>(?:a+)+)[bc])");
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(RegexObject(evil, std::string(1 << 20, 'a')));
  CHECK(evil.limit_hit());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));  // bounded, not exponential
  CHECK(RegexObject(evil, "aab") == R"({"x":"aa"})");
  CHECK_FALSE(evil.limit_hit());
}

}  // namespace sluice
