// The MQTT sink against a real mosquitto, read back by a subscriber: QoS 1
// and 0, topic templates, the retained flag, json and raw encodings (an MQTT
// source bridged to the sink byte for byte), dead letters, and mutual TLS,
// including connections the broker or the agent refuses (nothing is
// acknowledged: a corrected configuration then delivers every record once).
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/support/agent_fixture.h"
#include "tests/support/mosquitto.h"
#include "tests/support/mqtt_client.h"
#include "tests/support/mqtt_subscriber.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

AgentOptions MqttSinkAgent(const std::string& url, const std::string& sink_keys) {
  AgentOptions o;
  o.sink_toml = "type = \"mqtt\"\nurl = " + TomlString(url) + "\nconnect_timeout = \"2s\"\n" + sink_keys;
  o.batch_max_age = "200ms";
  o.retry_max = "500ms";
  o.shutdown_timeout = "2s";  // a sink that cannot connect would hold a stop for all of it
  return o;
}

// "line <n>" for n in [first, last], one per line.
std::string MqttSinkLines(int first, int last, const std::string& prefix = "line ") {
  std::string out;
  for (int i = first; i <= last; ++i) out += prefix + std::to_string(i) + "\n";
  return out;
}

double MqttSinkDelivered(const AgentUnderTest& agent) {
  return agent.Metric("sluice_sink_records_total", {{"sink", "lake"}});
}

// Waits until the sink has delivered `n` records and the subscriber holds at
// least `n` messages; fails with the agent's log otherwise.
void MqttSinkWaitFor(AgentUnderTest& agent, const MqttTestSubscriber& sub, size_t n) {
  const bool ok = WaitUntil(30s, [&] { return MqttSinkDelivered(agent) >= n && sub.Count() >= n; });
  INFO("delivered " << MqttSinkDelivered(agent) << ", received " << sub.Count() << "\n" << agent.StderrTail());
  REQUIRE(ok);
}

}  // namespace

TEST_CASE("mqtt sink: QoS 1 delivers every record once on its rendered topic, and keeps the retained flag",
          "[integration][mqtt][mqtt_sink]") {
  TempDir dir("sluice-mqtt-sink");
  Mosquitto broker(dir / "broker");
  MqttTestSubscriber sub(broker.port(), "devices/#");
  constexpr int kLines = 2000;
  AgentUnderTest agent(dir / "agent", MqttSinkAgent(broker.url(),
                                                    "topic = \"devices/{host}/{source}\"\nqos = 1\nretain = true\n"
                                                    "max_inflight = 10\n"));
  WriteFile(agent.logs() / "app.log", MqttSinkLines(1, kLines));
  agent.Start();
  MqttSinkWaitFor(agent, sub, kLines);
  const auto st = agent.Stop();
  REQUIRE(st);
  CHECK(st->Exited(0));

  const std::vector<ReceivedMqttMessage> got = sub.Messages();
  CHECK(got.size() == kLines);  // the agent stopped with everything delivered: nothing more can come
  std::map<std::string, int> copies;
  for (const ReceivedMqttMessage& m : got) {
    const nlohmann::json record = nlohmann::json::parse(m.payload);  // encoding = "json": the envelope
    INFO(m.payload);
    REQUIRE(record.contains("msg"));
    CHECK(record.at("source") == "app");
    CHECK(m.topic == "devices/" + record.at("host").get<std::string>() + "/app");
    CHECK(m.qos == 1);
    ++copies[record.at("msg").get<std::string>()];
  }
  CHECK(copies.size() == kLines);
  for (int i = 1; i <= kLines; ++i) CHECK(copies["line " + std::to_string(i)] == 1);

  // The broker kept the last record as the topic's retained message, flagged.
  MqttTestSubscriber late(broker.port(), "devices/#");
  REQUIRE(late.WaitForCount(1, 10s));
  const ReceivedMqttMessage retained = late.Messages().front();
  CHECK(retained.retained);
  CHECK(nlohmann::json::parse(retained.payload).at("msg") == "line " + std::to_string(kLines));
}

