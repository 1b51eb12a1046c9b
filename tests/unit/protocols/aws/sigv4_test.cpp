// SigV4 against published and independently computed signatures. The S3
// example and the get-vanilla-query-order-key-case vector are AWS's own
// (S3 API reference, "Signature Calculations for the Authorization Header";
// the SigV4 test suite in awslabs/aws-c-auth). The upload case was computed
// with botocore 1.43 (S3SigV4Auth, timestamp fixed): the request shapes that
// Debian 12's libcurl signs wrongly (valueless key, session token, header names
// that prefix one another, a key needing encoding).
#include "protocols/aws/sigv4.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>

namespace sluice::aws {
namespace {

std::chrono::system_clock::time_point At(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

const std::string kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string HeaderValue(const SigV4Signed& s, const std::string& name) {
  for (const auto& [k, v] : s.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST_CASE("sigv4: the S3 API reference's GET example", "[unit][aws]") {
  SigV4Request r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  r.headers = {{"Range", "bytes=0-9"}};
  r.payload_sha256 = Sha256Hex("");
  CHECK(r.payload_sha256 == kEmptySha);
  const SigV4Signed s = SignV4(r, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""}, "us-east-1",
                               "s3", At(2013, 5, 24, 0, 0, 0));
  CHECK(s.canonical_request ==
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:" + kEmptySha +
            "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" + kEmptySha);
  CHECK(s.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  CHECK(HeaderValue(s, "Authorization") ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  CHECK(HeaderValue(s, "X-Amz-Date") == "20130524T000000Z");
  CHECK(HeaderValue(s, "X-Amz-Content-Sha256") == kEmptySha);
  CHECK(HeaderValue(s, "X-Amz-Security-Token").empty());
}

TEST_CASE("sigv4: the test suite's unsorted query (get-vanilla-query-order-key-case)", "[unit][aws]") {
  SigV4Request r;
  r.method = "GET";
  r.host = "example.amazonaws.com";
  r.path = "/";
  r.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  r.payload_sha256 = kEmptySha;
  const SigV4Signed s = SignV4(r, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}, "us-east-1",
                               "service", At(2015, 8, 30, 12, 36, 0));
  CHECK(s.canonical_request ==
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        "host;x-amz-date\n" + kEmptySha);
  CHECK(s.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  CHECK(HeaderValue(s, "X-Amz-Content-Sha256").empty());  // only S3 takes it as a header
}

TEST_CASE("sigv4: what Debian's libcurl gets wrong, as botocore signs it", "[unit][aws]") {
  SigV4Request r;
  r.method = "POST";
  r.host = "127.0.0.1:9000";
  r.path = "/bkt/raw/a b/\xC3\xA9t\xC3\xA9+1.json";
  r.query = {{"uploads", ""}};
  r.headers = {{"x-amz-meta-a-b", "  two   words "}, {"x-amz-meta-a", "1"}};
  r.payload_sha256 = kEmptySha;
  const SigV4Signed s =
      SignV4(r, {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FQoGZXIvYXdzEXAMPLETOKEN"}, "eu-west-1",
             "s3", At(2026, 11, 22, 12, 0, 0));
  CHECK(s.canonical_request ==
        "POST\n/bkt/raw/a%20b/%C3%A9t%C3%A9%2B1.json\nuploads=\nhost:127.0.0.1:9000\nx-amz-content-sha256:" +
            kEmptySha +
            "\nx-amz-date:20261122T120000Z\nx-amz-meta-a:1\nx-amz-meta-a-b:two words\n"
            "x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\n\n"
            "host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-meta-a-b;x-amz-security-token\n" +
            kEmptySha);
  CHECK(s.signature == "fd11c17afb87b91145fd3115a6516b1756e4f24ddaab6ceed5b0305fe16b3da2");
  CHECK(HeaderValue(s, "X-Amz-Security-Token") == "FQoGZXIvYXdzEXAMPLETOKEN");
}

TEST_CASE("sigv4: encoding of paths and queries", "[unit][aws]") {
  CHECK(UriEncode("a b/c~d_e.f-g", false) == "a%20b%2Fc~d_e.f-g");
  CHECK(UriEncode("a b/c", true) == "a%20b/c");
  CHECK(UriEncode("+=&%", false) == "%2B%3D%26%25");
  CHECK(CanonicalPath("") == "/");
  CHECK(CanonicalPath("/k/./x//y") == "/k/./x//y");  // S3 keys are not normalized
  CHECK(CanonicalQuery({{"prefix", "raw/a b"}, {"list-type", "2"}, {"continuation-token", "x+/="}}) ==
        "continuation-token=x%2B%2F%3D&list-type=2&prefix=raw%2Fa%20b");
  // Same key twice: ordered by value.
  CHECK(CanonicalQuery({{"k", "b"}, {"k", "a"}}) == "k=a&k=b");
}

}  // namespace
}  // namespace sluice::aws
