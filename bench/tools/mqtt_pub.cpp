// sluice-mqtt-pub: publishes N numbered messages to one MQTT topic as fast as
// a bounded in-flight window allows, for the MQTT benchmarks (and by hand).
// Each payload starts with "seq <n> " and is padded with printable characters
// to --size bytes, so a reader can check that each message arrived.
//
// The window: at most --inflight messages are published and not yet
// acknowledged (PUBACK for QoS 1, PUBCOMP for QoS 2, "written to the socket"
// for QoS 0, which keeps Paho's command queue bounded). Paho's own
// max_inflight is set to the same number. Any failure (connection lost, no
// acknowledgement within --timeout) ends the run with exit status 1; this tool
// measures, it does not retry. With QoS 2 keep --inflight at or below the
// broker's max_inflight_messages (mosquitto: 20 by default): mosquitto 2.0
// drops an MQTT 3.1.1 client that has more unreleased QoS 2 messages.
//
// At the end it prints one JSON line: {"messages":N,"seconds":S,"msg_per_s":R},
// timed from the first publish to the last acknowledgement.
#include <mqtt/async_client.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <random>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  std::string topic = "sluice/bench";
  uint64_t count = 100'000;
  uint64_t first = 1;
  size_t size = 200;
  int qos = 1;
  size_t inflight = 64;
  std::string client_id;
  std::string username;
  std::string password;
  double timeout_s = 30;
};

// Thrown for anything that ends the run; main prints it and exits 1.
struct Failure {
  std::string what;
};

std::string Payload(uint64_t n, size_t size) {
  static constexpr char kFill[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string p = "seq " + std::to_string(n) + " ";
  while (p.size() < size) p += kFill[(p.size() + n) % (sizeof kFill - 1)];
  return p;
}

// Waits for the oldest outstanding message. Paho fails pending tokens itself
// once it notices a lost connection; polling is_connected() notices sooner,
// and the timeout covers a broker that stops answering but keeps the socket.
void AwaitAck(mqtt::async_client& client, const mqtt::delivery_token_ptr& token, uint64_t n,
              std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  try {
    while (!token->wait_for(std::chrono::milliseconds(50))) {
      if (!client.is_connected() && !token->try_wait()) {
        throw Failure{"connection lost while message " + std::to_string(n) + " was in flight"};
      }
      if (Clock::now() >= until) {
        throw Failure{"message " + std::to_string(n) + " not acknowledged within " + std::to_string(timeout.count()) +
                      " ms"};
      }
    }
  } catch (const mqtt::exception& e) {
    throw Failure{"message " + std::to_string(n) + ": " + e.what()};
  }
}

std::string DefaultClientId() {
  std::random_device rd;
  return "sluice-mqtt-pub-" + std::to_string(rd());
}

int Run(const Options& o) {
  const std::string uri = "tcp://" + o.host + ":" + std::to_string(o.port);
  const std::string client_id = o.client_id.empty() ? DefaultClientId() : o.client_id;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  mqtt::create_options create(MQTTVERSION_3_1_1);
  // Paho refuses a publish while more than max_buffered_messages (default
  // 100) are queued inside it, also when connected: the window must fit.
  create.set_max_buffered_messages(static_cast<int>(std::min<size_t>(o.inflight, 65535)) + 1);
  mqtt::async_client client(uri, client_id, create);
  mqtt::connect_options co;
  co.set_mqtt_version(MQTTVERSION_3_1_1);
  co.set_clean_session(true);
  co.set_keep_alive_interval(std::chrono::seconds(30));
  co.set_connect_timeout(std::chrono::seconds(10));
  co.set_max_inflight(static_cast<int>(std::min<size_t>(o.inflight, 65535)));
  if (!o.username.empty()) {
    co.set_user_name(o.username);
    co.set_password(o.password);
  }
  try {
    if (!client.connect(co)->wait_for(std::chrono::seconds(15))) throw Failure{"no CONNACK from " + uri};
  } catch (const mqtt::exception& e) {
    throw Failure{"cannot connect to " + uri + ": " + e.what()};
  }

  struct Pending {
    uint64_t n;
    mqtt::delivery_token_ptr token;
  };
  std::deque<Pending> window;
  const auto start = Clock::now();
  for (uint64_t i = 0; i < o.count; ++i) {
    if (window.size() >= o.inflight) {
      AwaitAck(client, window.front().token, window.front().n, timeout);
      window.pop_front();
    }
    const uint64_t n = o.first + i;
    const std::string payload = Payload(n, o.size);
    try {
      window.push_back({n, client.publish(o.topic, payload.data(), payload.size(), o.qos, false)});
    } catch (const mqtt::exception& e) {
      throw Failure{"publish of message " + std::to_string(n) + ": " + e.what()};
    }
  }
  while (!window.empty()) {
    AwaitAck(client, window.front().token, window.front().n, timeout);
    window.pop_front();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  try {
    client.disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const mqtt::exception&) {  // every message was acknowledged: the
                                      // goodbye does not matter
  }
  std::printf("{\"messages\":%llu,\"seconds\":%.3f,\"msg_per_s\":%.0f}\n", static_cast<unsigned long long>(o.count),
              seconds, seconds > 0 ? static_cast<double>(o.count) / seconds : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Publish numbered MQTT messages through a bounded in-flight window and report the rate"};
  app.add_option("--host", o.host, "broker address");
  app.add_option("--port", o.port, "broker port")->required();
  app.add_option("--topic", o.topic, "topic to publish to");
  app.add_option("--count", o.count, "how many messages");
  app.add_option("--first", o.first, "sequence number of the first message");
  app.add_option("--size", o.size, "payload bytes (\"seq <n> \" padded; never shorter than that)");
  app.add_option("--qos", o.qos, "0, 1 or 2")->check(CLI::Range(0, 2));
  app.add_option("--inflight", o.inflight,
                 "messages published and not yet acknowledged, at most (QoS 2: at most the broker's "
                 "max_inflight_messages, 20 for mosquitto's default)")
      ->check(CLI::Range(size_t{1}, size_t{65535}));
  app.add_option("--client-id", o.client_id, "MQTT client id (default: a random one)");
  app.add_option("--username", o.username, "MQTT username (default: none)");
  app.add_option("--password", o.password, "MQTT password");
  app.add_option("--timeout", o.timeout_s, "seconds to wait for one acknowledgement before failing");
  CLI11_PARSE(app, argc, argv);
  try {
    return Run(o);
  } catch (const Failure& f) {
    std::fprintf(stderr, "sluice-mqtt-pub: %s\n", f.what.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-mqtt-pub: %s\n", e.what());
  }
  return 1;
}
