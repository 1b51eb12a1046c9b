// Paho's connect options from an MqttConnectionConfig: protocol version,
// keep-alive, timeouts, the credentials (read now, from the password file or
// environment variable, so a changed secret applies at the next connect), and
// TLS (trust store, client certificate and key, server name verification,
// ALPN). Reconnecting is left to the caller (automatic_reconnect is off):
// the source and the sink each decide when, with their own backoff.
#pragma once

#include <mqtt/connect_options.h>

#include <chrono>
#include <string>

#include "core/status.h"
#include "protocols/mqtt/mqtt_connection_config.h"

namespace sluice {

// What differs between a subscriber's session and a publisher's.
struct MqttSessionOptions {
  bool clean_session = true;
  std::chrono::seconds session_expiry{0};  // MQTT 5, when clean_session is false
  int max_inflight = 0;                    // QoS > 0 publishes Paho keeps outstanding; 0: Paho's default
};

// kInvalidArgument when a secret cannot be read (the message names the key
// and the file or variable, never the secret).
Result<mqtt::connect_options> MakeConnectOptions(const MqttConnectionConfig& config, const MqttSessionOptions& session);

// The first line of a file, without its line ending (a password file).
Result<std::string> ReadSecretLine(const std::string& path);

}  // namespace sluice
