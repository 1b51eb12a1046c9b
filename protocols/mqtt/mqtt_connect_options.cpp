#include "protocols/mqtt/mqtt_connect_options.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>

namespace sluice {

Result<std::string> ReadSecretLine(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

Result<mqtt::connect_options> MakeConnectOptions(const MqttConnectionConfig& config,
                                                 const MqttSessionOptions& session) {
  mqtt::connect_options_builder b;
  b.keep_alive_interval(config.keepalive).connect_timeout(config.connect_timeout).automatic_reconnect(false);
  if (session.max_inflight > 0) b.max_inflight(session.max_inflight);
  if (config.protocol == 5) {
    b.mqtt_version(MQTTVERSION_5).clean_start(session.clean_session);
    const auto expiry = session.clean_session
                            ? 0
                            : static_cast<int>(std::min<int64_t>(session.session_expiry.count(), UINT32_MAX >> 1));
    b.properties({mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL, expiry)});
  } else {
    b.mqtt_version(MQTTVERSION_3_1_1).clean_session(session.clean_session);
  }
  if (config.username) b.user_name(*config.username);
  if (config.password_file) {
    Result<std::string> pw = ReadSecretLine(*config.password_file);
    if (!pw.ok()) return Status::InvalidArgument("password_file: " + pw.status().message());
    b.password(pw.value());
  } else if (config.password_env) {
    const char* pw = std::getenv(config.password_env->c_str());
    if (pw == nullptr)
      return Status::InvalidArgument("password_env: environment variable " + *config.password_env + " is not set");
    b.password(std::string(pw));
  }
  if (config.tls.enabled) {
    mqtt::ssl_options ssl;
    ssl.set_enable_server_cert_auth(true);
    ssl.set_verify(config.tls.verify_hostname);
    if (config.tls.ca) ssl.set_trust_store(*config.tls.ca);
    if (config.tls.cert) ssl.set_key_store(*config.tls.cert);
    if (config.tls.key) ssl.set_private_key(*config.tls.key);
    if (config.tls.key_password_file) {
      Result<std::string> pw = ReadSecretLine(*config.tls.key_password_file);
      if (!pw.ok()) return Status::InvalidArgument("tls.key_password_file: " + pw.status().message());
      ssl.set_private_key_password(pw.value());
    }
    if (!config.tls.alpn.empty()) ssl.set_alpn_protos(config.tls.alpn);
    // No ssl error handler: Paho C++ 1.2 calls it through a context pointer
    // that does not follow the options when they are copied into the client
    // (a crash on the first TLS error, seen here). Paho's own failure text says
    // "TCP/TLS connect failure", and the broker's log has the OpenSSL reason.
    b.ssl(std::move(ssl));
  }
  return b.finalize();
}

}  // namespace sluice
