#include "protocols/aws/imds_credentials.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <thread>

#include "protocols/http/http_client.h"

namespace sluice::aws {
namespace {

constexpr const char* kTokenTtlSeconds = "21600";  // the most EC2 allows; one token serves one fetch
constexpr const char* kCredentialsPath = "/latest/meta-data/iam/security-credentials/";

std::string Where(const ImdsOptions& o) { return "EC2 instance metadata (IMDSv2) at " + o.endpoint; }

// Performs `req` up to `attempts` times: again after a transport failure or
// a 5xx, never after another answer.
Result<http::Response> PerformWithRetry(http::Client& client, const http::Request& req, int attempts) {
  Result<http::Response> r = Status::Internal("no attempt");
  for (int i = 0; i < std::max(1, attempts); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = client.Perform(req);
    if (r.ok() && r.value().status < 500) return r;
  }
  return r;
}

// A failed step: what was asked and what came back (never a 2xx body).
Status StepError(const ImdsOptions& o, std::string_view step, const Result<http::Response>& r) {
  if (!r.ok()) return Status::Unavailable(fmt::format("{}: {}: {}", Where(o), step, r.status().message()));
  const long status = r.value().status;
  std::string body = r.value().body.substr(0, 200);
  std::replace(body.begin(), body.end(), '\n', ' ');
  std::string text = fmt::format("{}: {}: HTTP {}{}{}", Where(o), step, status, body.empty() ? "" : ": ", body);
  if (status >= 500 || status == 429) return Status::Unavailable(std::move(text));
  if (status == 404) return Status::NotFound(std::move(text));
  return Status::PermissionDenied(std::move(text));
}

std::string Trimmed(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

}  // namespace

std::optional<ImdsOptions> ImdsOptionsFromEnvironment(const std::map<std::string, std::string>& environment) {
  auto get = [&](const char* name) -> std::string {
    auto it = environment.find(name);
    return it == environment.end() ? std::string() : Trimmed(it->second);
  };
  std::string disabled = get("AWS_EC2_METADATA_DISABLED");
  std::transform(disabled.begin(), disabled.end(), disabled.begin(), [](unsigned char c) { return std::tolower(c); });
  if (disabled == "true") return std::nullopt;
  ImdsOptions o;
  if (std::string e = get("AWS_EC2_METADATA_SERVICE_ENDPOINT"); !e.empty()) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    o.endpoint = e;
  }
  // Malformed numbers keep the defaults: the SDKs' settings, not ours to refuse.
  const std::string timeout = get("AWS_METADATA_SERVICE_TIMEOUT");
  if (!timeout.empty() && timeout.find_first_not_of("0123456789") == std::string::npos && timeout.size() < 5 &&
      std::stoi(timeout) > 0) {
    o.timeout = std::chrono::seconds(std::stoi(timeout));
  }
  const std::string attempts = get("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
  if (!attempts.empty() && attempts.find_first_not_of("0123456789") == std::string::npos && attempts.size() < 3 &&
      std::stoi(attempts) > 0) {
    o.attempts = std::stoi(attempts);
  }
  return o;
}

Result<TemporaryCredentials> FetchImdsCredentials(const ImdsOptions& options) {
  http::ClientOptions co;
  co.connect_timeout = options.timeout;
  co.total_timeout = options.timeout;
  co.use_proxy = false;
  http::Client client(co);

  http::Request token_req;
  token_req.method = "PUT";
  token_req.url = options.endpoint + "/latest/api/token";
  token_req.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", kTokenTtlSeconds}};
  Result<http::Response> token = PerformWithRetry(client, token_req, options.attempts);
  if (!token.ok() || token.value().status != 200) return StepError(options, "PUT /latest/api/token", token);
  const std::string token_value = Trimmed(token.value().body);

  http::Request role_req;
  role_req.url = options.endpoint + kCredentialsPath;
  role_req.headers = {{"X-aws-ec2-metadata-token", token_value}};
  Result<http::Response> role = PerformWithRetry(client, role_req, options.attempts);
  if (!role.ok() || role.value().status != 200) {
    Status s = StepError(options, std::string("GET ") + kCredentialsPath, role);
    if (s.code() == ErrorCode::kNotFound) {
      return Status::NotFound(s.message() + " (no IAM role is attached to this instance)");
    }
    return s;
  }
  // One role per instance profile: the first line.
  std::string role_name = Trimmed(role.value().body.substr(0, role.value().body.find('\n')));
  if (role_name.empty()) {
    return Status::NotFound(Where(options) + ": no IAM role is attached to this instance (empty role list)");
  }

  http::Request creds_req;
  creds_req.url = options.endpoint + kCredentialsPath + role_name;
  creds_req.headers = {{"X-aws-ec2-metadata-token", token_value}};
  Result<http::Response> creds = PerformWithRetry(client, creds_req, options.attempts);
  if (!creds.ok() || creds.value().status != 200) {
    return StepError(options, std::string("GET ") + kCredentialsPath + role_name, creds);
  }
  const nlohmann::json j = nlohmann::json::parse(creds.value().body, nullptr, /*allow_exceptions=*/false);
  auto field = [&](const char* name) -> std::string {
    if (!j.is_object() || !j.contains(name) || !j[name].is_string()) return "";
    return j[name].get<std::string>();
  };
  if (const std::string code = field("Code"); !code.empty() && code != "Success") {
    return Status::Unavailable(fmt::format("{}: role '{}': Code {}", Where(options), role_name, code));
  }
  TemporaryCredentials out;
  out.credentials.access_key_id = field("AccessKeyId");
  out.credentials.secret_access_key = field("SecretAccessKey");
  out.credentials.session_token = field("Token");
  const std::optional<WallTime> expiration = ParseAwsTimestamp(field("Expiration"));
  if (out.credentials.access_key_id.empty() || out.credentials.secret_access_key.empty() || !expiration) {
    // The body may hold part of a secret: it is not quoted.
    return Status::Unavailable(
        fmt::format("{}: role '{}': the answer is not AccessKeyId, SecretAccessKey, Token and an ISO 8601 Expiration",
                    Where(options), role_name));
  }
  out.expiration = LocalExpiration(*expiration, creds.value().Header("date"), std::chrono::system_clock::now());
  return out;
}

std::shared_ptr<CredentialsProvider> ImdsCredentials(ImdsOptions options, RefreshOptions refresh) {
  std::string source = Where(options);
  return RefreshingCredentials(
      std::move(source), [options = std::move(options)] { return FetchImdsCredentials(options); }, std::move(refresh));
}

}  // namespace sluice::aws
