// How to reach and log in to an MQTT broker: the settings the MQTT source
// ([sources.NAME] type = "mqtt") and the MQTT sink ([sinks.NAME] type =
// "mqtt") share, read from the component's table with the same keys, defaults
// and docs for both. Secrets are never held here: only where to read them (a
// file path or an environment variable's name); they are read at connect time
// (mqtt_connect_options.h) and never logged.
//
// The readers are three so that each component keeps its own key order in
// `sluice agent check`: ReadMqttUrl first, then the component's keys, then
// ReadMqttProtocol and ReadMqttLogin where they fit. All throw ConfigError
// (via TableReader::Fail) naming the key.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/reader.h"

namespace sluice {

struct MqttTlsConfig {
  bool enabled = false;             // mqtts:// URL
  std::optional<std::string> ca;    // CA bundle to verify the broker with; default: the system's
  std::optional<std::string> cert;  // client certificate (mutual TLS)
  std::optional<std::string> key;   // its private key
  std::optional<std::string> key_password_file;
  bool verify_hostname = true;
  std::vector<std::string> alpn;
};

struct MqttConnectionConfig {
  std::string url;         // as configured: mqtt://host:port or mqtts://host:port
  std::string server_uri;  // Paho's form: tcp://host:port or ssl://host:port
  std::string host;        // for TLS server name verification
  int protocol = 4;        // MQTT protocol level: 4 = 3.1.1, 5 = 5.0
  std::chrono::seconds keepalive{30};
  std::chrono::milliseconds connect_timeout{10'000};
  std::optional<std::string> username;
  std::optional<std::string> password_file;
  std::optional<std::string> password_env;
  MqttTlsConfig tls;
};

// `url`: mqtt://host[:port] or mqtts://host[:port] (tcp:// and ssl:// too).
// `doc` is the key's one-line doc.
void ReadMqttUrl(TableReader& r, MqttConnectionConfig& c, std::string_view doc);
// `protocol`: "3.1.1" or "5".
void ReadMqttProtocol(TableReader& r, MqttConnectionConfig& c);
// keepalive, connect_timeout, username, password_file | password_env (an
// inline `password` is refused) and the `tls` table; needs ReadMqttUrl first
// (TLS settings need an mqtts:// URL).
void ReadMqttLogin(TableReader& r, MqttConnectionConfig& c);

}  // namespace sluice
