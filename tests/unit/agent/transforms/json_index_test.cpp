#include "agent/transforms/json_index.h"

#include <simdjson.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

using namespace sluice;

namespace {

// The index reads what simdjson's On-Demand parser reads; the agent used to
// read records with the DOM parser, which validates the whole text. The two
// must agree on what is JSON.
struct IndexResult {
  bool ok = false;
  std::vector<JsonNode> nodes;
  std::string padded;  // the nodes' views point into it
};

void IndexText(JsonIndexer& indexer, std::string_view text, IndexResult& r) {
  r.padded.assign(text);
  r.padded.append(JsonIndexer::kPadding, '\0');
  std::string_view error;
  r.ok = indexer.Index(std::string_view(r.padded.data(), text.size()), r.nodes, error);
  if (!r.ok) CHECK_FALSE(error.empty());
}

bool DomAccepts(simdjson::dom::parser& dom, std::string_view text) {
  simdjson::dom::element root;
  return dom.parse(text.data(), text.size()).get(root) == simdjson::SUCCESS;
}

bool IsSpaceByte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Every node's text is its value as written: no spaces around it, and for a
// member the key as written before it.
void CheckNodes(const IndexResult& r, std::string_view text) {
  REQUIRE_FALSE(r.nodes.empty());
  const JsonNode& root = r.nodes[0];
  CHECK(root.size == r.nodes.size());
  size_t b = 0;
  while (b < text.size() && IsSpaceByte(text[b])) ++b;
  size_t e = text.size();
  while (e > b && IsSpaceByte(text[e - 1])) --e;
  CHECK(root.text == text.substr(b, e - b));
  for (const JsonNode& n : r.nodes) {
    REQUIRE_FALSE(n.text.empty());
    CHECK_FALSE(IsSpaceByte(n.text.front()));
    CHECK_FALSE(IsSpaceByte(n.text.back()));
    if (!n.key_raw.empty()) {
      CHECK(n.key_raw.front() == '"');
      CHECK(n.key_raw.back() == '"');
      CHECK(n.key_raw.data() + n.key_raw.size() <= n.text.data());
    }
    if (n.type == JsonType::kString) CHECK(n.text.front() == '"');
    if (n.type == JsonType::kObject) CHECK((n.text.front() == '{' && n.text.back() == '}'));
    if (n.type == JsonType::kArray) CHECK((n.text.front() == '[' && n.text.back() == ']'));
  }
}

const std::vector<std::string> kValid = {
    "{}",
    "[]",
    R"({"a":1})",
    " \r\n{ \"a\" : [ 1 , 2 , {\"b\":null} ] , \"c\":\"x\\ny\" }\n ",
    R"("str")",
    R"("caf\u00e9 \ud83d\ude00")",
    "12",
    "-0.5e10",
    "true",
    "false",
    "null",
    "18446744073709551615",
    "-9223372036854775808",
    R"({"k\"ey":1,"k\\":2,"\u0041":3})",
    R"({"a":1,"a":2})",
    "[[[[]]],{},[{}]]",
    R"({"s":"a\"b\\c\/d\b\f\n\r\t"})",
    "{\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
    "[1.5,-0,0,1E+2,1e-2,2.5E3]",
};

const std::vector<std::string> kInvalid = {
    "",
    "   ",
    "{",
    "}",
    "[",
    R"({"a"})",
    R"({"a":})",
    R"({"a":1,})",
    "[1,]",
    "[1 2]",
    R"({"a":1 "b":2})",
    R"({"a" 1})",
    "[1,2}",
    R"({"a":[1,2]])",
    R"("abc)",
    R"("a\x")",
    R"("\u12")",
    "nul",
    "tru",
    "True",
    "nulll",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "1e400",
    "18446744073709551616",
    "{} x",
    "{}}",
    "[] []",
    R"("a" "b")",
    "1 2",
    R"({"a":nan})",
    "[1,,2]",
    "{,}",
    "\"\x01\"",
    "\"\xff\"",
    "{\"a\":\"\xc3\"}",
    "[-]",
    "[+1]",
    R"({"a":1}garbage)",
    R"({1:2})",
    "[truex]",
    "falsee",
    "nullx",
    "12abc",
    "\"a\"x",
    R"({"a":"b" , })",
};

}  // namespace

