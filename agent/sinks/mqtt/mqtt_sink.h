// The MQTT sink: publishes every buffered record as one MQTT message to a
// broker (AWS IoT Core, mosquitto, ...) on a topic rendered from the
// record's fields, with Paho (mqtt::async_client).
//
// When a delivery counts as done (Deliver returns Ok, the runner advances
// the cursor):
//   - QoS 1: when every publish of the delivery was acknowledged (PUBACK).
//     At least once: a record whose PUBLISH reached the broker but whose
//     PUBACK did not come back (connection lost, broker restarted, agent
//     killed) is published again.
//   - QoS 0: when Paho wrote every publish to the connection. At most once:
//     a broker that goes away loses what it had not forwarded yet, and
//     nothing tells the sink.
//
// Invariants:
//   - At most `max_inflight` publishes are outstanding; Deliver waits for
//     all of them before it returns.
//   - A connection lost (or a publish not acknowledged within ack_timeout)
//     fails the delivery; the client is discarded, and the runner's retry
//     connects a fresh one (clean session, nothing resent behind our back).
//   - Records acknowledged are remembered by batch id and position until
//     their delivery succeeds, so a retry in the same run publishes only the
//     rest.
//   - A record that can never be published (its topic renders invalid, its
//     payload exceeds max_payload, or it cannot be encoded raw) goes to the
//     dead-letter directory (dead_letters.h), counted, and counts as delivered.
//   - Deliver is called by one thread (the sink's runner).
#pragma once

#include <memory>
#include <string>

#include "agent/sinks/mqtt/mqtt_sink_config.h"
#include "agent/sinks/sink.h"

namespace sluice {

std::unique_ptr<Sink> MakeMqttSink(std::string name, MqttSinkConfig config, BatchPolicy policy,
                                   const SinkContext& context);

}  // namespace sluice
