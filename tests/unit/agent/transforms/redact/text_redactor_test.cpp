#include "agent/transforms/redact/text_redactor.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace sluice {
namespace {

constexpr std::string_view kRedactPrefix = "kept|";

TextRedactor MakeRedactor(std::vector<std::string> patterns, TextRedactorOptions options = {}) {
  Result<TextRedactor> r = TextRedactor::Create(patterns, options);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return std::move(r).value();
}

// The redacted text, or `in` itself when nothing matched (checking that the
// output was then left alone).
std::string RedactedText(TextRedactor& r, std::string_view in) {
  std::string out(kRedactPrefix);
  if (!r.Redact(in, out)) {
    CHECK(out == kRedactPrefix);
    return std::string(in);
  }
  REQUIRE(out.substr(0, kRedactPrefix.size()) == kRedactPrefix);
  return out.substr(kRedactPrefix.size());
}

std::string RedactedWith(const char* pattern, std::string_view in) {
  TextRedactor r = MakeRedactor({pattern});
  return RedactedText(r, in);
}

size_t CountOf(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string_view::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("redact: email addresses", "[transforms][redact]") {
  CHECK(RedactedWith("email", "mail john.doe+tag@example.co.uk now") == "mail [REDACTED:email] now");
  CHECK(RedactedWith("email", "<A_B%c@Sub-Domain.EXAMPLE.com>.") == "<[REDACTED:email]>.");
  CHECK(RedactedWith("email", "to=a@b.io,c@d.org") == "to=[REDACTED:email],[REDACTED:email]");
  CHECK(RedactedWith("email", "end a@b.com.") == "end [REDACTED:email].");
  for (const char* miss : {"john@localhost", "@example.com", "john@", "john@example.c", "john@example.c0m", "a@b.com-x",
                           "a@b..com", "user@ example.com", "not an address"}) {
    INFO(miss);
    CHECK(RedactedWith("email", miss) == miss);
  }
}

TEST_CASE("redact: IPv4 addresses", "[transforms][redact]") {
  CHECK(RedactedWith("ipv4", "from 10.0.0.1:8080 to 192.168.1.255.") ==
        "from [REDACTED:ipv4]:8080 to [REDACTED:ipv4].");
  CHECK(RedactedWith("ipv4", "(8.8.8.8) ip=255.255.255.255 0.0.0.0/0") ==
        "([REDACTED:ipv4]) ip=[REDACTED:ipv4] [REDACTED:ipv4]/0");
  CHECK(RedactedWith("ipv4", "host-1.2.3.4 010.001.000.001") == "host-[REDACTED:ipv4] [REDACTED:ipv4]");
  CHECK(RedactedWith("ipv4", "1.2.3.4.x") == "[REDACTED:ipv4].x");
  for (const char* miss : {"1.2.3.4.5", "version 10.0.0.1.2", "v1.2.3.4", "1.2.3.4a", "a1.2.3.4", "256.1.1.1",
                           "1.2.3.256", "1.2.3", "1234.1.1.1", "1.1.1.1234", "1..2.3.4", "0.1.2.3.4"}) {
    INFO(miss);
    CHECK(RedactedWith("ipv4", miss) == miss);
  }
}

TEST_CASE("redact: IPv6 addresses", "[transforms][redact]") {
  for (const char* hit :
       {"::1", "fe80::1", "2001:db8::8a2e:370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "fe80::1%eth0",
        "fe80::1%25eth0", "::ffff:1.2.3.4", "64:ff9b::192.0.2.33", "FE80::ABCD", "2001:db8::", "1::"}) {
    INFO(hit);
    CHECK(RedactedWith("ipv6", std::string("a ") + hit + " b") == "a [REDACTED:ipv6] b");
  }
  CHECK(RedactedWith("ipv6", "[2001:db8::1]:443") == "[[REDACTED:ipv6]]:443");
  CHECK(RedactedWith("ipv6", "http://[fe80::1%25eth0]/x") == "http://[[REDACTED:ipv6]]/x");
  CHECK(RedactedWith("ipv6", "peer fe80::1.") == "peer [REDACTED:ipv6].");
  CHECK(RedactedWith("ipv6", "peer 2001:db8::1: refused") == "peer [REDACTED:ipv6]: refused");
  CHECK(RedactedWith("ipv6", "zone fe80::1%eth0.") == "zone [REDACTED:ipv6].");
  CHECK(RedactedWith("ipv6", "fe80::1% done") == "[REDACTED:ipv6]% done");  // no zone after the '%'

  for (const char* miss : {"::", "x :: Int", "12:30:45", "12:30:45.123", "00:1a:2b:3c:4d:5e", "std::vector", "a::b::c",
                           "fe80::1g", "gfe80::1", "1:2:3:4:5:6:7:8:9", "2001:db8:::1", "1.2.3.4", ":::"}) {
    INFO(miss);
    CHECK(RedactedWith("ipv6", miss) == miss);
  }
}

TEST_CASE("redact: payment card numbers pass the Luhn check", "[transforms][redact]") {
  for (const char* card : {"4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "5500005555555559",
                           "378282246310005", "3782 822463 10005", "4222222222222", "6011111111111117"}) {
    INFO(card);
    CHECK(RedactedWith("card", std::string("card=") + card + "; ok") == "card=[REDACTED:card]; ok");
  }
  CHECK(RedactedWith("card", "2024-01-15 4111 1111 1111 1111 paid") == "2024-01-15 [REDACTED:card] paid");
  CHECK(RedactedWith("card", "order 12 4111 1111 1111 1111") == "order 12 [REDACTED:card]");
  CHECK(RedactedWith("card", "4111 1111 1111 1111 5500 0055 5555 5559") == "[REDACTED:card] [REDACTED:card]");
  CHECK(RedactedWith("card", "4111111111111111,5500005555555559") == "[REDACTED:card],[REDACTED:card]");
  CHECK(RedactedWith("card", "-4111111111111111.") == "-[REDACTED:card].");
  for (const char* miss :
       {"4111 1111 1111 1112",     // Luhn fails
        "order 1234567890123456",  // a 16-digit number that fails Luhn
        "41111111111111111111",    // 20 digits in one group
        "411111111111",            // 12 digits
        "0.4111111111111111",      // a float's digits
        "4111111111111111.5", "id4111111111111111", "4111111111111111x", "_4111111111111111",
        "4111  1111 1111 1111",  // two spaces split the run
        "4111 -1111-1111-1111", "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9", "1234 5678 9012 3456 7890"}) {
    INFO(miss);
    CHECK(RedactedWith("card", miss) == miss);
  }
}

TEST_CASE("redact: overlapping matches, earliest then longest", "[transforms][redact]") {
  TextRedactor both = MakeRedactor({"ipv4", "ipv6"});
  CHECK(RedactedText(both, "::ffff:1.2.3.4 and 1.2.3.4") == "[REDACTED:ipv6] and [REDACTED:ipv4]");
  TextRedactor mail_ip = MakeRedactor({"email", "ipv4"});
  CHECK(RedactedText(mail_ip, "root@10.0.0.1 a@b.cd") == "root@[REDACTED:ipv4] [REDACTED:email]");
  TextRedactor earlier = MakeRedactor({"ipv4", R"(host=\S+)"});
  CHECK(RedactedText(earlier, "host=10.0.0.1 peer=10.0.0.2") == "[REDACTED:regex] peer=[REDACTED:ipv4]");
  for (bool card_first : {true, false}) {
    TextRedactor longest = card_first ? MakeRedactor({"card", R"(\d{4})"}) : MakeRedactor({R"(\d{4})", "card"});
    CHECK(RedactedText(longest, "4111 1111 1111 1111 4321") == "[REDACTED:card] [REDACTED:regex]");
  }
  TextRedactor tie = MakeRedactor({"[0-9]{16}", "card"});
  CHECK(RedactedText(tie, "4111111111111111") == "[REDACTED:regex]");
  TextRedactor tie2 = MakeRedactor({"card", "[0-9]{16}"});
  CHECK(RedactedText(tie2, "4111111111111111") == "[REDACTED:card]");
  // After a match, the text is searched again from its end: "ab" wins, "bc" is gone.
  TextRedactor chain = MakeRedactor({"bc", "ab", "cd"});
  CHECK(RedactedText(chain, "abcd abc") == "[REDACTED:regex][REDACTED:regex] [REDACTED:regex]c");
}

TEST_CASE("redact: user regexes and the mask", "[transforms][redact]") {
  TextRedactor r = MakeRedactor({R"((?i)password=\S+)", "email"}, TextRedactorOptions{"***"});
  CHECK(RedactedText(r, "login PASSWORD=hunter2 by a@b.com") == "login *** by ***");
  TextRedactor removed = MakeRedactor({"secret"}, TextRedactorOptions{""});
  CHECK(RedactedText(removed, "a secret b") == "a  b");
  // Empty matches are never redacted; a pattern that can match empty finds the non-empty matches.
  TextRedactor star = MakeRedactor({"x*"});
  CHECK(RedactedText(star, "aaxxb x") == "aa[REDACTED:regex]b [REDACTED:regex]");
  CHECK(RedactedText(star, "abc") == "abc");
  TextRedactor anchor = MakeRedactor({"^|$"});
  CHECK(RedactedText(anchor, "abc") == "abc");
  // A literal built-in name is a regex once wrapped.
  TextRedactor literal = MakeRedactor({"(?:email)"});
  CHECK(RedactedText(literal, "an email: a@b.com") == "an [REDACTED:regex]: a@b.com");
  TextRedactor unicode = MakeRedactor({"пароль=\\S+"});
  CHECK(RedactedText(unicode, "пароль=секрет ok") == "[REDACTED:regex] ok");
  CHECK(RedactedText(unicode, "") == "");
}

TEST_CASE("redact: configuration errors", "[transforms][redact]") {
  Result<TextRedactor> bad = TextRedactor::Create({"email", "(unclosed"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
  CHECK(bad.status().message().find("\"(unclosed\"") != std::string::npos);
  CHECK(bad.status().message().find("offset 9") != std::string::npos);
  CHECK(bad.status().message().find("missing closing parenthesis") != std::string::npos);
  CHECK(TextRedactor::Create({}).status().message().find("at least one pattern") != std::string::npos);
  CHECK(TextRedactor::Create({"email", ""}).status().message().find("empty pattern") != std::string::npos);
  CHECK(TextRedactor::Create({"email"}, TextRedactorOptions{"\xff"}).status().message().find("mask") !=
        std::string::npos);
  CHECK(TextRedactor::Create({"a\xff"}).status().message().find("not UTF-8") != std::string::npos);
  CHECK(TextRedactor::Create({"email", "ipv4", "ipv6", "card"}).ok());
}

TEST_CASE("redact: text that is not UTF-8", "[transforms][redact]") {
  TextRedactor r = MakeRedactor({"email", "ipv4", "ipv6", "card", "s.cret"});
  CHECK(RedactedText(r, "\xff a@b.com \xfe 10.0.0.1\xff fe80::1\xc3") ==
        "\xff [REDACTED:email] \xfe [REDACTED:ipv4]\xff [REDACTED:ipv6]\xc3");
  const std::string split =
      "4111 1111\xff 1111 1111 s\xff"
      "cret";
  CHECK(RedactedText(r, split) == split);
  CHECK(RedactedText(r, "\xed\xa0\x80 4111111111111111 \xc0\xaf") == "\xed\xa0\x80 [REDACTED:card] \xc0\xaf");
  TextRedactor any = MakeRedactor({".+"});
  CHECK(RedactedText(any,
                     "ab\xff\xfe"
                     "cd") == "[REDACTED:regex]\xff\xfe[REDACTED:regex]");
  const std::string garbage(1 << 20, '\x80');
  CHECK(RedactedText(r, garbage) == garbage);
}

TEST_CASE("redact: multi-MiB text with many matches in linear time", "[transforms][redact]") {
  TextRedactor r = MakeRedactor({"email", "ipv4", "ipv6", "card", R"(token=\w+)"});
  const auto start = std::chrono::steady_clock::now();
  // Valid UTF-8 goes to PCRE2's JIT, the rest to its interpreter.
  for (const char* line_end : {"\n", " \xff\n"}) {
    std::string text;
    size_t lines = 0;
    while (text.size() < (4u << 20)) {
      text += "user a.b@example.com from 10.0.0." + std::to_string(lines % 256) +
              " via fe80::1%eth0 paid 4111 1111 1111 1111 token=abc123 order 1234567890123456 v1.2.3.4.5" + line_end;
      ++lines;
    }
    std::string out;
    REQUIRE(r.Redact(text, out));
    CHECK(CountOf(out, "[REDACTED:email]") == lines);
    CHECK(CountOf(out, "[REDACTED:ipv4]") == lines);
    CHECK(CountOf(out, "[REDACTED:ipv6]") == lines);
    CHECK(CountOf(out, "[REDACTED:card]") == lines);
    CHECK(CountOf(out, "[REDACTED:regex]") == lines);
    CHECK(CountOf(out, "1234567890123456") == lines);
  }
  CHECK(r.limit_hits() == 0);

  // Long runs of near misses, each one candidate for one pattern: a pattern
  // that rescanned a run from each of its bytes would take hours here.
  std::vector<std::string> runs;
  runs.emplace_back(2 << 20, 'a');  // an email local part with no '@'
  for (int i = 0; i < 4; ++i) runs.emplace_back();
  while (runs[1].size() < (2u << 20)) runs[1] += "1.";     // a dotted number
  while (runs[2].size() < (2u << 20)) runs[2] += "1:";     // a colon run
  while (runs[3].size() < (2u << 20)) runs[3] += "1 ";     // a run of 1-digit groups
  while (runs[4].size() < (2u << 20)) runs[4] += "1234 ";  // a run of groups, no card in it
  runs.push_back("x@" + std::string(2 << 20, 'a'));
  runs.emplace_back(2 << 20, '7');  // one group of 2M digits
  for (const std::string& run : runs) {
    std::string o;
    (void)r.Redact(run + " a@b.com", o);
    CHECK(o.size() >= 16);
    CHECK(o.substr(o.size() - 16) == "[REDACTED:email]");
  }
  CHECK(r.limit_hits() == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
}

}  // namespace sluice
