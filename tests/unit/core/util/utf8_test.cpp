#include "core/util/utf8.h"

#include <random>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace sluice {
namespace {

std::string Escaped(std::string_view s) {
  std::string out = "prefix:";
  AppendJsonEscaped(out, s);
  return out.substr(7);
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s += static_cast<char>(b);
  return s;
}

}  // namespace

TEST_CASE("utf8: valid text is accepted", "[unit]") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain ascii, long enough to use the word-at-a-time path"));
  CHECK(IsValidUtf8(std::string("nul \0 inside", 12)));
  CHECK(IsValidUtf8("\x7f"));
  CHECK(IsValidUtf8("caf\xc3\xa9"));                 // U+00E9
  CHECK(IsValidUtf8("\xc2\x80"));                    // U+0080, smallest 2-byte
  CHECK(IsValidUtf8("\xdf\xbf"));                    // U+07FF
  CHECK(IsValidUtf8("\xe0\xa0\x80"));                // U+0800, smallest 3-byte
  CHECK(IsValidUtf8("\xe2\x82\xac"));                // U+20AC euro
  CHECK(IsValidUtf8("\xed\x9f\xbf"));                // U+D7FF, just below the surrogates
  CHECK(IsValidUtf8("\xee\x80\x80"));                // U+E000, just above them
  CHECK(IsValidUtf8("\xef\xbf\xbf"));                // U+FFFF
  CHECK(IsValidUtf8("\xf0\x90\x80\x80"));            // U+10000, smallest 4-byte
  CHECK(IsValidUtf8("\xf0\x9f\x98\x80 emoji"));      // U+1F600
  CHECK(IsValidUtf8("\xf4\x8f\xbf\xbf"));            // U+10FFFF, the largest
  CHECK(IsValidUtf8("0123456789abcdef\xf0\x9f\x98\x80" "0123456789abcdef\xc3\xa9"));
}

TEST_CASE("utf8: invalid sequences are rejected where they start", "[unit]") {
  struct Case {
    std::string text;
    size_t prefix;
  };
  const std::vector<Case> cases{
      {Bytes({0x80}), 0},                           // lone continuation byte
      {"ok" + Bytes({0xbf}), 2},                    // continuation after ASCII
      {Bytes({0xc0, 0xaf}), 0},                     // overlong '/'
      {Bytes({0xc1, 0xbf}), 0},                     // overlong
      {Bytes({0xe0, 0x80, 0xaf}), 0},               // overlong 3-byte '/'
      {Bytes({0xe0, 0x9f, 0xbf}), 0},               // overlong U+07FF
      {Bytes({0xf0, 0x80, 0x80, 0xaf}), 0},         // overlong 4-byte '/'
      {Bytes({0xf0, 0x8f, 0xbf, 0xbf}), 0},         // overlong U+FFFF
      {Bytes({0xed, 0xa0, 0x80}), 0},               // U+D800, high surrogate
      {Bytes({0xed, 0xbf, 0xbf}), 0},               // U+DFFF, low surrogate
      {Bytes({0xed, 0xa0, 0xbd, 0xed, 0xb2, 0xa9}), 0},  // CESU-8 surrogate pair
      {Bytes({0xf4, 0x90, 0x80, 0x80}), 0},         // U+110000
      {Bytes({0xf5, 0x80, 0x80, 0x80}), 0},         // lead byte beyond F4
      {Bytes({0xff}), 0},
      {Bytes({0xfe}), 0},
      {"abc" + Bytes({0xc3}), 3},                   // truncated 2-byte at the end
      {"abc" + Bytes({0xe2, 0x82}), 3},             // truncated 3-byte
      {"abc" + Bytes({0xf0, 0x9f, 0x98}), 3},       // truncated 4-byte
      {Bytes({0xc3, 0x28}), 0},                     // second byte not a continuation
      {Bytes({0xe2, 0x28, 0xa1}), 0},
      {Bytes({0xe2, 0x82, 0x28}), 0},
      {Bytes({0xf0, 0x9f, 0x98, 0x28}), 0},
      {"0123456789abcdef" + Bytes({0xc3, 0xa9, 0xff}) + "0123456789", 18},
  };
  for (const auto& c : cases) {
    INFO(Base64(c.text));
    CHECK_FALSE(IsValidUtf8(c.text));
    CHECK(ValidUtf8Prefix(c.text) == c.prefix);
  }
  CHECK(ValidUtf8Prefix("all good") == 8);
}

