// The S3 endpoint against a real S3 API server (s3rver, tests/support/s3rver.h):
// the conformance suite, paged listings, multipart uploads, what the bucket
// stores, credentials and bucket errors, and the server stopped mid-upload.
#include "transfer/s3/s3_endpoint.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "protocols/aws/s3_client.h"
#include "tests/support/endpoint_conformance.h"
#include "tests/support/s3rver.h"
#include "tests/support/temp_dir.h"

namespace sluice::transfer {
namespace {

namespace fs = std::filesystem;
using sluice::test::S3rver;
using sluice::test::TempDir;

S3Options S3rverOptions(const S3rver& server) {
  S3Options o;
  o.endpoint = server.endpoint();
  o.region = "us-east-1";
  o.credentials = aws::StaticCredentials({S3rver::kAccessKey, S3rver::kSecretKey, ""});
  o.part_bytes = 5u << 20;
  o.read_window_bytes = 1u << 20;
  o.max_name_bytes = S3rver::kMaxNameBytes;
  return o;
}

std::unique_ptr<Endpoint> MustOpenS3(const std::string& url, const S3Options& o) {
  Result<S3Url> parsed = ParseS3Url(url);
  REQUIRE(parsed.ok());
  Result<std::unique_ptr<Endpoint>> ep = OpenS3Endpoint(parsed.value(), o);
  INFO(ep.status().ToString());
  REQUIRE(ep.ok());
  return std::move(ep).value();
}

Status S3Write(Endpoint& ep, const std::string& path, const std::string& data, size_t piece = 64 * 1024) {
  Result<std::unique_ptr<WriteStream>> w = ep.OpenWrite(path, 0);
  if (!w.ok()) return w.status();
  for (size_t i = 0; i < data.size(); i += piece) {
    if (Status s = w.value()->Write(std::string_view(data).substr(i, piece)); !s.ok()) return s;
  }
  return w.value()->Close();
}

std::string S3Read(Endpoint& ep, const std::string& path) {
  Result<std::unique_ptr<ReadStream>> r = ep.OpenRead(path, 0);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  std::string out;
  std::vector<char> buf(100'003);
  for (;;) {
    Result<size_t> n = r.value()->Read(buf);
    REQUIRE(n.ok());
    if (n.value() == 0) return out;
    out.append(buf.data(), n.value());
  }
}

std::string FileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("S3 endpoint: the conformance suite against s3rver", "[s3][integration]") {
  TempDir tmp;
  S3rver server(tmp.path() / "s3");
  const S3Options o = S3rverOptions(server);
  static std::atomic<int> root{0};
  test::RunEndpointConformance([&] { return MustOpenS3("s3://lake/conformance-" + std::to_string(++root), o); });
}

TEST_CASE("S3 endpoint: the conformance suite at the bucket's root", "[s3][integration]") {
  TempDir tmp;
  S3rver server(tmp.path() / "s3");
  S3Options o = S3rverOptions(server);
  o.list_page_keys = 2;  // every listing pages
  test::RunEndpointConformance([&] {
    // Buckets are made when the server starts: each section empties this one.
    std::unique_ptr<Endpoint> ep = MustOpenS3("s3://lake", o);
    std::vector<std::string> post_order;
    std::function<void(const std::string&)> collect = [&](const std::string& dir) {
      REQUIRE(ep->List(dir, [&](const EntryInfo& e) {
                  const std::string p = JoinPath(dir, e.name);
                  if (e.type == EntryType::kDirectory) collect(p);
                  post_order.push_back(p);
                  return Status::Ok();
                }).ok());
    };
    collect("");
    for (const std::string& p : post_order) (void)ep->Remove(p);
    return ep;
  });
}

TEST_CASE("S3 endpoint: listings page through thousands of keys and many prefixes", "[s3][integration]") {
  TempDir tmp;
  S3rver server(tmp.path() / "s3");
  S3Options o = S3rverOptions(server);
  o.list_page_keys = 7;
  std::unique_ptr<Endpoint> ep = MustOpenS3("s3://lake/paged", o);
  std::set<std::string> expected;
  for (int i = 0; i < 40; ++i) {
    const std::string name = "f" + std::to_string(i);
    REQUIRE(S3Write(*ep, name, name).ok());
    expected.insert(name);
  }
  for (int i = 0; i < 10; ++i) {
    REQUIRE(S3Write(*ep, "d" + std::to_string(i) + "/x", "x").ok());
    expected.insert("d" + std::to_string(i));
  }
  std::set<std::string> seen;
  REQUIRE(ep->List("", [&](const EntryInfo& e) {
              CHECK(seen.insert(e.name).second);  // each once, across pages
              CHECK((e.type == EntryType::kDirectory) == (e.name[0] == 'd'));
              return Status::Ok();
            }).ok());
  CHECK(seen == expected);
}

TEST_CASE("S3 endpoint: a multipart upload stores exactly the bytes written", "[s3][integration]") {
  TempDir tmp;
  S3rver server(tmp.path() / "s3");
  std::unique_ptr<Endpoint> ep = MustOpenS3("s3://lake/big", S3rverOptions(server));
  // 12 MiB + 1 with 5 MiB parts: two full parts and a short last one, written
  // in pieces that straddle the part boundaries.
  const std::string data = test::Pattern((12u << 20) + 1, 7);
  REQUIRE(S3Write(*ep, "dir/object.bin", data, 999'983).ok());
  Result<EntryInfo> st = ep->Stat("dir/object.bin");
  REQUIRE(st.ok());
  CHECK(st->size == data.size());
  // What the server holds on its disk, not only what it serves back.
  CHECK(FileBytes(server.ObjectFile("lake", "big/dir/object.bin")) == data);
  CHECK(S3Read(*ep, "dir/object.bin") == data);
  // A part-sized object is one PUT, and an exact multiple of the part size
  // does not end in an empty part.
  const std::string exact = test::Pattern(10u << 20, 8);
  REQUIRE(S3Write(*ep, "exact.bin", exact, 5u << 20).ok());
  CHECK(S3Read(*ep, "exact.bin") == exact);
}

TEST_CASE("S3 endpoint: nothing appears under the key before Close succeeds", "[s3][integration]") {
  TempDir tmp;
  S3rver server(tmp.path() / "s3");
  std::unique_ptr<Endpoint> ep = MustOpenS3("s3://lake/atomic", S3rverOptions(server));
  {
    Result<std::unique_ptr<WriteStream>> w = ep->OpenWrite("half.bin", 0);
    REQUIRE(w.ok());
    REQUIRE(w.value()->Write(test::Pattern(11u << 20, 3)).ok());  // two parts sent, no Close
    CHECK(ep->Stat("half.bin").status().code() == ErrorCode::kNotFound);
  }
  CHECK(ep->Stat("half.bin").status().code() == ErrorCode::kNotFound);
  std::set<std::string> names;
  REQUIRE(ep->List("", [&](const EntryInfo& e) {
              names.insert(e.name);
              return Status::Ok();
            }).code() == ErrorCode::kOk);
  CHECK(names.empty());
}

TEST_CASE("S3 endpoint: wrong bucket, wrong key and a stopped server are told apart", "[s3][integration]") {
  TempDir tmp;
  S3rver server(tmp.path() / "s3");
  S3Options o = S3rverOptions(server);
  o.credentials = aws::StaticCredentials({"NOT-S3RVER", "x", ""});
  Result<std::unique_ptr<Endpoint>> bad_key = OpenS3Endpoint(ParseS3Url("s3://lake/x").value(), o);
  REQUIRE_FALSE(bad_key.ok());
  CHECK(bad_key.status().code() == ErrorCode::kPermissionDenied);
  CHECK(bad_key.status().message().find("InvalidAccessKeyId") != std::string::npos);

  o = S3rverOptions(server);
  Result<std::unique_ptr<Endpoint>> no_bucket = OpenS3Endpoint(ParseS3Url("s3://no-such-bucket").value(), o);
  REQUIRE_FALSE(no_bucket.ok());
  CHECK(no_bucket.status().code() == ErrorCode::kNotFound);
  CHECK(no_bucket.status().message().find("NoSuchBucket") != std::string::npos);

  std::unique_ptr<Endpoint> ep = MustOpenS3("s3://lake/x", o);
  server.Stop();
  Result<EntryInfo> st = ep->Stat("anything");
  CHECK(st.status().code() == ErrorCode::kUnavailable);
  server.Start();
  REQUIRE(S3Write(*ep, "after-restart", "back").ok());
  CHECK(S3Read(*ep, "after-restart") == "back");
}

TEST_CASE("S3 client: a device clock an hour off is corrected from the server's Date", "[s3][integration]") {
  TempDir tmp;
  S3rver server(tmp.path() / "s3");
  aws::S3Config config;
  config.bucket = "lake";
  config.endpoint = server.endpoint();
  config.clock = [] { return std::chrono::system_clock::now() - std::chrono::hours(1); };
  aws::S3Client client(config, aws::StaticCredentials({S3rver::kAccessKey, S3rver::kSecretKey, ""}));
  Status put = client.Put("skewed", "signed by the server's clock");
  INFO(put.ToString());
  REQUIRE(put.ok());
  Result<std::string> got = client.GetRange("skewed", 0, 100);
  REQUIRE(got.ok());
  CHECK(got.value() == "signed by the server's clock");
}

TEST_CASE("S3 URLs: bucket names and prefixes are checked", "[s3]") {
  CHECK(ParseS3Url("s3://lake").value().prefix.empty());
  CHECK(ParseS3Url("s3://lake/a/b/").value().prefix == "a/b");
  CHECK(ParseS3Url("s3://my.bucket-1/x").value().bucket == "my.bucket-1");
  for (const char* bad :
       {"s3://", "s3://ab", "s3://Upper", "s3://under_score", "s3://lake//x", "s3://lake/a/../b", "s3://-lake"}) {
    INFO(bad);
    Result<S3Url> r = ParseS3Url(bad);
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  }
}

}  // namespace sluice::transfer