TEST_CASE("json index: accepts what simdjson's DOM parser accepts, and nothing else", "[unit][transforms]") {
  JsonIndexer indexer;
  simdjson::dom::parser dom;
  IndexResult r;
  for (const std::string& text : kValid) {
    INFO(text);
    REQUIRE(DomAccepts(dom, text));
    IndexText(indexer, text, r);
    REQUIRE(r.ok);
    CheckNodes(r, text);
  }
  for (const std::string& text : kInvalid) {
    INFO(text);
    REQUIRE_FALSE(DomAccepts(dom, text));
    IndexText(indexer, text, r);
    CHECK_FALSE(r.ok);
  }
  // Nesting up to the DOM parser's depth limit and just past it: empty
  // arrays, arrays around a number, objects around an empty object.
  for (const size_t depth : {size_t{1023}, size_t{1024}, size_t{1025}}) {
    std::string nested_objects;
    for (size_t i = 1; i < depth; ++i) nested_objects += R"({"a":)";
    nested_objects += "{}" + std::string(depth - 1, '}');
    for (const std::string& text : {std::string(depth, '[') + std::string(depth, ']'),
                                    std::string(depth, '[') + "1" + std::string(depth, ']'), nested_objects}) {
      INFO(depth << " " << text.substr(0, 12));
      IndexText(indexer, text, r);
      CHECK(r.ok == DomAccepts(dom, text));
    }
  }
}

TEST_CASE("json index: agrees with the DOM parser on mutated texts", "[unit][transforms]") {
  // Each valid text with one byte deleted, replaced or inserted, at random:
  // mostly invalid, sometimes still valid; the two parsers must agree.
  std::mt19937 rng(20261124);
  const std::string alphabet = "{}[],:\"\\ 0123456789.eE+-truefalsnl\x01\xc3\xff";
  JsonIndexer indexer;
  simdjson::dom::parser dom;
  IndexResult r;
  size_t accepted = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = kValid[rng() % kValid.size()];
    const size_t at = text.empty() ? 0 : rng() % text.size();
    const char c = alphabet[rng() % alphabet.size()];
    switch (rng() % 3) {
      case 0:
        if (!text.empty()) text.erase(at, 1);
        break;
      case 1:
        if (!text.empty()) text[at] = c;
        break;
      default:
        text.insert(at, 1, c);
    }
    INFO(text);
    IndexText(indexer, text, r);
    const bool dom_ok = DomAccepts(dom, text);
    REQUIRE(r.ok == dom_ok);
    if (r.ok) {
      ++accepted;
      CheckNodes(r, text);
    }
  }
  CHECK(accepted > 100);  // the mutations reach valid texts too, not only broken ones
}

TEST_CASE("json index: keys and strings unescaped, values where they are written", "[unit][transforms]") {
  JsonIndexer indexer;
  IndexResult r;
  const std::string text = R"({ "a\"b" : "x\ty" , "n":  -1.50 ,"arr":[ true,null ], "e":{}})";
  IndexText(indexer, text, r);
  REQUIRE(r.ok);
  REQUIRE(r.nodes.size() == 5);
  const JsonNode& root = r.nodes[0];
  CHECK(root.type == JsonType::kObject);
  CHECK(root.count == 4);
  const JsonNode* m = root.first_child();
  CHECK(m->key_raw == R"("a\"b")");
  CHECK(m->key == "a\"b");
  CHECK(m->type == JsonType::kString);
  CHECK(m->text == R"("x\ty")");
  CHECK(m->str == "x\ty");
  m = m->next_sibling();
  CHECK(m->key == "n");
  CHECK(m->type == JsonType::kNumber);
  CHECK(m->text == "-1.50");
  m = m->next_sibling();
  CHECK(m->key == "arr");
  CHECK(m->type == JsonType::kArray);
  CHECK(m->text == "[ true,null ]");
  CHECK(m->count == 2);
  CHECK_FALSE(m->elements_indexed);  // checked, not indexed: the array's text indexed again reaches them
  CHECK(m->size == 1);
  m = m->next_sibling();
  CHECK(m->key == "e");
  CHECK(m->text == "{}");
  CHECK(m->count == 0);
  CHECK(m->next_sibling() == r.nodes.data() + r.nodes.size());

  // An array's elements, when asked for: nested arrays again only checked.
  IndexResult elements;
  elements.padded = std::string(R"([ {"a":[1,2]}, "s" ,[3] ])") + std::string(JsonIndexer::kPadding, '\0');
  std::string_view error;
  REQUIRE(indexer.Index(std::string_view(elements.padded.data(), 25), elements.nodes, error, /*elements=*/true));
  const JsonNode& array = elements.nodes[0];
  CHECK(array.elements_indexed);
  CHECK(array.count == 3);
  const JsonNode* x = array.first_child();
  CHECK(x->type == JsonType::kObject);
  CHECK(x->first_child()->key == "a");
  CHECK_FALSE(x->first_child()->elements_indexed);
  x = x->next_sibling();
  CHECK(x->str == "s");
  x = x->next_sibling();
  CHECK(x->text == "[3]");
  CHECK_FALSE(x->elements_indexed);
  CHECK(x->next_sibling() == elements.nodes.data() + elements.nodes.size());

  // A document that is one value.
  IndexText(indexer, "  \"t\\u00e9\"  ", r);
  REQUIRE(r.ok);
  REQUIRE(r.nodes.size() == 1);
  CHECK(r.nodes[0].type == JsonType::kString);
  CHECK(r.nodes[0].text == "\"t\\u00e9\"");
  CHECK(r.nodes[0].str == "t\xc3\xa9");
}
