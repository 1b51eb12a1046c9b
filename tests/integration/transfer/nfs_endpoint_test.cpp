// The NFS endpoint against a real nfs-ganesha NFSv4 server
// (tests/support/ganesha.h): the conformance suite, modes and symlinks on
// the server's disk, threads sharing one endpoint, and a server killed
// mid-stream.
#include "transfer/nfs/nfs_endpoint.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/endpoint_conformance.h"
#include "tests/support/ganesha.h"
#include "tests/support/temp_dir.h"

namespace sluice::transfer {
namespace {

namespace fs = std::filesystem;
using sluice::test::Ganesha;
using sluice::test::TempDir;

NfsOptions GaneshaOptions() {
  NfsOptions o;
  o.timeout = std::chrono::seconds(10);
  return o;
}

Result<std::unique_ptr<Endpoint>> OpenNfs(const std::string& url) {
  Result<nfs::NfsUrl> parsed = nfs::ParseNfsUrl(url);
  REQUIRE(parsed.ok());
  return OpenNfsEndpoint(*parsed, GaneshaOptions());
}

std::unique_ptr<Endpoint> MustOpenNfs(const std::string& url) {
  Result<std::unique_ptr<Endpoint>> ep = OpenNfs(url);
  INFO(url << ": " << ep.status().ToString());
  REQUIRE(ep.ok());
  return std::move(ep).value();
}

}  // namespace

TEST_CASE("nfs endpoint: the endpoint conformance suite against nfs-ganesha (NFSv4)", "[integration][nfs]") {
  TempDir dir("sluice-nfs");
  Ganesha ganesha(dir / "ganesha");
  int n = 0;
  test::RunEndpointConformance([&]() -> std::unique_ptr<Endpoint> {
    const std::string root = "conformance-" + std::to_string(n++);
    fs::create_directory(ganesha.export_dir() / root);
    return MustOpenNfs(ganesha.Url(root));
  });
}

TEST_CASE("nfs endpoint: modes, times and symlinks land on the server's disk", "[integration][nfs]") {
  TempDir dir("sluice-nfs");
  Ganesha ganesha(dir / "ganesha");
  std::unique_ptr<Endpoint> ep = MustOpenNfs(ganesha.Url());
  REQUIRE(test::PutFile(*ep, "run.sh", "#!/bin/sh\n").ok());
  REQUIRE(ep->SetMode("run.sh", 0751).ok());
  REQUIRE(ep->SetTimes("run.sh", 1'600'000'000'123'456'000).ok());
  REQUIRE(ep->Symlink("run.sh", "link").ok());
  struct stat st {};
  REQUIRE(::lstat((ganesha.export_dir() / "run.sh").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0751);
  CHECK(st.st_mtim.tv_sec == 1'600'000'000);
  CHECK(st.st_mtim.tv_nsec == 123'456'000);
  CHECK(fs::read_symlink(ganesha.export_dir() / "link") == "run.sh");
  Result<std::unique_ptr<Endpoint>> missing = OpenNfs(ganesha.Url("no/such/dir"));
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(nfs::ParseNfsUrl("nfs://h/x?versoin=4").status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("nfs endpoint: 6 threads share one endpoint", "[integration][nfs]") {
  TempDir dir("sluice-nfs");
  Ganesha ganesha(dir / "ganesha");
  std::unique_ptr<Endpoint> ep = MustOpenNfs(ganesha.Url());
  const std::vector<std::string> failures = test::SharedEndpointFailures(*ep, 6, 8);
  for (const std::string& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
}

TEST_CASE("nfs endpoint: ganesha killed mid-stream is an error, then it reconnects", "[integration][nfs]") {
  TempDir dir("sluice-nfs");
  Ganesha ganesha(dir / "ganesha");
  std::unique_ptr<Endpoint> ep = MustOpenNfs(ganesha.Url());
  const std::string chunk = test::Pattern(1 << 20, 9);
  Result<std::unique_ptr<WriteStream>> w = ep->OpenWrite("upload.bin", 0);
  REQUIRE(w.ok());
  REQUIRE((*w)->Write(chunk).ok());
  ganesha.Kill9();
  Status s;
  for (int i = 0; i < 64 && s.ok(); ++i) s = (*w)->Write(chunk);
  if (s.ok()) s = (*w)->Close();
  INFO(s.ToString());
  CHECK(s.code() == ErrorCode::kUnavailable);
  w->reset();
  ganesha.Start();
  REQUIRE(test::PutFile(*ep, "after.bin", chunk).ok());
  Result<std::string> back = test::GetFile(*ep, "after.bin");
  REQUIRE(back.ok());
  CHECK(*back == chunk);
}

}  // namespace sluice::transfer
