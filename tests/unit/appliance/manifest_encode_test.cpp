#include <catch2/catch.hpp>
#include <string>

#include "appliance/manifest.h"

using namespace sluice::appliance;

TEST_CASE("manifest: NFC form of ASCII, composed and decomposed names", "[unit][appliance]") {
  CHECK(Nfc("dir/plain-name.txt") == "dir/plain-name.txt");
  CHECK(Nfc("") == "");
  CHECK(Nfc("caf\xC3\xA9") == "caf\xC3\xA9");   // already composed
  CHECK(Nfc("cafe\xCC\x81") == "caf\xC3\xA9");  // e + combining acute -> é
}

TEST_CASE("manifest: a large manifest's entries come out in order, as EncodeEntry writes each", "[unit][appliance]") {
  // Above the size where the entries are encoded on two threads; odd, so the
  // halves differ in length.
  for (size_t count : {size_t{10}, size_t{5001}}) {
    Manifest m;
    m.header.format = 1;
    m.header.tool = "sluice test";
    m.objects.push_back(ObjectInfo{"bundles/000001.tar.zst", true, 123, std::string(64, 'a'), count, 0, 0, 0});
    std::string expected;
    for (size_t i = 0; i < count; ++i) {
      Entry e;
      e.path = "d/f" + std::to_string(i) + (i % 7 == 0 ? "-cafe\xCC\x81" : "");
      e.size = i;
      e.mtime_ns = static_cast<int64_t>(i) * 1000;
      e.mode = 0644;
      e.sha256 = std::string(64, 'b');
      e.crc64nvme = std::string(16, 'c');
      e.object = "bundles/000001.tar.zst";
      e.member = static_cast<int64_t>(i);
      expected += EncodeEntry(e);
      m.entries.push_back(std::move(e));
    }
    const std::string text = EncodeManifest(m);
    const size_t first_entry = text.find("{\"crc64nvme\"");
    REQUIRE(first_entry != std::string::npos);
    const size_t trailer = text.rfind("{\"kind\":\"trailer\"");
    REQUIRE(trailer != std::string::npos);
    INFO("entries: " << count);
    CHECK(text.substr(first_entry, trailer - first_entry) == expected);
  }
}
