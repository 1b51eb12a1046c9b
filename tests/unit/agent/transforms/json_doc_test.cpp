#include "agent/transforms/json_doc.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>

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

TEST_CASE("json doc: what no edit touches is written as it came, on one line", "[unit][transforms]") {
  JsonParsers p;
  const std::string text =
      R"({ "ts":"2026-11-21T10:00:00.123Z", "n": -12, "big": 18446744073709551615, "f": 21.50, "e": 1E300,)"
      R"( "ok": true, "no": null, "s": "a\"b\\c\n\u00e9\u20ac😀\u007f", "arr": [1, [2, {"x": []}], {}], "o": {}})";
  const JsonDoc d = MustParse(p, text);
  CHECK_FALSE(d.edited());
  CHECK(WriteDoc(d) == text);

  // Line breaks between tokens become spaces: the record stays one JSON line.
  const JsonDoc pretty = MustParse(p, "\r\n{\n  \"a\": [1,\r\n 2],\n  \"s\": \"x\\ny\"\n}\n");
  CHECK(WriteDoc(pretty) == "{   \"a\": [1,   2],   \"s\": \"x\\ny\" }");

  // Edited: the members around the edit keep their spelling byte for byte.
  JsonDoc e = MustParse(p, text);
  REQUIRE(e.Set({"n"}, "7"));
  REQUIRE(e.Set({"arr", "1", "1", "x"}, "[true]"));
  const std::string out = WriteDoc(e);
  CHECK(out.find(R"("n":7)") != std::string::npos);
  for (const char* kept : {R"("f": 21.50)", R"("e": 1E300)", R"("big": 18446744073709551615)",
                           R"("s": "a\"b\\c\n\u00e9\u20ac😀\u007f")", R"({"x":[true]})", R"("o": {})"}) {
    INFO(kept);
    CHECK(out.find(kept) != std::string::npos);
  }
  nlohmann::json want = nlohmann::json::parse(text);
  want["n"] = 7;
  want["arr"][1][1]["x"] = nlohmann::json::array({true});
  CHECK(nlohmann::json::parse(out) == want);
}

TEST_CASE("json doc: strings with quotes, backslashes and brackets do not confuse the splicing", "[unit][transforms]") {
  JsonParsers p;
  const std::string text =
      R"({"k\"}":"v\\","a\\\"[":["]\\",{"}":"\\\""}],"x\u0079":"\\\\\"{","z":{"in":"\\"},"last":1})";
  JsonDoc d = MustParse(p, text);
  CHECK(d.Find({"xy"})->text == "\\\\\"{");
  CHECK(d.Find({"a\\\"[", "1", "}"})->text == "\\\"");
  REQUIRE(d.Set({"z", "in"}, R"("tok")"));
  REQUIRE(d.Set({"last"}, "2"));
  REQUIRE(d.Remove({"k\"}"}));
  const std::string out = WriteDoc(d);
  CHECK(out == R"({"a\\\"[":["]\\",{"}":"\\\""}],"x\u0079":"\\\\\"{","z":{"in":"tok"},"last":2})");
  nlohmann::json want = nlohmann::json::parse(text);
  want.erase("k\"}");
  want["z"]["in"] = "tok";
  want["last"] = 2;
  CHECK(nlohmann::json::parse(out) == want);
}

