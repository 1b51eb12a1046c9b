// The export's scan: every entry in the order the manifest and the bundles
// use (children sorted by name bytes, a directory before what it holds),
// whichever threads scanned which subdirectories, and the same on every run.
#include "appliance/source_scan.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

using namespace sluice;
using namespace sluice::appliance;
namespace fs = std::filesystem;

namespace {

// The expected order, by a plain recursive walk.
void ReferenceWalk(const fs::path& root, const std::string& rel, std::vector<std::string>& out) {
  std::vector<std::string> names;
  for (const fs::directory_entry& de : fs::directory_iterator(rel.empty() ? root : root / rel)) {
    names.push_back(de.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    const std::string path = rel.empty() ? n : rel + "/" + n;
    out.push_back(path);
    if (fs::is_directory(fs::symlink_status(root / path))) ReferenceWalk(root, path, out);
  }
}

}  // namespace

TEST_CASE("scan: entries in name order across subdirectories scanned from two threads", "[unit][appliance]") {
  test::TempDir dir("sluice-scan");
  const fs::path src = dir / "src";
  // Directories and files interleaved in name order at each level, nesting,
  // empty directories, a directory large enough for the split stat, a symlink.
  for (int d = 0; d < 12; ++d) {
    const std::string top = "d" + std::to_string(d);
    fs::create_directories(src / top);
    test::WriteFile(src / (top + "-file"), "x");
    for (int s = 0; s < (d % 4); ++s) {
      fs::create_directories(src / top / ("sub" + std::to_string(s)) / "deeper");
      test::WriteFile(src / top / ("sub" + std::to_string(s)) / "deeper" / "leaf", std::string(d + s, 'y'));
      test::WriteFile(src / top / ("sub" + std::to_string(s) + ".txt"), "z");
    }
  }
  fs::create_directories(src / "d3" / "empty");
  for (int i = 0; i < 700; ++i) test::WriteFile(src / "d5" / ("many-" + std::to_string(i)), "m");
  fs::create_symlink("d1", src / "link-to-d1");
  test::WriteFile(src / "a-first", "a");

  std::vector<std::string> expected;
  ReferenceWalk(src, "", expected);
  for (int run = 0; run < 3; ++run) {
    Result<ScanResult> scanned = ScanSource(src);
    REQUIRE(scanned.ok());
    std::vector<std::string> got;
    for (const Entry& e : scanned.value().entries) got.push_back(e.path);
    REQUIRE(got == expected);
    const auto& entries = scanned.value().entries;
    const auto leaf =
        std::find_if(entries.begin(), entries.end(), [](const Entry& e) { return e.path == "d7/sub2/deeper/leaf"; });
    REQUIRE(leaf != entries.end());
    CHECK(leaf->type == EntryType::kFile);
    CHECK(leaf->size == 9);
    const auto link =
        std::find_if(entries.begin(), entries.end(), [](const Entry& e) { return e.path == "link-to-d1"; });
    REQUIRE(link != entries.end());
    CHECK(link->type == EntryType::kSymlink);
    CHECK(link->target == "d1");
  }
}
