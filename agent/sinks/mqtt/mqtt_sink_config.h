// The options of the MQTT sink ([sinks.NAME] with type = "mqtt"): where to
// publish (the broker connection shared with the MQTT source, in
// protocols/mqtt/mqtt_connection_config.h) and how (topic template, QoS,
// retained flag, encoding, payload limit, in-flight window). Every option,
// its default and its doc are read in ParseMqttSinkConfig, so `sluice agent
// check` prints them all.
//
// Invariant: `topic` parses, uses only {source} {host} {path} {topic}, and
// its literal text can never make a topic name invalid (no '+', '#' or NUL;
// a constant template is a valid topic name). Only a variable's value can
// still render an invalid name (e.g. {topic} of a record without one, which
// renders empty): such a record goes to the dead-letter directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "agent/sinks/record_template.h"
#include "core/config/reader.h"
#include "protocols/mqtt/mqtt_connection_config.h"

namespace sluice {

// The connection part (url, protocol, keepalive, connect_timeout,
// credentials, tls) is the base.
struct MqttSinkConfig : MqttConnectionConfig {
  RecordTemplate topic;
  int qos = 1;  // 0: at most once; 1: at least once (the cursor advances after every PUBACK)
  bool retain = false;
  RecordEncoding encoding = RecordEncoding::kJson;
  uint64_t max_payload = 128 << 10;  // AWS IoT Core's limit
  int max_inflight = 100;            // publishes not yet acknowledged (QoS 1) or written (QoS 0)
  std::chrono::milliseconds ack_timeout{30'000};
  std::string client_id;              // "" = sluice-<machine's hostname>-<sink name>
  std::filesystem::path dead_letter;  // "" = <data_dir>/dead-letter/<sink name>
};

// The variables a topic template may use.
inline constexpr std::string_view kMqttTopicVars[] = {"source", "host", "path", "topic"};

MqttSinkConfig ParseMqttSinkConfig(TableReader& r);

}  // namespace sluice
