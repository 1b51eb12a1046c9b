#include "protocols/kafka/msk_iam_token.h"

#include "core/util/utf8.h"

namespace sluice::kafka {

OAuthToken MskIamToken(const aws::SigV4Credentials& credentials, std::string_view region,
                       std::chrono::system_clock::time_point now, std::string_view user_agent) {
  const std::string host = "kafka." + std::string(region) + ".amazonaws.com";
  aws::SigV4Request req;
  req.method = "GET";
  req.host = host;
  req.path = "/";
  req.query = {{"Action", "kafka-cluster:Connect"}};
  req.payload_sha256 = aws::Sha256Hex("");
  const std::string query = aws::PresignV4(req, credentials, region, "kafka-cluster", now, kMskTokenLifetime) +
                            "&User-Agent=" + aws::UriEncode(user_agent, false);
  std::string token = Base64("https://" + host + "/?" + query);
  // base64url without padding (RFC 4648 §5).
  for (char& c : token) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!token.empty() && token.back() == '=') token.pop_back();
  OAuthToken t;
  t.value = std::move(token);
  const auto signed_at = std::chrono::floor<std::chrono::seconds>(now);
  t.expires_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>((signed_at + kMskTokenLifetime).time_since_epoch()).count();
  // MSK ignores the principal; librdkafka requires a non-empty one.
  t.principal = credentials.access_key_id;
  return t;
}

}  // namespace sluice::kafka
