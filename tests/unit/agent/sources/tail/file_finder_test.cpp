#include "agent/sources/tail/file_finder.h"

#include <algorithm>
#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace sluice {
namespace {

using test::TempDir;
using test::WriteFile;

std::vector<Glob> Globs(std::initializer_list<std::string> patterns) {
  std::vector<Glob> out;
  for (const std::string& p : patterns) {
    Result<Glob> g = Glob::Compile(p);
    REQUIRE(g.ok());
    out.push_back(std::move(g).value());
  }
  return out;
}

std::vector<std::string> Paths(const FindResult& r, const TempDir& dir) {
  std::vector<std::string> out;
  for (const FoundFile& f : r.files) out.push_back(std::filesystem::relative(f.path, dir.path()).string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("tail: files are found by globs with ** and excludes", "[unit]") {
  TempDir dir("sluice-tail");
  const std::string root = dir.path().string();
  std::filesystem::create_directories(dir / "a/b/c");
  std::filesystem::create_directories(dir / "skip");
  WriteFile(dir / "top.log", "");
  WriteFile(dir / "top.log.1.gz", "");
  WriteFile(dir / "a/x.log", "");
  WriteFile(dir / "a/b/c/deep.log", "");
  WriteFile(dir / "a/b/c/deep.txt", "");
  WriteFile(dir / "skip/s.log", "");
  std::filesystem::create_directories(dir / "a/dir.log");  // a directory is never a file match

  const FindResult r = FindFiles(Globs({root + "/**/*.log"}), Globs({"*.gz", root + "/skip/*"}));
  CHECK(Paths(r, dir) == std::vector<std::string>{"a/b/c/deep.log", "a/x.log", "top.log"});
  CHECK(r.dirs.count(root) == 1);
  CHECK(r.dirs.count(root + "/a/b/c") == 1);

  const FindResult one = FindFiles(Globs({root + "/top.log*"}), Globs({"*.gz"}));
  CHECK(Paths(one, dir) == std::vector<std::string>{"top.log"});
  CHECK(one.dirs == std::set<std::string>{root});
}

TEST_CASE("tail: a file matched twice is reported once", "[unit]") {
  TempDir dir("sluice-tail");
  const std::string root = dir.path().string();
  WriteFile(dir / "app.log", "");
  std::filesystem::create_symlink(dir / "app.log", dir / "link.log");
  const FindResult r = FindFiles(Globs({root + "/*.log", root + "/app.*"}), {});
  CHECK(r.files.size() == 1);
}

TEST_CASE("tail: a glob whose directory does not exist yet watches its nearest ancestor", "[unit]") {
  TempDir dir("sluice-tail");
  const std::string root = dir.path().string();
  const FindResult r = FindFiles(Globs({root + "/later/sub/*.log"}), {});
  CHECK(r.files.empty());
  CHECK(r.dirs == std::set<std::string>{root});
}

}  // namespace
}  // namespace sluice