TEST_CASE("utf8: agrees with a reference decoder on random bytes", "[unit]") {
  // Reference: decode code points and check ranges, the definition of RFC 3629.
  const auto reference = [](const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (len == 0 || i + len > s.size()) return false;
      uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
      for (size_t k = 1; k < len; ++k) {
        const auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xc0) != 0x80) return false;
        cp = cp << 6 | (d & 0x3f);
      }
      const uint32_t min = len == 1 ? 0 : len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
      i += len;
    }
    return true;
  };
  std::mt19937 rng(99);
  const std::string alphabet = Bytes({'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
                                      0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff});
  int valid = 0;
  for (int i = 0; i < 50'000; ++i) {
    std::string s(rng() % 12, 'x');
    for (auto& ch : s) ch = alphabet[rng() % alphabet.size()];
    const bool want = reference(s);
    valid += want;
    INFO(Base64(s));
    REQUIRE(IsValidUtf8(s) == want);
  }
  CHECK(valid > 100);  // the generator does produce valid multi-byte text
}

TEST_CASE("utf8: JSON escaping escapes exactly what it must", "[unit]") {
  CHECK(Escaped("") == "");
  CHECK(Escaped("plain text stays as it is, even when longer than a word") ==
        "plain text stays as it is, even when longer than a word");
  CHECK(Escaped("\"") == "\\\"");
  CHECK(Escaped("\\") == "\\\\");
  CHECK(Escaped("\b\f\n\r\t") == "\\b\\f\\n\\r\\t");
  CHECK(Escaped(std::string("\0", 1)) == "\\u0000");
  CHECK(Escaped("\x01\x1f") == "\\u0001\\u001f");
  CHECK(Escaped("\x0b") == "\\u000b");
  CHECK(Escaped("\x7f") == "\\u007f");
  CHECK(Escaped("/ stays") == "/ stays");
  CHECK(Escaped("caf\xc3\xa9 \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xf0\x9f\x98\x80");
  CHECK(Escaped("0123456789abcdef\"0123456789abcdef\\x") == "0123456789abcdef\\\"0123456789abcdef\\\\x");
  // Every byte below 0x20 and 0x7f, escaped, round-trips through a JSON parser.
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  all += all;  // so escapes also occur inside the word-at-a-time path
  const auto parsed = nlohmann::json::parse("\"" + Escaped(all) + "\"");
  CHECK(parsed.get<std::string>() == all);
  const std::string escaped = Escaped(all);
  for (char ch : escaped) {
    const auto u = static_cast<unsigned char>(ch);
    CHECK((u >= 0x20 && u != 0x7f));
  }
}

TEST_CASE("utf8: JSON escaping appends to what is there", "[unit]") {
  std::string out = "{\"k\":\"";
  AppendJsonEscaped(out, "a\"b");
  out += "\"}";
  CHECK(out == "{\"k\":\"a\\\"b\"}");
}

TEST_CASE("utf8: base64 matches RFC 4648 test vectors", "[unit]") {
  const std::vector<std::pair<std::string, std::string>> vectors{
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CHECK(Base64(plain) == encoded);
    std::string decoded = "junk";
    CHECK(DecodeBase64(encoded, decoded));
    CHECK(decoded == plain);
  }
  CHECK(Base64(Bytes({0xfb, 0xff, 0xbf})) == "+/+/");
  std::string out = "x";
  AppendBase64(out, "foo");
  CHECK(out == "xZm9v");
}

TEST_CASE("utf8: base64 round-trips every byte value and length", "[unit]") {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 300; ++len) {
    std::string s(len, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    std::string back;
    REQUIRE(DecodeBase64(Base64(s), back));
    REQUIRE(back == s);
  }
}

TEST_CASE("utf8: malformed base64 is rejected", "[unit]") {
  std::string out;
  for (const char* bad : {"Z", "Zg", "Zg=", "Zm9", "Zm9vY", "Zg==Zg==", "Z===", "====", "=Zg=", "Zm 9v",
                          "Zm9v\n", "Zm9-", "Zm9_", "Zh==", "Zm9="}) {
    INFO(bad);
    CHECK_FALSE(DecodeBase64(bad, out));
  }
  CHECK_FALSE(DecodeBase64(std::string_view("Zm8=\0\0\0\0", 8), out));
  CHECK_FALSE(DecodeBase64(Bytes({'Z', 'm', '9', 0xc3}), out));
  CHECK(DecodeBase64("Zm8=", out));
  CHECK(out == "fo");
}

}  // namespace sluice