TEST_CASE("mqtt sink: QoS 0 with raw encoding bridges MQTT payloads onto a templated topic",
          "[integration][mqtt][mqtt_sink]") {
  TempDir dir("sluice-mqtt-sink");
  Mosquitto broker(dir / "broker");
  MqttTestSubscriber sub(broker.port(), "up/#");
  AgentOptions o = MqttSinkAgent(broker.url(), "topic = \"up/{topic}\"\nqos = 0\nencoding = \"raw\"\n");
  o.source_toml = "type = \"mqtt\"\nurl = " + TomlString(broker.url()) +
                  "\ntopics = [\"plant/#\"]\nqos = 1\ncommit_interval = \"100ms\"\nreconnect.initial = \"100ms\"\n";
  AgentUnderTest agent(dir / "agent", o);
  agent.Start();
  REQUIRE(WaitUntil(20s, [&] { return agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 1; }));

  const std::string binary("\x00\x01\xff\xfe\x80 bin", 9);
  MqttTestPublisher pub(broker.port());
  pub.Publish("plant/1/temp", "21.5 C", 1);
  pub.Publish("plant/2/json", "{\"c\": 21.5, \"ok\": true}", 1);
  pub.Publish("plant/3/blob", binary, 1);
  pub.Publish("plant/4/text", "Grüße", 1);
  MqttSinkWaitFor(agent, sub, 4);
  REQUIRE(agent.Stop());

  std::map<std::string, ReceivedMqttMessage> by_topic;
  for (const ReceivedMqttMessage& m : sub.Messages()) by_topic.emplace(m.topic, m);
  CHECK(by_topic.size() == 4);
  REQUIRE(by_topic.count("up/plant/1/temp"));
  CHECK(by_topic.at("up/plant/1/temp").payload == "21.5 C");
  CHECK(by_topic.at("up/plant/1/temp").qos == 0);  // published at QoS 0: the subscription cannot raise it
  REQUIRE(by_topic.count("up/plant/2/json"));
  // A JSON payload is stored as its value and sent as that value.
  CHECK(nlohmann::json::parse(by_topic.at("up/plant/2/json").payload) == nlohmann::json{{"c", 21.5}, {"ok", true}});
  REQUIRE(by_topic.count("up/plant/3/blob"));
  CHECK(by_topic.at("up/plant/3/blob").payload == binary);  // bytes as they came, not base64
  REQUIRE(by_topic.count("up/plant/4/text"));
  CHECK(by_topic.at("up/plant/4/text").payload == "Grüße");
}

TEST_CASE("mqtt sink: a record too big or with an invalid topic goes to the dead-letter directory, the rest arrive",
          "[integration][mqtt][mqtt_sink]") {
  TempDir dir("sluice-mqtt-sink");
  Mosquitto broker(dir / "broker");
  MqttTestSubscriber sub(broker.port(), "logs/#");
  // {path} renders the file's path into the topic: a '+' in a file name would
  // be a wildcard, which a topic name cannot hold.
  AgentUnderTest agent(
      dir / "agent",
      MqttSinkAgent(broker.url(), "topic = \"logs{path}\"\nmax_payload = \"1KiB\"\nencoding = \"raw\"\n"));
  const std::string big(1500, 'b');
  WriteFile(agent.logs() / "app.log", MqttSinkLines(1, 50) + big + "\n" + MqttSinkLines(51, 100));
  WriteFile(agent.logs() / "app.log+plus", MqttSinkLines(1, 3, "plus "));
  agent.Start();
  MqttSinkWaitFor(agent, sub, 100);
  REQUIRE(WaitUntil(20s, [&] { return MqttSinkDelivered(agent) >= 104; }));
  CHECK(agent.Metric("sluice_sink_dead_letter_records_total", {{"sink", "lake"}}) == 4);
  REQUIRE(agent.Stop());

  std::set<std::string> payloads;
  for (const ReceivedMqttMessage& m : sub.Messages()) {
    CHECK(m.topic == "logs" + (agent.logs() / "app.log").string());
    payloads.insert(m.payload);
  }
  CHECK(payloads.size() == 100);
  CHECK(sub.Count() == 100);
  CHECK(payloads.count("line 1"));
  CHECK(payloads.count("line 100"));

  // Dead letters: <data_dir>/dead-letter/<sink>/<source>/<batch id>-<first record>.jsonl, the stored records.
  std::string dead;
  const auto dl = agent.data_dir() / "dead-letter" / "lake" / "app";
  REQUIRE(std::filesystem::is_directory(dl));
  for (const auto& e : std::filesystem::directory_iterator(dl)) dead += ReadFile(e.path());
  size_t dead_lines = 0;
  std::set<std::string> dead_msgs;
  for (size_t pos = 0; pos < dead.size(); pos = dead.find('\n', pos) + 1) {
    dead_msgs.insert(nlohmann::json::parse(dead.substr(pos, dead.find('\n', pos) - pos)).at("msg"));
    ++dead_lines;
  }
  CHECK(dead_lines == 4);
  CHECK(dead_msgs == std::set<std::string>{big, "plus 1", "plus 2", "plus 3"});
  CHECK_THAT(agent.Stderr(), Catch::Contains("larger than max_payload") && Catch::Contains("wildcards"));
}

