#include "transfer/smb/smb_names.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace sluice::transfer {

TEST_CASE("smb names: what SMB refuses is stored as look-alikes, and every name comes back", "[smb]") {
  CHECK(EncodeSmbName("line\nbreak") ==
        "line\xe2\x90\x8a"
        "break");  // U+240A
  CHECK(EncodeSmbName("a:b?c") ==
        "a\xef\xbc\x9a"
        "b\xef\xbc\x9f"
        "c");  // U+FF1A, U+FF1F
  CHECK(EncodeSmbName("dir/plain name.txt") == "dir/plain name.txt");
  const std::vector<std::string> names = {
      "line\nbreak",
      "tab\there",
      "a\"b*c:d<e>f?g\\h|i",
      "caf\xc3\xa9",
      "\xe2\x90\x8a",    // a literal U+240A
      "\xe2\x80\x9b",    // a literal quote U+201B alone
      "\xe2\x80\x9b\n",  // a quote before a control character
      "\xe2\x80\x9b\xe2\x90\x8a",
      "\xe2\x80\x9b\xe2\x80\x9b",
      "bad\xff\xfe utf8",
      "x\xef\xbc\x9ay",
  };
  for (const std::string& n : names) {
    INFO(n);
    const std::string encoded = EncodeSmbName(n);
    for (const char c : encoded) {
      CHECK((static_cast<unsigned char>(c) >= 0x20 || c == '\0'));
      CHECK(std::string_view("\"*:<>?\\|").find(c) == std::string_view::npos);
    }
    CHECK(DecodeSmbName(encoded) == n);
  }
  // A name made on the server by someone else, with no look-alike, is itself.
  CHECK(DecodeSmbName("\xe2\x80\x9b"
                      "abc") ==
        "\xe2\x80\x9b"
        "abc");
}

}  // namespace sluice::transfer
