// A test's MQTT publisher on Paho C++ (mqtt::async_client), plain TCP to
// 127.0.0.1 (or `host`), MQTT 3.1.1 or 5, for feeding the agent's MQTT source
// and for checking a broker fixture.
//
// Two ways to publish:
//   Publish()          one message, one attempt: connects if needed, waits for
//                      the broker's acknowledgement, throws MqttError
//                      otherwise.
//   PublishNumbered()  a numbered series that survives broker restarts: keeps
//                      up to `window` (QoS 2: `qos2_window`) messages in
//                      flight, and on any failure
//                      (connection lost, refused, no acknowledgement in time)
//                      reconnects and resends from the oldest message not yet
//                      acknowledged, until an overall deadline. With QoS 1 or
//                      2 every message is then acknowledged by the broker at
//                      least once (some may arrive twice: a resend after a
//                      lost PUBACK); with QoS 0 "acknowledged" only means
//                      "written to the socket".
//
// Each connection is a fresh Paho client with a clean session and no client
// persistence: after a failure nothing stale is resent behind the caller's
// back; the resend is this class's, in order.
// Paho C 1.3.12 quirk: while another Paho client of the same process is
// connected, a connect takes ~2 s (its receive thread polls the old socket set
// with a 1 s timeout; eclipse-paho/paho.mqtt.c#1430). Keep one publisher
// connected at a time where speed matters.
// Speed: Paho's per-message cost bounds it, not the window: ~12-30k QoS 1
// messages/s of 200 bytes on loopback here (the window adds ~20%).
// Not thread-safe: one thread drives a publisher.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mqtt {
class async_client;
}

namespace sluice::test {

// A publish or connect that failed: the message says what and why (Paho's
// error text, the broker's reason code).
class MqttError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class MqttVersion { kV3_1_1, kV5 };

struct MqttClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  MqttVersion version = MqttVersion::kV3_1_1;
  std::string client_id;  // empty: a unique "sluice-test-pub-..."
  std::string username;   // empty: none
  std::string password;
  // Bounds one connect and the wait for one acknowledgement.
  std::chrono::milliseconds operation_timeout = std::chrono::seconds(10);
  // Messages PublishNumbered keeps in flight (also Paho's max_inflight).
  size_t window = 64;
  // The same for QoS 2, where it must not exceed the broker's
  // max_inflight_messages (mosquitto's default 20): mosquitto 2.0 drops an
  // MQTT 3.1.1 client with more unreleased QoS 2 messages than that.
  size_t qos2_window = 20;
};

// MQTT 5 PUBLISH properties (only with MqttVersion::kV5; empty otherwise).
struct MqttPublishProperties {
  std::vector<std::pair<std::string, std::string>> user_properties;
  std::string content_type;  // empty: none
  bool empty() const { return user_properties.empty() && content_type.empty(); }
};

// "seq <n>": PublishNumbered's default payload.
std::string SeqPayload(uint64_t n);

struct NumberedPublishOptions {
  int qos = 1;
  bool retained = false;
  // Overall: PublishNumbered throws MqttError when not every message was
  // acknowledged by then.
  std::chrono::milliseconds deadline = std::chrono::seconds(60);
  std::function<std::string(uint64_t)> payload;  // empty: SeqPayload
  std::function<std::string(uint64_t)> topic;    // empty: PublishNumbered's `topic` for every n
  MqttPublishProperties properties;
};

struct NumberedPublishReport {
  uint64_t messages = 0;    // acknowledged (last - first + 1)
  uint64_t sends = 0;       // publishes made, resends included
  uint64_t reconnects = 0;  // connections made after a failure
  std::string last_error;   // the last failure that caused a resend; empty if none
  std::chrono::milliseconds took{0};
};

class MqttTestPublisher {
 public:
  // Connects; throws MqttError when the broker cannot be reached or refuses.
  explicit MqttTestPublisher(MqttClientOptions options);
  // Anonymous MQTT 3.1.1 to 127.0.0.1:port.
  explicit MqttTestPublisher(uint16_t port);
  // Disconnects (cleanly when still connected).
  ~MqttTestPublisher();
  MqttTestPublisher(const MqttTestPublisher&) = delete;
  MqttTestPublisher& operator=(const MqttTestPublisher&) = delete;

  // Publishes one message and waits for its acknowledgement (PUBACK/PUBCOMP;
  // for QoS 0 until it is written). Reconnects first when the connection is
  // gone (e.g. the broker restarted), but does not retry a failed publish.
  void Publish(const std::string& topic, std::string_view payload, int qos = 1, bool retained = false,
               const MqttPublishProperties& properties = {});

  // Publishes numbers first..last (inclusive) in order, as described at the
  // top. Returns once each was acknowledged; throws MqttError at the deadline,
  // saying how far it got and the last error.
  NumberedPublishReport PublishNumbered(const std::string& topic, uint64_t first, uint64_t last,
                                        const NumberedPublishOptions& options = {});

  bool Connected() const;
  // Disconnects cleanly; the next publish connects again.
  void Disconnect();
  const MqttClientOptions& options() const { return options_; }
  const std::string& client_id() const { return client_id_; }

 private:
  // Replaces the client with a fresh one and connects it within `timeout`;
  // throws MqttError.
  void Connect(std::chrono::milliseconds timeout);
  // Drops the client without a clean disconnect (it failed anyway).
  void Drop();

  MqttClientOptions options_;
  std::string client_id_;
  std::unique_ptr<mqtt::async_client> client_;
};

}  // namespace sluice::test