TEST_CASE("mqtt sink: mutual TLS delivers, and a refused connection acknowledges nothing",
          "[integration][mqtt][mqtt_sink]") {
  TempDir dir("sluice-mqtt-sink");
  MosquittoOptions bo;
  bo.tls = true;
  Mosquitto broker(dir / "broker", bo);
  MqttTestSubscriber sub(broker.port(), "secure/#");
  const std::string url = "mqtts://localhost:" + std::to_string(broker.tls_port());
  const auto tls = [](const std::filesystem::path& ca, const std::optional<std::filesystem::path>& cert,
                      const std::optional<std::filesystem::path>& key) {
    std::string t = "tls = { ca = " + TomlString(ca.string());
    if (cert) t += ", cert = " + TomlString(cert->string()) + ", key = " + TomlString(key->string());
    return t + " }\n";
  };
  const std::string topic = "topic = \"secure/{source}\"\n";
  const std::string good = topic + tls(broker.ca_cert(), broker.client_cert(), broker.client_key());
  constexpr int kLines = 20;

  const auto refused_then_fixed = [&](const std::string& bad) {
    AgentUnderTest agent(dir / "agent", MqttSinkAgent(url, bad));
    WriteFile(agent.logs() / "app.log", MqttSinkLines(1, kLines));
    agent.Start();
    const bool failed = WaitUntil(30s, [&] {
      return agent.Metric("sluice_mqtt_sink_connect_failures_total", {{"sink", "lake"}}) >= 2;
    });
    INFO(agent.StderrTail());
    CHECK(failed);
    CHECK(MqttSinkDelivered(agent) == 0);
    CHECK(agent.Metric("sluice_mqtt_sink_connected", {{"sink", "lake"}}) == 0);
    REQUIRE(agent.Stop());
    CHECK(sub.Count() == 0);
    CHECK_THAT(agent.Stderr(), Catch::Contains("cannot connect to " + url) && Catch::Contains("TLS handshake failed"));
    // Nothing was acknowledged: with a good configuration every record is
    // delivered, each once.
    agent.options().sink_toml = MqttSinkAgent(url, good).sink_toml;
    agent.WriteConfig();
    agent.Start();
    MqttSinkWaitFor(agent, sub, kLines);
    REQUIRE(agent.Stop());
    CHECK(sub.Count() == kLines);
  };

  SECTION("a client certificate from the broker's CA delivers") {
    AgentUnderTest agent(dir / "agent", MqttSinkAgent(url, good + "qos = 1\n"));
    WriteFile(agent.logs() / "app.log", MqttSinkLines(1, kLines));
    agent.Start();
    MqttSinkWaitFor(agent, sub, kLines);
    CHECK(agent.Metric("sluice_mqtt_sink_connected", {{"sink", "lake"}}) == 1);
    REQUIRE(agent.Stop());
    CHECK(sub.Count() == kLines);
    CHECK(sub.Messages().front().topic == "secure/app");
  }
  SECTION("no client certificate: the broker refuses") { refused_then_fixed(topic + tls(broker.ca_cert(), {}, {})); }
  SECTION("a client certificate from another CA: the broker refuses") {
    refused_then_fixed(topic + tls(broker.ca_cert(), broker.other_client_cert(), broker.other_client_key()));
  }
  SECTION("a CA that did not sign the broker's certificate: the agent refuses") {
    refused_then_fixed(topic + tls(broker.other_ca_cert(), broker.client_cert(), broker.client_key()));
  }
}

}  // namespace sluice::test
