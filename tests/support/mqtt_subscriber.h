// A test's MQTT subscriber on Paho C++, plain TCP to 127.0.0.1, MQTT 3.1.1:
// reads back what the agent's MQTT sink published, and keeps reading across
// broker restarts.
//
// With `persistent` the session is not clean and the client id is fixed, so
// the broker keeps the subscription and queues messages while the subscriber
// is away (across a broker restart, with the broker's persistence). After a
// lost connection Paho reconnects by itself (100 ms to 1 s) and the
// subscription is made again. Every message is kept with the number of the
// connection it arrived on (1 for the first), so a test can tell copies that
// arrived on both sides of a restart from copies on one connection.
//
// Thread-safe: messages arrive on Paho's thread; the accessors take a lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/mqtt_client.h"

namespace sluice::test {

struct ReceivedMqttMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retained = false;
  uint64_t connection = 0;  // 1 for messages on the first connection, 2 after the first reconnect, ...
};

struct MqttSubscriberOptions {
  uint16_t port = 0;
  std::string filter = "#";
  int qos = 1;
  bool persistent = false;
  std::string client_id;  // empty: a unique one
};

class MqttTestSubscriber {
 public:
  // Connects and subscribes (waiting for the SUBACK); throws MqttError.
  explicit MqttTestSubscriber(MqttSubscriberOptions options);
  // A clean session on 127.0.0.1:port, subscribed to `filter` at QoS 1.
  MqttTestSubscriber(uint16_t port, std::string filter);
  ~MqttTestSubscriber();
  MqttTestSubscriber(const MqttTestSubscriber&) = delete;
  MqttTestSubscriber& operator=(const MqttTestSubscriber&) = delete;

  std::vector<ReceivedMqttMessage> Messages() const;
  size_t Count() const;
  // Waits until at least `n` messages arrived (true) or `timeout` passed.
  bool WaitForCount(size_t n, std::chrono::milliseconds timeout) const;
  uint64_t connections() const;

  struct State;  // shared with Paho's callbacks

 private:
  MqttSubscriberOptions options_;
  std::shared_ptr<State> state_;
  std::unique_ptr<mqtt::async_client> client_;
};

}  // namespace sluice::test
