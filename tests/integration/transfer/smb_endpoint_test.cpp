// The SMB endpoint against a real Samba smbd (tests/support/smbd.h): the
// conformance suite, authentication, encryption, case-insensitivity, threads
// sharing one endpoint, and a server killed mid-stream.
#include "transfer/smb/smb_endpoint.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/endpoint_conformance.h"
#include "tests/support/smbd.h"
#include "tests/support/temp_dir.h"

namespace sluice::transfer {
namespace {

namespace fs = std::filesystem;
using sluice::test::Smbd;
using sluice::test::TempDir;

SmbOptions SmbdOptions(const Smbd& smbd) {
  SmbOptions o;
  o.password_file = smbd.password_file().string();
  o.timeout = std::chrono::seconds(10);
  return o;
}

Result<std::unique_ptr<Endpoint>> OpenSmb(const std::string& url, const SmbOptions& o) {
  Result<smb::SmbUrl> parsed = smb::ParseSmbUrl(url);
  REQUIRE(parsed.ok());
  return OpenSmbEndpoint(*parsed, o);
}

std::unique_ptr<Endpoint> MustOpenSmb(const std::string& url, const SmbOptions& o) {
  Result<std::unique_ptr<Endpoint>> ep = OpenSmb(url, o);
  INFO(url << ": " << ep.status().ToString());
  REQUIRE(ep.ok());
  return std::move(ep).value();
}

}  // namespace

TEST_CASE("smb endpoint: the endpoint conformance suite against smbd", "[integration][smb]") {
  TempDir dir("sluice-smb");
  Smbd smbd(dir / "smbd");
  int n = 0;
  test::RunEndpointConformance([&]() -> std::unique_ptr<Endpoint> {
    const std::string root = "conformance-" + std::to_string(n++);
    fs::create_directory(smbd.share_dir() / root);
    return MustOpenSmb(smbd.Url(root), SmbdOptions(smbd));
  });
}

TEST_CASE("smb endpoint: password from a file or the environment, encryption, refusals", "[integration][smb]") {
  TempDir dir("sluice-smb");
  Smbd smbd(dir / "smbd");
  SmbOptions o = SmbdOptions(smbd);
  o.encrypt = true;  // SMB3 with encryption required
  {
    std::unique_ptr<Endpoint> ep = MustOpenSmb(smbd.Url(), o);
    REQUIRE(test::PutFile(*ep, "sealed", "over SMB3 encryption").ok());
    CHECK(sluice::test::ReadFile(smbd.share_dir() / "sealed") == "over SMB3 encryption");
  }
  o = SmbdOptions(smbd);
  o.password_file.clear();
  o.password_env = "SLUICE_SMB_TEST_PASSWORD";
  ::setenv("SLUICE_SMB_TEST_PASSWORD", Smbd::kPassword, 1);
  CHECK(MustOpenSmb(smbd.Url(), o)->Stat("sealed")->size == 20);
  ::setenv("SLUICE_SMB_TEST_PASSWORD", "wrong-password", 1);
  Result<std::unique_ptr<Endpoint>> bad = OpenSmb(smbd.Url(), o);
  ::unsetenv("SLUICE_SMB_TEST_PASSWORD");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == ErrorCode::kPermissionDenied);
  CHECK_THAT(bad.status().message(), Catch::Contains(smbd.Url()) && !Catch::Contains("wrong-password"));
  Result<std::unique_ptr<Endpoint>> missing = OpenSmb(smbd.Url("no/such/dir"), SmbdOptions(smbd));
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  // A password in the URL is refused before anything is sent.
  CHECK(smb::ParseSmbUrl("smb://u:secret@127.0.0.1/share").status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("smb endpoint: names are case-insensitive, as the capabilities say", "[integration][smb]") {
  TempDir dir("sluice-smb");
  Smbd smbd(dir / "smbd");
  std::unique_ptr<Endpoint> ep = MustOpenSmb(smbd.Url(), SmbdOptions(smbd));
  REQUIRE(ep->capabilities().case_insensitive);
  REQUIRE(test::PutFile(*ep, "Report.TXT", "upper").ok());
  Result<EntryInfo> st = ep->Stat("report.txt");
  REQUIRE(st.ok());
  CHECK(st->size == 5);
}

TEST_CASE("smb endpoint: 6 threads share one endpoint", "[integration][smb]") {
  TempDir dir("sluice-smb");
  Smbd smbd(dir / "smbd");
  SmbOptions o = SmbdOptions(smbd);
  o.connections = 2;  // fewer idle contexts than threads: more are made, then dropped
  std::unique_ptr<Endpoint> ep = MustOpenSmb(smbd.Url(), o);
  const std::vector<std::string> failures = test::SharedEndpointFailures(*ep, 6, 8);
  for (const std::string& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
}

TEST_CASE("smb endpoint: smbd killed mid-stream is kUnavailable, then it reconnects", "[integration][smb]") {
  TempDir dir("sluice-smb");
  Smbd smbd(dir / "smbd");
  std::unique_ptr<Endpoint> ep = MustOpenSmb(smbd.Url(), SmbdOptions(smbd));
  const std::string chunk = test::Pattern(1 << 20, 9);
  Result<std::unique_ptr<WriteStream>> w = ep->OpenWrite("upload.bin", 0);
  REQUIRE(w.ok());
  REQUIRE((*w)->Write(chunk).ok());
  smbd.Kill9();
  Status s;
  for (int i = 0; i < 64 && s.ok(); ++i) s = (*w)->Write(chunk);
  if (s.ok()) s = (*w)->Close();
  INFO(s.ToString());
  CHECK(s.code() == ErrorCode::kUnavailable);
  w->reset();
  CHECK(ep->Stat("upload.bin").status().code() == ErrorCode::kUnavailable);
  smbd.Start();
  REQUIRE(test::PutFile(*ep, "after.bin", chunk).ok());
  Result<std::string> back = test::GetFile(*ep, "after.bin");
  REQUIRE(back.ok());
  CHECK(*back == chunk);
}

}  // namespace sluice::transfer
