#include "core/util/working_set.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace sluice {
namespace {

constexpr size_t kMapBytes = 64 * 4096;

// The Rss (KiB) /proc/self/smaps shows for the mapping starting at `addr`.
size_t MappingRssKib(const void* addr) {
  char head[32];
  std::snprintf(head, sizeof head, "%lx-", reinterpret_cast<unsigned long>(addr));
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind(head, 0) == 0) {
      inside = true;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      return std::stoul(line.substr(4));
    }
  }
  FAIL("no mapping at " << head << " in /proc/self/smaps");
  return 0;
}

// An mmap of a whole file, unmapped at the end of the test.
class Mapping {
 public:
  Mapping(const std::string& path, int prot) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    addr_ = static_cast<char*>(::mmap(nullptr, kMapBytes, prot, MAP_PRIVATE, fd, 0));
    ::close(fd);
    REQUIRE(addr_ != MAP_FAILED);
  }
  ~Mapping() { ::munmap(addr_, kMapBytes); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  char* data() const { return addr_; }

 private:
  char* addr_ = nullptr;
};

int SumPages(const char* data) {
  int sum = 0;
  for (size_t i = 0; i < kMapBytes; i += 4096) sum += static_cast<unsigned char>(data[i]);
  return sum;
}

}  // namespace

TEST_CASE("working set: clean read-only file pages are released and read back unchanged", "[unit][util]") {
  test::TempDir dir;
  std::string content(kMapBytes, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  test::WriteFile(dir / "code", content);

  Mapping code((dir / "code").string(), PROT_READ);
  const int sum = SumPages(code.data());
  REQUIRE(MappingRssKib(code.data()) == kMapBytes / 1024);

  Result<ReleasedPages> released = ReleaseCleanFileMappings();
  REQUIRE(released.ok());
  CHECK(released->mappings >= 1);
  CHECK(released->resident_bytes >= kMapBytes);
  CHECK(MappingRssKib(code.data()) == 0);
  // Touched again, the page comes back from the page cache with the file's bytes.
  CHECK(SumPages(code.data()) == sum);
  CHECK(std::string(code.data(), kMapBytes) == content);
}

TEST_CASE("working set: a private mapping the process wrote is never released", "[unit][util]") {
  test::TempDir dir;
  test::WriteFile(dir / "relro", std::string(kMapBytes, 'x'));

  // Like RELRO: written once (relocations), then made read-only.
  Mapping relro((dir / "relro").string(), PROT_READ | PROT_WRITE);
  relro.data()[4096] = 'W';
  REQUIRE(::mprotect(relro.data(), kMapBytes, PROT_READ) == 0);
  // A writable one too: it may be written at any moment.
  Mapping data((dir / "relro").string(), PROT_READ | PROT_WRITE);
  data.data()[0] = 'D';
  (void)SumPages(data.data());

  REQUIRE(ReleaseCleanFileMappings().ok());
  CHECK(relro.data()[4096] == 'W');
  CHECK(data.data()[0] == 'D');
  CHECK(MappingRssKib(data.data()) == kMapBytes / 1024);
}

}  // namespace sluice
