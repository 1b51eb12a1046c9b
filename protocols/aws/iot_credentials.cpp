#include "protocols/aws/iot_credentials.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "protocols/aws/sigv4.h"
#include "protocols/http/http_client.h"

namespace sluice::aws {
namespace {

// What an error answer says about itself: AWS IoT's {"message": "..."}, else
// the start of the body. Only ever called for non-2xx answers, which hold no
// credentials.
std::string ErrorDetail(const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string text;
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    text = j["message"].get<std::string>();
  } else {
    text = body;
  }
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return text;
}

std::string Describe(const IotCredentialsConfig& c) {
  return fmt::format("AWS IoT credentials provider {} (thing '{}')", IotCredentialsUrl(c), c.thing_name);
}

}  // namespace

std::string IotCredentialsUrl(const IotCredentialsConfig& config) {
  std::string base = config.endpoint;
  if (base.find("://") == std::string::npos) base = "https://" + base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/role-aliases/" + UriEncode(config.role_alias, false) + "/credentials";
}

Result<TemporaryCredentials> FetchIotCredentials(const IotCredentialsConfig& config) {
  http::ClientOptions o;
  o.connect_timeout = config.connect_timeout;
  o.total_timeout = config.timeout;
  o.ca_file = config.ca_file;
  o.client_cert = config.cert_file;
  o.client_key = config.key_file;
  http::Client client(o);
  http::Request req;
  req.url = IotCredentialsUrl(config);
  req.headers = {{"x-amzn-iot-thingname", config.thing_name}, {"Accept", "application/json"}};
  Result<http::Response> r = client.Perform(req);
  if (!r.ok()) {
    const std::string& detail = r.status().message();
    // A client certificate the server refuses ends the connection: with a TLS
    // alert during a TLS 1.2 handshake, and under TLS 1.3 (where the client
    // has finished its part) as a reset or a reply that never comes.
    bool ended = false;
    for (const char* sign : {"alert", "Empty reply", "reset by peer", "Broken pipe", "SSL_read", "SSL_write"}) {
      ended = ended || detail.find(sign) != std::string::npos;
    }
    std::string why;
    if (config.cert_file.empty()) {
      why = "no client certificate is configured";
    } else {
      why = fmt::format("{}client certificate {}, key {}",
                        ended ? "the server ended the TLS session: it refuses the " : "", config.cert_file,
                        config.key_file);
    }
    return Status::Unavailable(fmt::format("{}: {} ({})", Describe(config), detail, why));
  }
  const http::Response& resp = r.value();
  if (resp.status != 200) {
    const std::string text = fmt::format("{}: HTTP {}: {}", Describe(config), resp.status, ErrorDetail(resp.body));
    // 5xx and throttling pass; a refused certificate, role alias or thing does not.
    if (resp.status >= 500 || resp.status == 429) return Status::Unavailable(text);
    return Status::PermissionDenied(text);
  }
  const nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* c = j.is_object() && j.contains("credentials") ? &j["credentials"] : nullptr;
  auto field = [&](const char* name) -> std::string {
    if (c == nullptr || !c->is_object() || !c->contains(name) || !(*c)[name].is_string()) return "";
    return (*c)[name].get<std::string>();
  };
  TemporaryCredentials out;
  out.credentials.access_key_id = field("accessKeyId");
  out.credentials.secret_access_key = field("secretAccessKey");
  out.credentials.session_token = field("sessionToken");
  const std::optional<WallTime> expiration = ParseAwsTimestamp(field("expiration"));
  if (out.credentials.access_key_id.empty() || out.credentials.secret_access_key.empty() ||
      out.credentials.session_token.empty() || !expiration.has_value()) {
    // The body may hold part of a secret: it is not quoted.
    return Status::Unavailable(fmt::format(
        "{}: the answer is not credentials.accessKeyId, secretAccessKey, sessionToken and an ISO 8601 expiration",
        Describe(config)));
  }
  out.expiration = LocalExpiration(*expiration, resp.Header("date"), std::chrono::system_clock::now());
  return out;
}

std::shared_ptr<CredentialsProvider> IotCredentials(IotCredentialsConfig config, RefreshOptions refresh) {
  std::string source = Describe(config);
  return RefreshingCredentials(
      std::move(source), [config = std::move(config)] { return FetchIotCredentials(config); }, std::move(refresh));
}

}  // namespace sluice::aws