TEST_CASE("json doc: splicing agrees with a JSON library on random strings and escapes", "[unit][transforms]") {
  // Strings of quotes, backslashes and other bytes, each written with one of
  // its escapes at random, of every length around the 16-byte blocks the
  // scanner reads; an edit after each makes Write scan past it.
  std::mt19937 rng(20261123);
  const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  JsonParsers p;
  for (int round = 0; round < 3000; ++round) {
    std::string value;
    std::string written = "\"";
    const size_t len = pick(70);
    for (size_t i = 0; i < len; ++i) {
      switch (pick(6)) {
        case 0:
          value += '"';
          written += pick(2) == 0 ? "\\\"" : "\\u0022";
          break;
        case 1:
          value += '\\';
          written += pick(2) == 0 ? "\\\\" : "\\u005c";
          break;
        case 2:
          value += '/';
          written += pick(2) == 0 ? "/" : "\\/";
          break;
        case 3:
          value += '\n';
          written += "\\n";
          break;
        case 4:
          value += "\xc3\xa9";  // é
          written += pick(2) == 0 ? "\xc3\xa9" : "\\u00e9";
          break;
        default:
          value += 'a';
          written += 'a';
      }
    }
    written += '"';
    const std::string text = R"({"s":)" + written + R"(,"t":[)" + written + R"(,1],"n":1})";
    INFO(text);
    JsonDoc d = MustParse(p, text);
    CHECK(d.Find({"s"})->text == value);
    REQUIRE(d.Set({"n"}, "2"));
    REQUIRE(d.Set({"t", "1"}, "3"));
    const std::string out = WriteDoc(d);
    CHECK(out == R"({"s":)" + written + R"(,"t":[)" + written + R"(,3],"n":2})");
    p.Reset();
  }
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

TEST_CASE("json doc: the members around the edited ones are copied as written, in one piece", "[unit][transforms]") {
  JsonParsers p;
  // After the last edited member, the rest is copied up to the closing
  // brace (spaces before it left out, line breaks made spaces).
  const std::string text = "{ \"a\" : 1 ,\n \"b\" : {\"x\":\"}\\\"{\" , \"y\": [1, {\"z\":2}]}\n,\t\"c\" : \"q\" \n}";
  JsonDoc d = MustParse(p, text);
  REQUIRE(d.Set({"a"}, "9"));
  CHECK(WriteDoc(d) == "{\"a\":9,\"b\" : {\"x\":\"}\\\"{\" , \"y\": [1, {\"z\":2}]} ,\t\"c\" : \"q\"}");
  JsonDoc nested = MustParse(p, text);
  REQUIRE(nested.Set({"b", "y", "1", "z"}, "5"));
  CHECK(WriteDoc(nested) == "{\"a\" : 1,\"b\":{\"x\":\"}\\\"{\",\"y\":[1,{\"z\":5}]},\"c\" : \"q\"}");
  JsonDoc added = MustParse(p, R"({ "a": 1 , "b": 2 })");
  REQUIRE(added.Set({"new"}, "3"));
  CHECK(WriteDoc(added) == R"({"a": 1 , "b": 2,"new":3})");
  JsonDoc empty = MustParse(p, "{ }");
  REQUIRE(empty.Set({"x"}, "1"));
  CHECK(WriteDoc(empty) == R"({"x":1})");

  // Duplicate keys: the edit applies to each member of that key, the last included.
  JsonDoc dup = MustParse(p, R"({"a":1,"b":2,"a":3,"c":4})");
  REQUIRE(dup.Set({"a"}, "9"));
  CHECK(WriteDoc(dup) == R"({"a":9,"b":2,"a":9,"c":4})");
  JsonDoc dup_removed = MustParse(p, R"({"a":1,"b":2,"a":3,"c":4})");
  REQUIRE(dup_removed.Remove({"a"}));
  CHECK(WriteDoc(dup_removed) == R"({"b":2,"c":4})");

  // More keys edited in one object than Write tracks by key.
  std::string many = "{";
  for (int i = 0; i < 12; ++i) many += (i > 0 ? "," : "") + ("\"k" + std::to_string(i) + "\":" + std::to_string(i));
  many += "}";
  JsonDoc m = MustParse(p, many);
  for (int i = 0; i < 10; ++i) REQUIRE(m.Set({"k" + std::to_string(i)}, "0"));
  REQUIRE(m.Set({"new"}, "1"));
  REQUIRE(m.Remove({"k3"}));
  CHECK(WriteDoc(m) == R"({"k0":0,"k1":0,"k2":0,"k4":0,"k5":0,"k6":0,"k7":0,"k8":0,"k9":0,"k10":10,"k11":11,"new":1})");

  // An object of more than 64 members, with duplicates of an edited key past the 64th.
  const auto wide = [](bool edited) {
    std::string w = "{";
    for (int i = 0; i < 70; ++i) {
      const int k = i % 67;
      w += (i > 0 ? "," : "") + ("\"w" + std::to_string(k) + "\":") +
           (edited && (k == 1 || k == 66) ? "0" : std::to_string(i));
    }
    return w + "}";
  };
  JsonDoc wd = MustParse(p, wide(false));
  REQUIRE(wd.Set({"w1"}, "0"));
  REQUIRE(wd.Set({"w66"}, "0"));
  CHECK(WriteDoc(wd) == wide(true));
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

  // A copy of a document with edits at several depths (the edits are copied
  // as a tree, the pool's nodes growing meanwhile), each side edited after.
  JsonDoc c = MustParse(p, R"({"o":{"p":{"q":1,"r":2},"s":[1,2]},"t":"u"})");
  REQUIRE(c.Set({"o", "p", "q"}, "10"));
  REQUIRE(c.Remove({"o", "s", "0"}));
  REQUIRE(c.Set({"added"}, R"({"n":1})"));
  REQUIRE(c.Set({"added", "m"}, "2"));
  for (int round = 0; round < 40; ++round) {  // enough copies to grow the pool past its first nodes
    JsonDoc d = c;
    CHECK(WriteDoc(d) == WriteDoc(c));
    REQUIRE(d.Set({"o", "p", "r"}, "20"));
    REQUIRE(d.Remove({"added", "n"}));
    CHECK(WriteDoc(d) == R"({"o":{"p":{"q":10,"r":20},"s":[2]},"t":"u","added":{"m":2}})");
  }
  CHECK(WriteDoc(c) == R"({"o":{"p":{"q":10,"r":2},"s":[2]},"t":"u","added":{"n":1,"m":2}})");
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

  // Members edits add are visited after the others, in the order the edits
  // were made (a set again moves a member to the end), with what was set
  // below them.
  REQUIRE(d.Set({"payload", "z"}, R"({"s":"Z"})"));
  REQUIRE(d.Set({"payload", "w"}, "1"));
  REQUIRE(d.Set({"payload", "z", "t"}, R"("T")"));
  REQUIRE(d.Set({"payload", "w"}, R"("W")"));
  strings.clear();
  d.ForEachString({"payload"}, [&](const JsonPath& path, std::string_view v) {
    strings.push_back(JsonPathString(path) + "=" + std::string(v));
  });
  CHECK(strings == std::vector<std::string>{"payload.b.c=Y", "payload.l.0=z", "payload.z.s=Z", "payload.z.t=T",
                                            "payload.w=W"});
  CHECK(WriteDoc(d) ==
        R"({"payload":{"b":{"c":"Y","n":1},"l":["z",2],"z":{"s":"Z","t":"T"},"w":"W"},"msg":"m"})");
}

TEST_CASE("json doc: values inside arrays are found, edited and visited, arrays of arrays too", "[unit][transforms]") {
  // An array's elements are indexed only when something reaches into them
  // (json_index.h): every way in is taken here, and the write is checked
  // against a JSON library making the same edits.
  JsonParsers p;
  const std::string text = R"({"readings":[1.5, 2, {"id":"a","tags":["x", "y"]}, [[3,4],[5,{"deep":"d"}]]],)"
                           R"( "more":[ ], "s":"t"})";
  JsonDoc d = MustParse(p, text);
  CHECK(d.Find({"readings", "0"})->text == "1.5");
  CHECK(d.Find({"readings", "2", "tags", "1"})->text == "y");
  CHECK(d.Find({"readings", "3", "1", "1", "deep"})->text == "d");
  CHECK(d.TypeAt({"readings", "3", "0"}) == JsonType::kArray);
  CHECK(d.Find({"readings", "3", "0"})->text == "[3,4]");
  CHECK_FALSE(d.Find({"readings", "4"}).has_value());
  CHECK_FALSE(d.Find({"more", "0"}).has_value());
  CHECK_FALSE(d.Set({"more", "0"}, "1"));  // past the (empty) array's end

  REQUIRE(d.Set({"readings", "1"}, "20"));
  REQUIRE(d.Set({"readings", "2", "tags", "0"}, R"("X")"));
  REQUIRE(d.Set({"readings", "3", "1", "1", "deep"}, R"(["D"])"));
  REQUIRE(d.Remove({"readings", "3", "0", "1"}));
  REQUIRE(d.Set({"readings", "3", "1", "1", "added"}, "true"));
  CHECK(d.Find({"readings", "3", "1", "1", "deep", "0"})->text == "D");

  nlohmann::json want = nlohmann::json::parse(text);
  want["readings"][1] = 20;
  want["readings"][2]["tags"][0] = "X";
  want["readings"][3][1][1]["deep"] = nlohmann::json::array({"D"});
  want["readings"][3][0].erase(1);
  want["readings"][3][1][1]["added"] = true;
  CHECK(nlohmann::json::parse(WriteDoc(d)) == want);
  // What no edit touched keeps its spelling and spacing.
  CHECK(WriteDoc(d).find(R"([1.5,20,)") != std::string::npos);
  CHECK(WriteDoc(d).find(R"("more":[ ])") != std::string::npos);

  std::vector<std::string> strings;
  d.ForEachString({"readings"}, [&](const JsonPath& path, std::string_view v) {
    strings.push_back(JsonPathString(path) + "=" + std::string(v));
  });
  CHECK(strings == std::vector<std::string>{"readings.2.id=a", "readings.2.tags.0=X", "readings.2.tags.1=y",
                                            "readings.3.1.1.deep.0=D"});

  // A document that is an array, and one parsed again after the pool's Reset.
  for (int round = 0; round < 2; ++round) {
    p.Reset();
    JsonDoc a = MustParse(p, R"([{"k":"v"},[1,[2]]])");
    CHECK(a.Find({"1", "1", "0"})->text == "2");
    REQUIRE(a.Set({"0", "k"}, R"("w")"));
    CHECK(WriteDoc(a) == R"([{"k":"w"},[1,[2]]])");
  }
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
