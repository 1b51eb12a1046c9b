#include "agent/transforms/json_doc.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace sluice;

namespace {

std::string WriteDoc(const JsonDoc& d) {
  std::string out;
  d.Write(out);
  return out;
}

JsonDoc MustParse(JsonParsers& p, std::string_view text) {
  Result<JsonDoc> d = JsonDoc::Parse(p, text);
  REQUIRE(d.ok());
  return std::move(d).value();
}

}  // namespace

TEST_CASE("json doc: an unedited document writes back the same value, compact", "[unit][transforms]") {
  JsonParsers p;
  const std::string text =
      R"({ "ts":"2026-11-21T10:00:00.123Z", "n": -12, "big": 18446744073709551615, "f": 21.5, "e": 1e300,)"
      R"( "ok": true, "no": null, "s": "a\"b\\c\n\u00e9\u20ac😀\u007f", "arr": [1, [2, {"x": []}], {}], "o": {}})";
  const JsonDoc d = MustParse(p, text);
  CHECK_FALSE(d.edited());
  const std::string out = WriteDoc(d);
  CHECK(nlohmann::json::parse(out) == nlohmann::json::parse(text));
  CHECK(out.find(": ") == std::string::npos);
}

TEST_CASE("json doc: Find sees values, with strings unescaped and numbers as written", "[unit][transforms]") {
  JsonParsers p;
  const JsonDoc d = MustParse(p, R"({"a":{"b":"x\ty","n":42,"l":[10,"z"]},"t":false})");
  CHECK(d.Find({"a", "b"})->text == "x\ty");
  CHECK(d.Find({"a", "b"})->type == JsonType::kString);
  CHECK(d.Find({"a", "n"})->text == "42");
  CHECK(d.Find({"a", "n"})->type == JsonType::kNumber);
  CHECK(d.Find({"a", "l", "1"})->text == "z");
  CHECK(d.Find({"a", "l"})->text == R"([10,"z"])");
  CHECK(d.Find({"t"})->text == "false");
  CHECK_FALSE(d.Find({"a", "missing"}).has_value());
  CHECK_FALSE(d.Find({"a", "b", "c"}).has_value());   // into a string
  CHECK_FALSE(d.Find({"a", "l", "01"}).has_value());  // not an index
  CHECK_FALSE(d.Find({"a", "l", "2"}).has_value());
  CHECK(d.TypeAt({}) == JsonType::kObject);
}

TEST_CASE("json doc: edits set, add and remove values at any depth, in the written output", "[unit][transforms]") {
  JsonParsers p;
  JsonDoc d = MustParse(p, R"({"msg":"hello","fields":{"user":"ann","ip":"10.0.0.1"},"l":[{"k":1},{"k":2}]})");
  CHECK(d.Set({"fields", "user"}, R"("tok")"));
  CHECK(d.Remove({"fields", "ip"}));
  CHECK(d.Set({"l", "1", "k"}, "3"));
  CHECK(d.Set({"added"}, R"({"deep":[1]})"));
  CHECK(d.Remove({"msg"}));
  CHECK_FALSE(d.Remove({"msg"}));          // already gone
  CHECK_FALSE(d.Set({"nope", "x"}, "1"));  // no such parent
  CHECK_FALSE(d.Set({"msg", "x"}, "1"));   // the parent was removed
  CHECK_FALSE(d.Set({"l", "5"}, "1"));     // past the array's end
  CHECK(d.edited());
  const nlohmann::json out = nlohmann::json::parse(WriteDoc(d));
  CHECK(out == nlohmann::json::parse(R"({"fields":{"user":"tok"},"l":[{"k":1},{"k":3}],"added":{"deep":[1]}})"));
  // Find sees the edits, including inside a value an edit set.
  CHECK(d.Find({"added", "deep", "0"})->text == "1");
  CHECK(d.Find({"fields", "user"})->text == "tok");
  CHECK_FALSE(d.Has({"fields", "ip"}));
}

