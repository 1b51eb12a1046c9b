#include "tests/support/mqtt_client.h"

#include <mqtt/async_client.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <random>
#include <thread>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string UniqueClientId() {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r));
  return std::string("sluice-test-pub-") + buf;
}

std::string Ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

mqtt::message_ptr MakeMessage(const std::string& topic, std::string_view payload, int qos, bool retained,
                              const MqttPublishProperties& properties, MqttVersion version) {
  if (qos < 0 || qos > 2) throw std::invalid_argument("MQTT QoS must be 0, 1 or 2, not " + std::to_string(qos));
  mqtt::message_ptr msg = mqtt::make_message(topic, payload.data(), payload.size(), qos, retained);
  if (!properties.empty()) {
    if (version != MqttVersion::kV5) throw std::invalid_argument("PUBLISH properties need MQTT 5");
    mqtt::properties props;
    for (const auto& [name, value] : properties.user_properties) {
      props.add(mqtt::property(mqtt::property::USER_PROPERTY, name, value));
    }
    if (!properties.content_type.empty()) {
      props.add(mqtt::property(mqtt::property::CONTENT_TYPE, properties.content_type));
    }
    msg->set_properties(std::move(props));
  }
  return msg;
}

// Waits for `token` until `until`, while the connection stays up. Returns ""
// when the action completed successfully, else why not. When Paho notices a
// lost connection it fails the pending tokens itself (OPERATION_INCOMPLETE,
// after ~100 ms here); polling is_connected() is quicker, and `until` covers
// a broker that stops answering without closing the connection.
std::string Await(mqtt::async_client& client, const mqtt::token_ptr& token, Clock::time_point until) {
  while (true) {
    try {
      if (token->wait_for(20ms)) return {};
      if (!client.is_connected()) return token->try_wait() ? std::string() : std::string("connection lost");
    } catch (const mqtt::exception& e) {
      return e.what();
    }
    if (Clock::now() >= until) return "no acknowledgement in time";
  }
}

}  // namespace

std::string SeqPayload(uint64_t n) { return "seq " + std::to_string(n); }

MqttTestPublisher::MqttTestPublisher(MqttClientOptions options)
    : options_(std::move(options)), client_id_(options_.client_id.empty() ? UniqueClientId() : options_.client_id) {
  if (options_.window == 0) options_.window = 1;
  Connect(options_.operation_timeout);
}

MqttTestPublisher::MqttTestPublisher(uint16_t port)
    : MqttTestPublisher([port] {
        MqttClientOptions o;
        o.port = port;
        return o;
      }()) {}

MqttTestPublisher::~MqttTestPublisher() {
  try {
    Disconnect();
  } catch (...) {  // a destructor must not throw; dropping the client closes the
                   // socket anyway
  }
}

bool MqttTestPublisher::Connected() const { return client_ && client_->is_connected(); }

void MqttTestPublisher::Drop() { client_.reset(); }

void MqttTestPublisher::Disconnect() {
  if (Connected()) {
    try {
      client_->disconnect()->wait_for(options_.operation_timeout);
    } catch (const mqtt::exception&) {  // gone already: nothing to say goodbye to
    }
  }
  Drop();
}

