// The Amazon MSK IAM token against the AWS SDK for JavaScript's SigV4
// presigner (tests/servers/msk-iam-token.js, the signer AWS's own
// aws-msk-iam-sasl-signer-js uses): the same credentials, region and time
// give the same URL (the same parameters and signature), with and without a
// session token.
#include "protocols/kafka/msk_iam_token.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "core/util/utf8.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace {

std::string SdkMskToken(const TempDir& tmp, const aws::SigV4Credentials& c, const std::string& region, int64_t epoch,
                        const std::string& user_agent) {
  ProcessOptions o;
  o.program = "node";
  o.args = {std::string(SLUICE_SOURCE_DIR) + "/tests/servers/msk-iam-token.js",
            c.access_key_id,
            c.secret_access_key,
            c.session_token.empty() ? "-" : c.session_token,
            region,
            std::to_string(epoch),
            user_agent};
  o.log_dir = tmp.path();
  o.name = "msk-iam-token";
  o.append_logs = false;
  const RunResult r = RunToCompletion(std::move(o), std::chrono::seconds(60));
  REQUIRE(r.status.Exited(0));
  std::string token = r.out;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  return token;
}

// A token's URL with its query parameters sorted: brokers verify the
// signature over the sorted (canonical) query, so their order in the URL is
// free, and the SDK keeps insertion order.
std::string MskTokenUrlSorted(const std::string& token) {
  std::string b64 = token;
  for (char& ch : b64) {
    if (ch == '-') ch = '+';
    if (ch == '_') ch = '/';
  }
  while (b64.size() % 4 != 0) b64 += '=';
  std::string url;
  REQUIRE(DecodeBase64(b64, url));
  const size_t q = url.find('?');
  REQUIRE(q != std::string::npos);
  std::vector<std::string> params;
  for (size_t i = q + 1; i <= url.size();) {
    const size_t amp = std::min(url.find('&', i), url.size());
    params.push_back(url.substr(i, amp - i));
    i = amp + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out = url.substr(0, q + 1);
  for (const std::string& p : params) out += p + "&";
  return out;
}

}  // namespace

TEST_CASE("msk iam token: the same token as the AWS SDK's presigner", "[aws][kafka]") {
  TempDir tmp("sluice-msk-token");
  const int64_t epoch = 1700000000;
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(epoch)) + std::chrono::milliseconds(420);
  for (const aws::SigV4Credentials& c :
       {aws::SigV4Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""},
        aws::SigV4Credentials{"ASIAEXAMPLE", "secret/with+chars", "FwoGZXIvYXdzEJr//////////wEaDO+token/=="}}) {
    INFO(c.access_key_id);
    const kafka::OAuthToken t = kafka::MskIamToken(c, "eu-west-1", now, "sluice/0.1.0");
    const std::string sdk = SdkMskToken(tmp, c, "eu-west-1", epoch, "sluice/0.1.0");
    CHECK(MskTokenUrlSorted(t.value) == MskTokenUrlSorted(sdk));
    CHECK(MskTokenUrlSorted(t.value).find("&User-Agent=sluice%2F0.1.0&") != std::string::npos);
    CHECK(t.expires_ms == (epoch + 900) * 1000);
    CHECK(t.principal == c.access_key_id);
    // base64url without padding, of the https URL.
    CHECK(t.value.find_first_of("+/=") == std::string::npos);
  }
}

}  // namespace sluice::test