TEST_CASE("json doc: an edit inside a value another edit set is applied to it", "[unit][transforms]") {
  JsonParsers p;
  JsonDoc d = MustParse(p, R"({"msg":"{\"user\":\"ann\"}"})");
  REQUIRE(d.Set({"fields"}, R"({"user":"ann","n":[1,2]})"));
  REQUIRE(d.Set({"fields", "user"}, R"("tok")"));
  REQUIRE(d.Remove({"fields", "n", "0"}));
  CHECK(nlohmann::json::parse(WriteDoc(d)) ==
        nlohmann::json::parse(R"({"msg":"{\"user\":\"ann\"}","fields":{"user":"tok","n":[2]}})"));
  // Setting the parent again drops the edits below it.
  REQUIRE(d.Set({"fields"}, R"({"other":1})"));
  CHECK(nlohmann::json::parse(WriteDoc(d)) ==
        nlohmann::json::parse(R"({"msg":"{\"user\":\"ann\"}","fields":{"other":1}})"));
}

TEST_CASE("json doc: copies share the parsed document but not their edits", "[unit][transforms]") {
  JsonParsers p;
  JsonDoc a = MustParse(p, R"({"x":1,"y":2})");
  JsonDoc b = a;
  REQUIRE(a.Remove({"x"}));
  REQUIRE(b.Set({"y"}, "3"));
  CHECK(WriteDoc(a) == R"({"y":2})");
  CHECK(WriteDoc(b) == R"({"x":1,"y":3})");
}

TEST_CASE("json doc: strings and fields are visited with their paths, edits applied", "[unit][transforms]") {
  JsonParsers p;
  JsonDoc d = MustParse(p, R"({"payload":{"a":"x","b":{"c":"y","n":1},"l":["z",2]},"msg":"m"})");
  REQUIRE(d.Set({"payload", "b", "c"}, R"("Y")"));
  REQUIRE(d.Remove({"payload", "a"}));
  std::vector<std::string> strings;
  d.ForEachString({"payload"}, [&](const JsonPath& path, std::string_view v) {
    strings.push_back(JsonPathString(path) + "=" + std::string(v));
  });
  CHECK(strings == std::vector<std::string>{"payload.b.c=Y", "payload.l.0=z"});
  std::vector<std::string> fields;
  d.ForEachField({"payload"}, [&](const JsonPath& path, JsonType t) {
    fields.push_back(JsonPathString(path) + ":" + std::string(JsonTypeName(t)));
  });
  CHECK(fields ==
        std::vector<std::string>{"payload.b:object", "payload.b.c:string", "payload.b.n:number", "payload.l:array"});
}

TEST_CASE("json doc: malformed text, invalid UTF-8 and huge values", "[unit][transforms]") {
  JsonParsers p;
  CHECK_FALSE(JsonDoc::Parse(p, R"({"a":)").ok());
  CHECK_FALSE(JsonDoc::Parse(p, "{\"a\":\"\xff\"}").ok());
  CHECK_FALSE(JsonDoc::Parse(p, "").ok());
  CHECK_FALSE(JsonDoc::Parse(p, R"({"a":1} trailing)").ok());
  const std::string big(4 << 20, 'x');
  const JsonDoc d = MustParse(p, R"({"big":")" + big + R"("})");
  CHECK(d.Find({"big"})->text.size() == big.size());
  CHECK(WriteDoc(d).size() == big.size() + 10);
}

TEST_CASE("json doc: field paths", "[unit][transforms]") {
  CHECK(ParseJsonPath("fields.user.email").value() == JsonPath{"fields", "user", "email"});
  CHECK(ParseJsonPath("msg").value() == JsonPath{"msg"});
  CHECK_FALSE(ParseJsonPath("").ok());
  CHECK_FALSE(ParseJsonPath("a..b").ok());
  CHECK_FALSE(ParseJsonPath(".a").ok());
  CHECK_FALSE(ParseJsonPath("a.").ok());
  CHECK(JsonPathString({"a", "0", "b"}) == "a.0.b");
}
