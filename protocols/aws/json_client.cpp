#include "protocols/aws/json_client.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "protocols/aws/sigv4.h"

namespace sluice::aws {

JsonServiceConfig ResolveJsonServiceConfig(std::string region, std::string endpoint, std::string_view service_env_id,
                                           const std::map<std::string, std::string>& environment) {
  auto first_set = [&](std::initializer_list<std::string> names) {
    for (const std::string& n : names) {
      auto it = environment.find(n);
      if (it != environment.end() && !it->second.empty()) return it->second;
    }
    return std::string();
  };
  JsonServiceConfig c;
  c.region = !region.empty() ? std::move(region) : first_set({"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (c.region.empty()) c.region = "us-east-1";
  c.endpoint = !endpoint.empty() ? std::move(endpoint)
                                 : first_set({"AWS_ENDPOINT_URL_" + std::string(service_env_id), "AWS_ENDPOINT_URL"});
  c.http.ca_file = first_set({"AWS_CA_BUNDLE"});
  return c;
}

AwsJsonClient::AwsJsonClient(JsonService service, JsonServiceConfig config,
                             std::shared_ptr<CredentialsProvider> credentials)
    : service_(service), config_(std::move(config)), credentials_(std::move(credentials)), pool_(config_.http) {
  std::string endpoint = config_.endpoint;
  if (endpoint.empty()) endpoint = fmt::format("https://{}.{}.amazonaws.com", service_.endpoint_prefix, config_.region);
  const size_t scheme_end = endpoint.find("://");
  scheme_ = scheme_end == std::string::npos ? "https" : endpoint.substr(0, scheme_end);
  host_ = http::HostOf(scheme_end == std::string::npos ? "https://" + endpoint : endpoint);
}

Result<http::Response> AwsJsonClient::Call(std::string_view operation, const std::string& body) {
  Result<SigV4Credentials> creds = credentials_->Get();
  if (!creds.ok()) return creds.status();
  SigV4Request req;
  req.method = "POST";
  req.host = host_;
  req.path = "/";
  req.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", fmt::format("{}.{}", service_.target_prefix, operation)}};
  req.payload_sha256 = Sha256Hex(body);
  const auto now = config_.clock ? config_.clock() : std::chrono::system_clock::now();
  const SigV4Signed sig = SignV4(req, creds.value(), config_.region, std::string(service_.signing_name), now);
  http::Request h;
  h.method = "POST";
  h.url = scheme_ + "://" + host_ + "/";
  h.headers = req.headers;
  h.headers.insert(h.headers.end(), sig.headers.begin(), sig.headers.end());
  h.body = body;
  return pool_.Perform(h);
}

Status AwsJsonClient::ErrorStatus(std::string_view what, long status, const std::string& body) {
  std::string type;
  std::string message;
  try {
    const nlohmann::json j = nlohmann::json::parse(body);
    type = j.value("__type", "");
    message = j.value("message", j.value("Message", ""));
  } catch (const nlohmann::json::exception&) {
    message = body.substr(0, 200);
  }
  if (const size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  const std::string text = fmt::format("{}: HTTP {} {}: {}", what, status, type, message);
  // Firehose signals throttling as ServiceUnavailableException.
  if (status >= 500 || type == "ProvisionedThroughputExceededException" || type == "LimitExceededException" ||
      type == "ThrottlingException" || type == "KMSThrottlingException" || type == "ServiceUnavailable" ||
      type == "ServiceUnavailableException") {
    return Status::Unavailable(text);
  }
  if (type == "ResourceNotFoundException") return Status::NotFound(text);
  if (status == 403 || type == "AccessDeniedException" || type == "UnrecognizedClientException" ||
      type == "InvalidSignatureException" || type == "MissingAuthenticationTokenException" ||
      type == "IncompleteSignatureException" || type.starts_with("KMS") || type == "InvalidKMSResourceException") {
    return Status::PermissionDenied(text);
  }
  return Status::InvalidArgument(text);
}

}  // namespace sluice::aws
