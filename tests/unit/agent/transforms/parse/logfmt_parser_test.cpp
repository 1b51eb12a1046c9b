#include "agent/transforms/parse/logfmt_parser.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace sluice {
namespace {

constexpr std::string_view kLogfmtPrefix = "kept|";

// The object Parse appends, checked to be valid JSON; nullopt when Parse
// fails, checked to leave the string as it was.
std::optional<std::string> LogfmtObject(std::string_view line) {
  std::string out(kLogfmtPrefix);
  if (!LogfmtParser().Parse(line, out)) {
    CHECK(out == kLogfmtPrefix);
    return std::nullopt;
  }
  REQUIRE(out.substr(0, kLogfmtPrefix.size()) == kLogfmtPrefix);
  std::string json = out.substr(kLogfmtPrefix.size());
  CHECK(nlohmann::ordered_json::accept(json));
  return json;
}

nlohmann::ordered_json LogfmtFields(std::string_view line) {
  std::optional<std::string> json = LogfmtObject(line);
  REQUIRE(json);
  return nlohmann::ordered_json::parse(*json);
}

}  // namespace

TEST_CASE("logfmt: pairs become a compact object in input order", "[transforms][logfmt]") {
  CHECK(LogfmtObject(R"(level=info msg="hi there" debug)") == R"({"level":"info","msg":"hi there","debug":true})");
  CHECK(LogfmtObject("  \tz=1\t\ty=2   x  ") == R"({"z":"1","y":"2","x":true})");
  CHECK(LogfmtObject("n=42 f=1.5 b=false") == R"({"n":"42","f":"1.5","b":"false"})");  // no type guessing
  CHECK(LogfmtObject(R"(a= b="" c=1)") == R"({"a":"","b":"","c":"1"})");
  CHECK(LogfmtObject("url=http://h/p?a=b&c=d") == R"({"url":"http://h/p?a=b&c=d"})");
  CHECK(LogfmtObject("k.a-b/c:d@e=v") == R"({"k.a-b/c:d@e":"v"})");
  CHECK(LogfmtObject("a=1\r") == R"({"a":"1"})");  // a CRLF file's line end
  CHECK(LogfmtObject("a=\"x\"\r") == R"({"a":"x"})");
  CHECK(LogfmtObject(R"(path=C:\dir\file)") == R"({"path":"C:\\dir\\file"})");
}

TEST_CASE("logfmt: escapes in quoted values", "[transforms][logfmt]") {
  const auto f = LogfmtFields(R"(m="q\"uote back\\slash nl\n tab\t cr\r other\x \u00e9 end" n="\\")");
  CHECK(f["m"] == "q\"uote back\\slash nl\n tab\t cr\r other\\x \\u00e9 end");
  CHECK(f["n"] == "\\");
  CHECK(LogfmtFields(R"(a="\\\"")")["a"] == "\\\"");
  CHECK(LogfmtFields("a=\"x=1 y=\\\"2\\\"\" b=\"tab\there\"")["a"] == "x=1 y=\"2\"");
  // Control bytes inside a value are escaped for JSON.
  CHECK(LogfmtObject("a=\"\x01\x1f\x7f\"") == R"({"a":"\u0001\u001f\u007f"})");
  CHECK(LogfmtObject("k\x01=v") == R"({"k\u0001":"v"})");
}

TEST_CASE("logfmt: unicode keys and values", "[transforms][logfmt]") {
  const auto f = LogfmtFields("ключ=значение émoji=\"😀 ok\" 日本");
  CHECK(f.size() == 3);
  CHECK(f["ключ"] == "значение");
  CHECK(f["émoji"] == "😀 ok");
  CHECK(f["日本"] == true);
  CHECK(f.begin().key() == "ключ");
}

TEST_CASE("logfmt: malformed lines fail and leave the output alone", "[transforms][logfmt]") {
  for (const char* bad : {"", "   ", "\t", "\r", "=v", "a=1 =2", "a=\"x", "a=\"x\\\"", "a=\"x\\", "a=\"x\"y",
                          "a=\"x\"\"y\"", "a=x\"y", "a\"b\"", "\"a\"=1", "a==\"x\"", "a=\"x\" b=\"y"}) {
    INFO(bad);
    CHECK_FALSE(LogfmtObject(bad));
  }
  CHECK(LogfmtObject("a==b") == R"({"a":"=b"})");  // a bare value may contain '='
}

TEST_CASE("logfmt: a repeated key fails the line", "[transforms][logfmt]") {
  CHECK_FALSE(LogfmtObject("a=1 a=2"));
  CHECK_FALSE(LogfmtObject("a a"));
  CHECK_FALSE(LogfmtObject("a=1 b a=\"x\""));
  CHECK(LogfmtObject("a=1 A=2 aa=3") == R"({"a":"1","A":"2","aa":"3"})");
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "k" + std::to_string(i) + "=" + std::to_string(i) + " ";
  CHECK(LogfmtFields(many).size() == 1000);
  CHECK_FALSE(LogfmtObject(many + "k500=again"));
}

TEST_CASE("logfmt: lines that are not UTF-8 fail", "[transforms][logfmt]") {
  CHECK_FALSE(LogfmtObject("a=\xff"));
  CHECK_FALSE(LogfmtObject("a=\"ok\" b=\"\xc3\""));
  CHECK_FALSE(LogfmtObject("\xe9t\xe9=1"));     // Latin-1 key
  CHECK_FALSE(LogfmtObject("a=\xed\xa0\x80"));  // a UTF-16 surrogate
  // NUL is valid UTF-8 (and escaped for JSON).
  CHECK(LogfmtObject(std::string("a=1\0", 4)) == R"({"a":"1\u0000"})");
  CHECK(LogfmtObject(std::string("a=\"\0\"", 5)) == R"({"a":"\u0000"})");
}

TEST_CASE("logfmt: multi-MiB values and lines", "[transforms][logfmt]") {
  const std::string big(4 << 20, 'v');
  CHECK(LogfmtFields("k=" + big + " z=1")["k"].get<std::string>().size() == big.size());
  std::string quoted = "k=\"";
  for (int i = 0; i < (1 << 20); ++i) quoted += "ab\\\"";
  quoted += "\" t";
  const auto f = LogfmtFields(quoted);
  CHECK(f["k"].get<std::string>().size() == 3u << 20);
  CHECK(f["t"] == true);
  std::string pairs;
  for (int i = 0; pairs.size() < (1u << 20); ++i) pairs += "key" + std::to_string(i) + "=\"v a l\" ";
  // nlohmann::json, not ordered_json: the latter looks keys up one by one.
  CHECK(nlohmann::json::parse(LogfmtObject(pairs).value()).size() > 50'000);
  CHECK_FALSE(LogfmtObject(pairs + "key7=dup"));
  CHECK_FALSE(LogfmtObject("k=\"" + big));  // unterminated after 4 MiB
}

}  // namespace sluice
