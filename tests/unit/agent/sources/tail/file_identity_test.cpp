#include "agent/sources/tail/file_identity.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "agent/sources/tail/unique_fd.h"
#include "tests/support/temp_dir.h"

namespace sluice {
namespace {

using test::AppendFile;
using test::TempDir;
using test::WriteFile;

UniqueFd OpenRead(const std::filesystem::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  return fd;
}

FileId IdOf(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

FingerprintCheck Check(int fd, const Fingerprint& fp) {
  Result<FingerprintCheck> r = CheckFingerprint(fd, fp);
  REQUIRE(r.ok());
  return r.value();
}

TEST_CASE("tail: fingerprint covers the first bytes and detects rewrites", "[unit]") {
  TempDir dir("sluice-tail");
  const auto path = dir / "a.log";
  WriteFile(path, "hello world\n");
  UniqueFd fd = OpenRead(path);
  Result<Fingerprint> fp = ComputeFingerprint(fd.get(), 12, 1024);
  REQUIRE(fp.ok());
  CHECK(fp->len == 12);
  CHECK(Check(fd.get(), *fp) == FingerprintCheck::kSame);

  AppendFile(path, "more\n");  // growing keeps the prefix
  CHECK(Check(fd.get(), *fp) == FingerprintCheck::kSame);
  Result<Fingerprint> capped = ComputeFingerprint(fd.get(), 17, 8);
  CHECK(capped->len == 8);

  WriteFile(path, "HELLO world\nmore\n");  // same inode, rewritten in place
  CHECK(Check(fd.get(), *fp) == FingerprintCheck::kChanged);
  WriteFile(path, "hello");  // truncated below the fingerprint
  CHECK(Check(fd.get(), *fp) == FingerprintCheck::kShorter);
  CHECK(Check(fd.get(), Fingerprint{}) == FingerprintCheck::kSame);
}

TEST_CASE("tail: a fingerprint extended while reading equals one computed at once", "[unit]") {
  TempDir dir("sluice-tail");
  WriteFile(dir / "a.log", "0123456789abcdef");
  UniqueFd fd = OpenRead(dir / "a.log");
  const Fingerprint whole = ComputeFingerprint(fd.get(), 16, 1024).value();
  const Fingerprint empty = ComputeFingerprint(fd.get(), 0, 1024).value();
  CHECK(empty.len == 0);
  CHECK(ExtendFingerprint(ExtendFingerprint(empty, "0123"), "456789abcdef") == whole);
  CHECK(ExtendFingerprint(Fingerprint{}, "0123456789abcdef") == whole);
}

TEST_CASE("tail: checkpoints round-trip through JSON", "[unit]") {
  FileCheckpoint cp;
  cp.path = "/var/log/app.log";
  cp.seen = "/var/log/app.log.1";
  cp.id = {2049, 123456789012ULL};
  cp.fp = {1024, 0xfedcba9876543210ULL};
  cp.offset = 1ULL << 40;
  cp.mid_line = true;
  cp.size = (1ULL << 40) + 5;
  const std::string json = EncodeCheckpoint(cp);
  Result<FileCheckpoint> back = DecodeCheckpoint(json);
  REQUIRE(back.ok());
  CHECK(back->path == cp.path);
  CHECK(back->seen == cp.seen);
  CHECK(back->id == cp.id);
  CHECK(back->fp == cp.fp);
  CHECK(back->offset == cp.offset);
  CHECK(back->mid_line);
  CHECK(back->size == cp.size);
  CHECK(FileKey(cp.id) == "file:2049:123456789012");
  // Paths that are not UTF-8 come back byte for byte.
  cp.path = std::string("/var/log/caf\xe9.log");
  Result<FileCheckpoint> latin1 = DecodeCheckpoint(EncodeCheckpoint(cp));
  REQUIRE(latin1.ok());
  CHECK(latin1->path == cp.path);
  CHECK(latin1->seen == cp.seen);
  CHECK_FALSE(DecodeCheckpoint("not json").ok());
  CHECK_FALSE(DecodeCheckpoint(R"({"v":2})").ok());
  CHECK_FALSE(DecodeCheckpoint(R"({"v":1,"path":"x"})").ok());
}

TEST_CASE("tail: a renamed file is found again by its inode", "[unit]") {
  TempDir dir("sluice-tail");
  WriteFile(dir / "app.log", "x\n");
  WriteFile(dir / "other", "y\n");
  const FileId id = IdOf(dir / "app.log");
  std::filesystem::rename(dir / "app.log", dir / "renamed-away");
  const std::optional<std::string> found = FindByInode(dir.path().string(), id);
  REQUIRE(found.has_value());
  CHECK(*found == (dir / "renamed-away").string());
  std::filesystem::remove(dir / "renamed-away");
  CHECK_FALSE(FindByInode(dir.path().string(), id).has_value());
  CHECK_FALSE(FindByInode((dir / "missing").string(), id).has_value());
  CHECK(DirName("/a/b.log") == "/a");
  CHECK(DirName("/b.log") == "/");
  CHECK(DirName("b.log") == ".");
}

}  // namespace
}  // namespace sluice
