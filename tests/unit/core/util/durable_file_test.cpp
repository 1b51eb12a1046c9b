#include "core/util/durable_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

using namespace sluice;
namespace fs = std::filesystem;

namespace {

struct DurableTestDir {
  fs::path path;
  DurableTestDir() {
    std::string templ = (fs::temp_directory_path() / "sluice-durable-XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~DurableTestDir() { fs::remove_all(path); }
};

std::string DurableReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Bytes that differ at every offset, so a block written twice or out of place shows.
std::string DurablePattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

}  // namespace

TEST_CASE("atomic file: appears only on Commit, with exactly what was appended", "[unit][util]") {
  DurableTestDir dir;
  const fs::path final_path = dir.path / "out.bin";
  for (auto caching : {AtomicFile::Caching::kPageCache, AtomicFile::Caching::kDirect}) {
    Result<AtomicFile> f = AtomicFile::Create(final_path, true, caching);
    REQUIRE(f.ok());
    REQUIRE(f.value().Append("hello ").ok());
    REQUIRE(f.value().Append("world").ok());
    CHECK_FALSE(fs::exists(final_path));
    REQUIRE(f.value().Commit().ok());
    CHECK(DurableReadAll(final_path) == "hello world");
    fs::remove(final_path);
  }
}

TEST_CASE("atomic file, direct: any sizes and splits round-trip byte for byte, no padding left", "[unit][util]") {
  DurableTestDir dir;
  constexpr size_t kBlock = AtomicFile::kDirectAlign;
  constexpr size_t kBuf = AtomicFile::kDirectBuffer;
  // Sizes around the block and the staging buffer's edges, and appends of
  // awkward lengths that straddle them.
  const size_t sizes[] = {0, 1, kBlock - 1, kBlock, kBlock + 1, kBuf - 1, kBuf, kBuf + 1, 3 * kBuf + 12345};
  const size_t splits[] = {1, 7, kBlock - 3, kBlock, 65537, kBuf + 5};
  unsigned seed = 1;
  for (size_t size : sizes) {
    for (size_t split : splits) {
      if (size > kBuf && split < kBlock) continue;  // slow, and covered by the small sizes
      const std::string data = DurablePattern(size, seed++);
      const fs::path p = dir.path / ("f" + std::to_string(size) + "-" + std::to_string(split));
      Result<AtomicFile> f = AtomicFile::Create(p, true, AtomicFile::Caching::kDirect);
      REQUIRE(f.ok());
      for (size_t at = 0; at < data.size(); at += split) {
        REQUIRE(f.value().Append(std::string_view(data).substr(at, split)).ok());
      }
      REQUIRE(f.value().Commit().ok());
      INFO("size " << size << " split " << split);
      CHECK(fs::file_size(p) == size);
      CHECK(DurableReadAll(p) == data);
      fs::remove(p);
    }
  }
}

TEST_CASE("atomic file, direct: dropped uncommitted leaves nothing behind", "[unit][util]") {
  DurableTestDir dir;
  {
    Result<AtomicFile> f = AtomicFile::Create(dir.path / "gone.bin", true, AtomicFile::Caching::kDirect);
    REQUIRE(f.ok());
    REQUIRE(f.value().Append(DurablePattern(AtomicFile::kDirectBuffer + 10, 9)).ok());
  }
  CHECK(fs::is_empty(dir.path));
}
