#include "agent/sinks/aws_credentials_config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace sluice {
namespace {

bool AllOf(const std::string& s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

}  // namespace

AwsCredentialsConfig ParseAwsCredentialsConfig(TableReader& r) {
  AwsCredentialsConfig c;
  c.profile = r.String("profile", "", "profile in ~/.aws/credentials and ~/.aws/config (empty: AWS_PROFILE, default)");

  struct Key {
    const char* name;
    const char* doc;
    std::optional<std::string> value;
  };
  std::vector<Key> keys = {
      {"iot_credentials_endpoint",
       "AWS IoT credentials provider endpoint (aws iot describe-endpoint --endpoint-type iot:CredentialProvider)",
       std::nullopt},
      {"iot_role_alias", "AWS IoT role alias whose IAM role the sink acts as", std::nullopt},
      {"iot_thing_name", "AWS IoT thing the certificate is attached to (x-amzn-iot-thingname)", std::nullopt},
      {"iot_cert", "the thing's X.509 certificate (PEM file)", std::nullopt},
      {"iot_key", "the certificate's private key (PEM file)", std::nullopt},
  };
  for (Key& k : keys) k.value = r.OptionalString(k.name, k.doc);
  const std::optional<std::string> ca =
      r.OptionalString("iot_ca", "CA bundle (PEM) to verify the IoT endpoint (default: the system's)");

  std::string present;
  std::string missing;
  for (const Key& k : keys) {
    if (k.value && present.empty()) present = k.name;
    if (!k.value) missing += std::string(missing.empty() ? "" : ", ") + k.name;
  }
  if (present.empty()) {
    if (ca) r.Fail("iot_ca", "is only used with the AWS IoT credentials provider (iot_credentials_endpoint ...)");
    return c;
  }
  if (!missing.empty()) {
    r.Fail(present,
           "the AWS IoT credentials provider needs iot_credentials_endpoint, iot_role_alias, iot_thing_name, "
           "iot_cert and iot_key together; missing: " +
               missing);
  }

  aws::IotCredentialsConfig iot;
  iot.endpoint = *keys[0].value;
  iot.role_alias = *keys[1].value;
  iot.thing_name = *keys[2].value;
  iot.cert_file = *keys[3].value;
  iot.key_file = *keys[4].value;
  iot.ca_file = ca.value_or("");
  if (iot.endpoint.empty() || iot.endpoint.starts_with("http://") ||
      (iot.endpoint.find("://") != std::string::npos && !iot.endpoint.starts_with("https://"))) {
    r.Fail("iot_credentials_endpoint", "\"" + iot.endpoint + "\" must be a host name or an https:// URL");
  }
  if (iot.role_alias.empty() || iot.role_alias.size() > 128 || !AllOf(iot.role_alias, "_=,@-")) {
    r.Fail("iot_role_alias", "\"" + iot.role_alias + "\" is not a role alias (1 to 128 of A-Z a-z 0-9 _ = , @ -)");
  }
  if (iot.thing_name.empty() || iot.thing_name.size() > 128 || !AllOf(iot.thing_name, ":_-")) {
    r.Fail("iot_thing_name", "\"" + iot.thing_name + "\" is not a thing name (1 to 128 of A-Z a-z 0-9 : _ -)");
  }
  r.RequireReadable("iot_cert", iot.cert_file);
  r.RequireReadable("iot_key", iot.key_file);
  if (ca) r.RequireReadable("iot_ca", iot.ca_file);
  c.iot = std::move(iot);
  return c;
}

aws::CredentialSources MakeCredentialSources(const AwsCredentialsConfig& config,
                                             std::map<std::string, std::string> environment) {
  aws::CredentialSources s;
  s.profile = config.profile;
  s.environment = std::move(environment);
  s.iot = config.iot;
  return s;
}

}  // namespace sluice
