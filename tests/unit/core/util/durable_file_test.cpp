#include "core/util/durable_file.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include "tests/support/endpoint_conformance.h"
#include "tests/support/temp_dir.h"

using namespace sluice;
namespace fs = std::filesystem;

TEST_CASE("atomic file: appears only on Commit, with exactly what was appended", "[unit][util]") {
  test::TempDir dir;
  const fs::path final_path = dir / "out.bin";
  for (auto caching : {AtomicFile::Caching::kPageCache, AtomicFile::Caching::kDirect}) {
    Result<AtomicFile> f = AtomicFile::Create(final_path, true, caching);
    REQUIRE(f.ok());
    REQUIRE(f.value().Append("hello ").ok());
    REQUIRE(f.value().Append("world").ok());
    CHECK_FALSE(fs::exists(final_path));
    REQUIRE(f.value().Commit().ok());
    CHECK(test::ReadFile(final_path) == "hello world");
    fs::remove(final_path);
  }
}

TEST_CASE("atomic file, direct: any sizes and splits round-trip byte for byte, no padding left", "[unit][util]") {
  test::TempDir dir;
  constexpr size_t kBlock = AtomicFile::kDirectAlign;
  constexpr size_t kBuf = AtomicFile::kDirectBuffer;
  // Sizes around the block and the staging buffers' edges (a full buffer goes
  // to the flusher thread), and appends of awkward lengths that straddle them.
  const size_t sizes[] = {0, 1, kBlock - 1, kBlock, kBlock + 1, kBuf - 1, kBuf, kBuf + 1, 3 * kBuf + 12345};
  const size_t splits[] = {1, 7, kBlock - 3, kBlock, 65537, kBuf + 5};
  uint32_t seed = 1;
  for (size_t size : sizes) {
    for (size_t split : splits) {
      if (size > kBuf && split < kBlock) continue;  // slow, and covered by the small sizes
      const std::string data = transfer::test::Pattern(size, seed++);
      const fs::path p = dir / ("f" + std::to_string(size) + "-" + std::to_string(split));
      Result<AtomicFile> f = AtomicFile::Create(p, true, AtomicFile::Caching::kDirect);
      REQUIRE(f.ok());
      for (size_t at = 0; at < data.size(); at += split) {
        REQUIRE(f.value().Append(std::string_view(data).substr(at, split)).ok());
      }
      REQUIRE(f.value().Commit().ok());
      INFO("size " << size << " split " << split);
      CHECK(fs::file_size(p) == size);
      CHECK(test::ReadFile(p) == data);
      fs::remove(p);
    }
  }
}

TEST_CASE("atomic file, direct: dropped uncommitted (a write in flight) leaves nothing behind", "[unit][util]") {
  test::TempDir dir;
  {
    Result<AtomicFile> f = AtomicFile::Create(dir / "gone.bin", true, AtomicFile::Caching::kDirect);
    REQUIRE(f.ok());
    REQUIRE(f.value().Append(transfer::test::Pattern(AtomicFile::kDirectBuffer + 10, 9)).ok());
  }
  CHECK(fs::is_empty(dir.path()));
}

namespace {

// A ramfs mounted on `at` for the scope (root only): Linux's ramfs refuses
// O_DIRECT at open (EINVAL), where ext4 and tmpfs accept it.
class RamfsMount {
 public:
  explicit RamfsMount(const fs::path& at) : at_(at) {
    fs::create_directories(at);
    mounted_ = ::mount("sluice-test", at.c_str(), "ramfs", 0, nullptr) == 0;
    if (!mounted_) error_ = errno;
  }
  ~RamfsMount() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  RamfsMount(const RamfsMount&) = delete;
  RamfsMount& operator=(const RamfsMount&) = delete;
  bool mounted() const { return mounted_; }
  int error() const { return error_; }

 private:
  fs::path at_;
  bool mounted_ = false;
  int error_ = 0;
};

}  // namespace

TEST_CASE("atomic file, direct: where O_DIRECT is refused it writes through the page cache", "[unit][util]") {
  test::TempDir dir;
  RamfsMount ramfs(dir / "ramfs");
  if (!ramfs.mounted()) {
    WARN("not run: mounting a ramfs needs root (" << std::strerror(ramfs.error()) << ")");
    return;
  }
  const fs::path probe = dir / "ramfs" / "probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
  const int err = errno;
  if (fd >= 0) ::close(fd);
  REQUIRE(fd < 0);  // the premise: this filesystem refuses O_DIRECT
  REQUIRE(err == EINVAL);
  fs::remove(probe);
  for (size_t size : {size_t{0}, size_t{1}, AtomicFile::kDirectAlign + 1, 2 * AtomicFile::kDirectBuffer + 77}) {
    const std::string data = transfer::test::Pattern(size, static_cast<uint32_t>(size) + 3);
    const fs::path p = dir / "ramfs" / ("f" + std::to_string(size));
    Result<AtomicFile> f = AtomicFile::Create(p, true, AtomicFile::Caching::kDirect);
    REQUIRE(f.ok());
    for (size_t at = 0; at < data.size(); at += 100003) {
      REQUIRE(f.value().Append(std::string_view(data).substr(at, 100003)).ok());
    }
    CHECK_FALSE(fs::exists(p));
    REQUIRE(f.value().Commit().ok());
    INFO("size " << size);
    CHECK(fs::file_size(p) == size);
    CHECK(test::ReadFile(p) == data);
  }
  CHECK_FALSE(fs::exists(dir / "ramfs" / ".f1.tmp"));
}
