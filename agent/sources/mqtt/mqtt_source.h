// The MQTT source: subscribes to topic filters on one broker (Paho MQTT C++
// over the Paho C async client) and commits every message to the buffer.
//
// The guarantee (DESIGN.md in this folder has the why and the proof from
// Paho's source): a QoS 1 message is acknowledged (PUBACK) only after the
// buffer transaction holding it has committed. Paho sends the PUBACK when
// message_arrived returns, so message_arrived commits before returning.
// QoS 2 subscriptions are made at QoS 1, because Paho sends PUBREC before
// the application sees a QoS 2 message. QoS 0 messages are batched.
//
// Invariants:
//  - message_arrived never returns for a QoS >= 1 message that is not
//    committed (it retries; when the buffer is full it waits, which stops
//    acknowledgements and lets the broker hold messages: flow control).
//  - Only the Run thread calls into Paho; while it might block behind a
//    callback (disconnect), it does so on a helper thread with a deadline.
#pragma once

#include <memory>
#include <string>

#include "agent/sources/mqtt/mqtt_config.h"
#include "agent/sources/source.h"

namespace sluice {

std::unique_ptr<Source> MakeMqttSource(const std::string& name, const MqttConfig& config, const SourceContext& ctx);

}  // namespace sluice
