// The options of an MQTT source ([sources.NAME] with type = "mqtt"), parsed and
// validated. Every option, its default and its one-line doc are read in
// ParseMqttConfig, so `sluice agent check` prints them all. How to reach and
// log in to the broker (URL, TLS, credentials) is shared with the MQTT sink:
// protocols/mqtt/mqtt_connection_config.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config/reader.h"
#include "protocols/mqtt/mqtt_connection_config.h"
#include "protocols/mqtt/mqtt_topic.h"

namespace sluice {

struct MqttSubscription {
  std::string filter;      // a topic filter; '+' and '#' wildcards
  int requested_qos = 1;   // what the configuration asked for
  int subscribed_qos = 1;  // what is sent in SUBSCRIBE (2 is received as 1: see DESIGN.md)
};

// The connection part (url, server_uri, host, protocol, keepalive,
// connect_timeout, credentials, tls) is the base.
struct MqttConfig : MqttConnectionConfig {
  enum class Oversize { kStore, kDrop, kSplit };

  std::vector<MqttSubscription> topics;
  std::string client_id;  // empty: "sluice-<host>-<source>" at build time
  bool clean_session = false;
  std::chrono::seconds session_expiry{7 * 24 * 3600};  // MQTT 5
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

}  // namespace sluice