void MqttTestPublisher::Connect(std::chrono::milliseconds timeout) {
  Drop();
  const bool v5 = options_.version == MqttVersion::kV5;
  const std::string uri = "tcp://" + options_.host + ":" + std::to_string(options_.port);
  const std::string what = "MQTT connect to " + uri + " as " + client_id_;
  try {
    // No client persistence: a failed connection's messages are resent by
    // PublishNumbered, in order, not by Paho.
    mqtt::create_options create(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    // Paho refuses a publish while more than max_buffered_messages (default
    // 100) wait inside it, also when connected: the window must fit.
    create.set_max_buffered_messages(static_cast<int>(std::min<size_t>(options_.window, 65535)) + 1);
    auto client = std::make_unique<mqtt::async_client>(uri, client_id_, create);
    mqtt::connect_options co;
    co.set_mqtt_version(v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    if (v5) {
      co.set_clean_start(true);
    } else {
      co.set_clean_session(true);
    }
    co.set_keep_alive_interval(30s);
    // Paho counts whole seconds; it reports its own timeout before ours below.
    co.set_connect_timeout(std::max<std::chrono::seconds>(1s, std::chrono::ceil<std::chrono::seconds>(timeout)));
    co.set_automatic_reconnect(false);
    co.set_max_inflight(static_cast<int>(std::min<size_t>(options_.window, 65535)));
    if (!options_.username.empty()) {
      co.set_user_name(options_.username);
      co.set_password(options_.password);
    }
    mqtt::token_ptr tok = client->connect(co);
    if (!tok->wait_for(timeout + 1s)) throw MqttError(what + ": no answer within " + Ms(timeout));
    client_ = std::move(client);
  } catch (const mqtt::exception& e) {
    throw MqttError(what + ": " + e.what());
  }
}

void MqttTestPublisher::Publish(const std::string& topic, std::string_view payload, int qos, bool retained,
                                const MqttPublishProperties& properties) {
  const mqtt::message_ptr msg = MakeMessage(topic, payload, qos, retained, properties, options_.version);
  if (!Connected()) Connect(options_.operation_timeout);
  std::string failure;
  try {
    mqtt::delivery_token_ptr tok = client_->publish(msg);
    failure = Await(*client_, tok, Clock::now() + options_.operation_timeout);
  } catch (const mqtt::exception& e) {
    failure = e.what();
  }
  if (failure.empty()) return;
  Drop();
  throw MqttError("MQTT publish to '" + topic + "' (QoS " + std::to_string(qos) + ") failed: " + failure);
}

NumberedPublishReport MqttTestPublisher::PublishNumbered(const std::string& topic, uint64_t first, uint64_t last,
                                                         const NumberedPublishOptions& options) {
  NumberedPublishReport report;
  if (first > last) return report;
  const auto start = Clock::now();
  const auto deadline = start + options.deadline;
  const uint64_t total = last - first + 1;
  const size_t window_size = std::max<size_t>(1, options.qos == 2 ? options_.qos2_window : options_.window);

  struct InFlight {
    mqtt::delivery_token_ptr token;
    Clock::time_point sent;
  };
  // The messages first+acked, first+acked+1, ... first+acked+size-1, in order.
  std::deque<InFlight> window;
  uint64_t acked = 0;
  bool after_failure = false;

  auto fail = [&](const std::string& why) {
    report.last_error = why;
    if (Clock::now() >= deadline) {
      const std::string through = acked == 0 ? std::string("none") : std::to_string(first + acked - 1);
      throw MqttError("MQTT PublishNumbered " + topic + " " + std::to_string(first) + ".." + std::to_string(last) +
                      ": only " + std::to_string(acked) + " of " + std::to_string(total) + " acknowledged (through " +
                      through + ") within " + Ms(options.deadline) + "; " + std::to_string(report.reconnects) +
                      " reconnects; last error: " + why);
    }
    // Whatever was in flight is sent again, from the oldest, on a new
    // connection.
    window.clear();
    Drop();
    after_failure = true;
  };

  while (acked < total) {
    if (!Connected()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      try {
        Connect(std::clamp<std::chrono::milliseconds>(left, 1ms, options_.operation_timeout));
      } catch (const MqttError& e) {
        fail(e.what());
        std::this_thread::sleep_for(100ms);  // the broker may be restarting: give it a moment
        continue;
      }
      if (after_failure) ++report.reconnects;
    }
    std::string failure;
    try {
      while (window.size() < window_size && acked + window.size() < total) {
        const uint64_t n = first + acked + window.size();
        const std::string t = options.topic ? options.topic(n) : topic;
        const std::string payload = options.payload ? options.payload(n) : SeqPayload(n);
        const mqtt::message_ptr msg =
            MakeMessage(t, payload, options.qos, options.retained, options.properties, options_.version);
        window.push_back({client_->publish(msg), Clock::now()});
        ++report.sends;
      }
    } catch (const mqtt::exception& e) {
      failure = e.what();
    }
    if (failure.empty()) {
      failure =
          Await(*client_, window.front().token, std::min(window.front().sent + options_.operation_timeout, deadline));
      if (failure.empty()) {
        window.pop_front();
        ++acked;
      }
    }
    if (!failure.empty()) fail(failure);
  }
  report.messages = acked;
  report.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return report;
}

}  // namespace sluice::test
