// The options of an MQTT source ([sources.NAME] with type = "mqtt"), parsed and
// validated. Every option, its default and its one-line doc are read in
// ParseMqttConfig, so `sluice agent check` prints them all. Secrets are never
// held here: only where to read them (a file path or an environment
// variable's name); they are read at connect time and never logged.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config/reader.h"

namespace sluice {

struct MqttSubscription {
  std::string filter;      // a topic filter; '+' and '#' wildcards
  int requested_qos = 1;   // what the configuration asked for
  int subscribed_qos = 1;  // what is sent in SUBSCRIBE (2 is received as 1: see DESIGN.md)
};

struct MqttTlsConfig {
  bool enabled = false;             // mqtts:// URL
  std::optional<std::string> ca;    // CA bundle to verify the broker with; default: the system's
  std::optional<std::string> cert;  // client certificate (mutual TLS)
  std::optional<std::string> key;   // its private key
  std::optional<std::string> key_password_file;
  bool verify_hostname = true;
  std::vector<std::string> alpn;
};

struct MqttConfig {
  enum class Oversize { kStore, kDrop, kSplit };

  std::string url;         // as configured: mqtt://host:port or mqtts://host:port
  std::string server_uri;  // Paho's form: tcp://host:port or ssl://host:port
  std::string host;        // for TLS server name verification
  std::vector<MqttSubscription> topics;
  int protocol = 4;       // MQTT protocol level: 4 = 3.1.1, 5 = 5.0
  std::string client_id;  // empty: "sluice-<host>-<source>" at build time
  bool clean_session = false;
  std::chrono::seconds session_expiry{7 * 24 * 3600};  // MQTT 5
  std::chrono::seconds keepalive{30};
  std::chrono::milliseconds connect_timeout{10'000};
  std::optional<std::string> username;
  std::optional<std::string> password_file;
  std::optional<std::string> password_env;
  MqttTlsConfig tls;
  std::chrono::milliseconds reconnect_initial{1000};
  std::chrono::milliseconds reconnect_max{60'000};
  uint64_t max_payload = 256 << 10;
  Oversize oversize = Oversize::kStore;
  uint64_t batch_bytes = 1 << 20;                   // QoS 0 records are committed in batches this big
  std::chrono::milliseconds commit_interval{1000};  // ...or this long after the first
  std::chrono::milliseconds stop_grace{5000};
};

// Reads every MQTT option from `r` (the [sources.NAME] table). Throws
// ConfigError (via r.Fail) for a bad URL, topic filter or combination.
MqttConfig ParseMqttConfig(TableReader& r);

// Checks an MQTT topic filter (MQTT 3.1.1 §4.7): non-empty, '#' only as the
// last level and alone in it, '+' alone in its level, no NUL. Returns the
// problem, or an empty string when the filter is valid.
std::string TopicFilterProblem(std::string_view filter);

}  // namespace sluice
