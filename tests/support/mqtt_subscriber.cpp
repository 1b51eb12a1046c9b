#include "tests/support/mqtt_subscriber.h"

#include <mqtt/async_client.h>

#include <random>

namespace sluice::test {

using namespace std::chrono_literals;

struct MqttTestSubscriber::State : public mqtt::callback {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<ReceivedMqttMessage> messages;
  uint64_t connections = 0;
  bool subscribed = false;  // the constructor's subscription is done: a new connection subscribes again
  mqtt::async_client* client = nullptr;
  std::string filter;
  int qos = 1;

  void connected(const std::string&) override {
    std::unique_lock lk(mu);
    ++connections;
    if (!subscribed) return;  // the first connection: the constructor subscribes, and waits for it
    lk.unlock();
    try {
      client->subscribe(filter, qos);
    } catch (const mqtt::exception&) {  // lost again: the next reconnect subscribes
    }
  }
  void message_arrived(mqtt::const_message_ptr msg) override {
    std::lock_guard lk(mu);
    messages.push_back({msg->get_topic(), msg->to_string(), msg->get_qos(), msg->is_retained(), connections});
    cv.notify_all();
  }
};

MqttTestSubscriber::MqttTestSubscriber(MqttSubscriberOptions options)
    : options_(std::move(options)), state_(std::make_shared<State>()) {
  if (options_.client_id.empty()) {
    std::random_device rd;
    options_.client_id = "sluice-test-sub-" + std::to_string(rd()) + std::to_string(rd());
  }
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(options_.port);
  try {
    client_ = std::make_unique<mqtt::async_client>(uri, options_.client_id, mqtt::create_options(MQTTVERSION_3_1_1));
    state_->client = client_.get();
    state_->filter = options_.filter;
    state_->qos = options_.qos;
    client_->set_callback(*state_);
    mqtt::connect_options co;
    co.set_mqtt_version(MQTTVERSION_3_1_1);
    co.set_clean_session(!options_.persistent);
    co.set_keep_alive_interval(30s);
    co.set_automatic_reconnect(100ms, 1s);
    if (!client_->connect(co)->wait_for(10s)) throw MqttError("MQTT connect to " + uri + ": no answer");
    if (!client_->subscribe(options_.filter, options_.qos)->wait_for(10s)) {
      throw MqttError("MQTT subscribe to " + options_.filter + ": no SUBACK");
    }
    std::lock_guard lk(state_->mu);
    state_->subscribed = true;
  } catch (const mqtt::exception& e) {
    throw MqttError("MQTT subscriber on " + uri + ": " + e.what());
  }
}

MqttTestSubscriber::MqttTestSubscriber(uint16_t port, std::string filter)
    : MqttTestSubscriber([&] {
        MqttSubscriberOptions o;
        o.port = port;
        o.filter = std::move(filter);
        return o;
      }()) {}

MqttTestSubscriber::~MqttTestSubscriber() {
  try {
    client_->disable_callbacks();
    if (client_->is_connected()) client_->disconnect(1s)->wait_for(3s);
  } catch (const mqtt::exception&) {  // gone already
  }
}

std::vector<ReceivedMqttMessage> MqttTestSubscriber::Messages() const {
  std::lock_guard lk(state_->mu);
  return state_->messages;
}

size_t MqttTestSubscriber::Count() const {
  std::lock_guard lk(state_->mu);
  return state_->messages.size();
}

bool MqttTestSubscriber::WaitForCount(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(state_->mu);
  return state_->cv.wait_for(lk, timeout, [&] { return state_->messages.size() >= n; });
}

uint64_t MqttTestSubscriber::connections() const {
  std::lock_guard lk(state_->mu);
  return state_->connections;
}

}  // namespace sluice::test
