#include "agent/transforms/parse/csv_parser.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace sluice {
namespace {

constexpr std::string_view kCsvPrefix = "kept|";

CsvParser MakeCsvParser(std::vector<std::string> columns, std::string delimiter = ",") {
  Result<CsvParser> p = CsvParser::Create(CsvOptions{std::move(columns), std::move(delimiter)});
  INFO(p.status().message());
  REQUIRE(p.ok());
  return std::move(p).value();
}

// The object Parse appends, checked to be valid JSON; nullopt when Parse
// fails, checked to leave the string as it was.
std::optional<std::string> CsvObject(const CsvParser& parser, std::string_view line) {
  std::string out(kCsvPrefix);
  if (!parser.Parse(line, out)) {
    CHECK(out == kCsvPrefix);
    return std::nullopt;
  }
  REQUIRE(out.substr(0, kCsvPrefix.size()) == kCsvPrefix);
  std::string json = out.substr(kCsvPrefix.size());
  CHECK(nlohmann::ordered_json::accept(json));
  return json;
}

std::string CsvCreateError(std::vector<std::string> columns, std::string delimiter = ",") {
  Result<CsvParser> p = CsvParser::Create(CsvOptions{std::move(columns), std::move(delimiter)});
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == ErrorCode::kInvalidArgument);
  return p.status().message();
}

}  // namespace

TEST_CASE("csv: fields become an object keyed by the columns", "[transforms][csv]") {
  const CsvParser p = MakeCsvParser({"user", "note", "n"});
  CHECK(CsvObject(p, "alice,hello,3") == R"({"user":"alice","note":"hello","n":"3"})");
  CHECK(CsvObject(p, R"(alice,"x, ""y""",3)") == R"({"user":"alice","note":"x, \"y\"","n":"3"})");
  CHECK(CsvObject(p, R"("","""",)") == R"({"user":"","note":"\"","n":""})");
  CHECK(CsvObject(p, ",,") == R"({"user":"","note":"","n":""})");
  CHECK(CsvObject(p, " a , b ,c ") == R"({"user":" a ","note":" b ","n":"c "})");  // spaces belong to fields
  CHECK(CsvObject(p, "a,\"multi\nline\",\"\\\"") == R"({"user":"a","note":"multi\nline","n":"\\"})");
  CHECK(CsvObject(p, "a,b,\"c\"\r") == R"({"user":"a","note":"b","n":"c"})");  // CRLF line end
  CHECK(CsvObject(p, "a,b,c\r\r") == R"({"user":"a","note":"b","n":"c\r"})");  // only one CR is the line end
  const CsvParser one = MakeCsvParser({"only"});
  CHECK(CsvObject(one, "") == R"({"only":""})");
  CHECK(CsvObject(one, "a\tb") == R"({"only":"a\tb"})");
}

TEST_CASE("csv: other delimiters", "[transforms][csv]") {
  const CsvParser tsv = MakeCsvParser({"a", "b"}, "\t");
  CHECK(CsvObject(tsv, "1,2\t\"x\ty\"") == R"({"a":"1,2","b":"x\ty"})");
  const CsvParser semi = MakeCsvParser({"a", "b"}, ";");
  CHECK(CsvObject(semi, "1;2") == R"({"a":"1","b":"2"})");
  CHECK_FALSE(CsvObject(semi, "1,2"));
  const CsvParser space = MakeCsvParser({"a", "b"}, " ");
  CHECK(CsvObject(space, "\"x y\" z") == R"({"a":"x y","b":"z"})");
}

TEST_CASE("csv: the field count must equal the column count", "[transforms][csv]") {
  const CsvParser p = MakeCsvParser({"a", "b"});
  CHECK_FALSE(CsvObject(p, "1"));
  CHECK_FALSE(CsvObject(p, ""));
  CHECK_FALSE(CsvObject(p, "1,2,3"));
  CHECK_FALSE(CsvObject(p, "1,2,"));
  CHECK_FALSE(CsvObject(p, "\"1,2\""));
  CHECK(CsvObject(p, "1,") == R"({"a":"1","b":""})");
}

TEST_CASE("csv: malformed quoting fails the line", "[transforms][csv]") {
  const CsvParser p = MakeCsvParser({"a", "b"});
  for (const char* bad :
       {"x\"y,z", "\"x\"y,z", "\"x\" ,z", " \"x\",z", "\"unterminated,z", "x,\"y", "x,\"y\"\"", "x,y\"", "x,\"y\"z"}) {
    INFO(bad);
    CHECK_FALSE(CsvObject(p, bad));
  }
}

TEST_CASE("csv: unicode and lines that are not UTF-8", "[transforms][csv]") {
  const CsvParser p = MakeCsvParser({"имя", "😀"});
  const auto f = nlohmann::ordered_json::parse(CsvObject(p, "Zoë,\"日本, 語\"").value());
  CHECK(f["имя"] == "Zoë");
  CHECK(f["😀"] == "日本, 語");
  CHECK_FALSE(CsvObject(p, "\xff,b"));
  CHECK_FALSE(CsvObject(p, "a,\"\xc3\""));
  CHECK_FALSE(CsvObject(p, "caf\xe9,b"));  // Latin-1
}

TEST_CASE("csv: options are checked when the parser is made", "[transforms][csv]") {
  CHECK(CsvCreateError({}).find("at least one column") != std::string::npos);
  CHECK(CsvCreateError({"a", ""}).find("column 2 has an empty name") != std::string::npos);
  CHECK(CsvCreateError({"a", "b", "a"}).find("\"a\" appears more than once") != std::string::npos);
  CHECK(CsvCreateError({"a", "\xff"}).find("not valid UTF-8") != std::string::npos);
  CHECK(CsvCreateError({"a"}, "\"").find("delimiter") != std::string::npos);
  CHECK(CsvCreateError({"a"}, "\n").find("line break") != std::string::npos);
  CHECK(CsvCreateError({"a"}, "\r").find("line break") != std::string::npos);
  CHECK(CsvCreateError({"a"}, "").find("one byte") != std::string::npos);
  CHECK(CsvCreateError({"a"}, ",,").find("one byte, not 2") != std::string::npos);
  CHECK(CsvCreateError({"a"}, "é").find("one byte") != std::string::npos);
  CHECK(CsvCreateError({"a"}, "\xa7").find("ASCII") != std::string::npos);
  CHECK(CsvParser::Create(CsvOptions{{"a"}, "|"}).ok());
  CHECK(MakeCsvParser({"x", "y"}).columns() == std::vector<std::string>{"x", "y"});
  CHECK(MakeCsvParser({"x"}).delimiter() == ',');
}

TEST_CASE("csv: multi-MiB fields", "[transforms][csv]") {
  const CsvParser p = MakeCsvParser({"a", "b", "c"});
  const std::string big(4 << 20, 'x');
  CHECK(nlohmann::json::parse(CsvObject(p, "1," + big + ",3").value())["b"].get<std::string>().size() == big.size());
  std::string quoted = "\"";
  for (int i = 0; i < (1 << 20); ++i) quoted += "a,\"\"";
  quoted += "\"";
  const auto f = nlohmann::json::parse(CsvObject(p, quoted + ",," + quoted).value());
  CHECK(f["a"].get<std::string>().size() == 3u << 20);
  CHECK(f["c"] == f["a"]);
  CHECK_FALSE(CsvObject(p, "1,2,\"" + big));  // unterminated after 4 MiB
  CHECK_FALSE(CsvObject(p, "1,2," + big + "\""));
}

}  // namespace sluice
