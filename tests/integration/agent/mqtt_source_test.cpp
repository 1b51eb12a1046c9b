// The MQTT source against a real mosquitto: connections (plain, mutual TLS,
// password), subscriptions (wildcards, several filters, QoS 0/1/2, retained),
// MQTT 5 properties, and payloads of every kind landing in the lake as
// DESIGN.md's record format says.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <thread>

#include "tests/support/agent_fixture.h"
#include "tests/support/mosquitto.h"
#include "tests/support/mqtt_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

std::string MqttSourceToml(const std::string& url, const std::string& topics, const std::string& extra = "") {
  return "type = \"mqtt\"\nurl = " + TomlString(url) + "\ntopics = " + topics +
         "\nreconnect.initial = \"100ms\"\nreconnect.max = \"1s\"\ncommit_interval = \"100ms\"\nconnect_timeout = "
         "\"2s\"\n" +
         extra;
}

AgentOptions MqttAgent(const std::string& source_toml) {
  AgentOptions o;
  o.source_toml = source_toml;
  o.batch_max_age = "200ms";
  return o;
}

// Waits until the agent's MQTT source is connected (metrics), failing with its
// log.
void WaitConnected(AgentUnderTest& agent) {
  const bool ok = WaitUntil(20s, [&] { return agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 1; });
  INFO(agent.StderrTail());
  REQUIRE(ok);
}

std::map<std::string, LakeRecord> ByMsg(const LakeContents& lake) {
  std::map<std::string, LakeRecord> out;
  for (const LakeRecord& r : lake.records) out.emplace(r.msg, r);
  return out;
}

LakeContents WaitForRecords(AgentUnderTest& agent, size_t n) {
  const bool ok = agent.WaitForLakeLines(n, 20s);
  INFO(agent.StderrTail());
  REQUIRE(ok);
  LakeContents lake = ReadLake(agent.lake());
  INFO((lake.problems.empty() ? std::string() : lake.problems.front()));
  REQUIRE(lake.problems.empty());
  return lake;
}

}  // namespace

TEST_CASE("mqtt source: wildcards, several filters, QoS 0/1/2 and retained messages", "[integration][mqtt]") {
  TempDir dir("sluice-mqtt");
  std::filesystem::create_directories(dir / "broker");
  Mosquitto broker(dir / "broker");
  MqttTestPublisher pub(broker.port());
  // A retained message published before the agent subscribes arrives with
  // retain = true.
  pub.Publish("plant/1/state", "running", 1, /*retained=*/true);

  AgentUnderTest agent(dir / "agent",
                       MqttAgent(MqttSourceToml(broker.url(), R"(["plant/+/temp", "plant/+/state", "alarms/#"])",
                                                "qos = 1\ntopic_qos = { \"alarms/#\" = 2 }\n")));
  agent.Start();
  WaitConnected(agent);

  pub.Publish("plant/1/temp", "t-qos0", 0);
  pub.Publish("plant/2/temp", "t-qos1", 1);
  pub.Publish("alarms/zone/a/b", "a-qos2", 2);
  pub.Publish("plant/3/humidity", "not subscribed", 1);  // matches no filter
  pub.Publish("plant/1/temp/extra", "too deep", 1);      // '+' is one level
  const LakeContents lake = WaitForRecords(agent, 4);
  std::this_thread::sleep_for(500ms);  // nothing else may follow
  const auto got = ByMsg(ReadLake(agent.lake()));
  CHECK(got.size() == 4);
  REQUIRE(got.count("running"));
  CHECK(got.at("running").topic == "plant/1/state");
  CHECK(got.at("running").retain);
  CHECK(got.at("running").qos == 1);
  REQUIRE(got.count("t-qos0"));
  CHECK(got.at("t-qos0").qos == 0);
  CHECK_FALSE(got.at("t-qos0").retain);
  REQUIRE(got.count("t-qos1"));
  CHECK(got.at("t-qos1").qos == 1);
  CHECK(got.at("t-qos1").topic == "plant/2/temp");
  // QoS 2 is received at QoS 1 (Paho sends PUBREC before the callback; see
  // agent/sources/mqtt/DESIGN.md).
  REQUIRE(got.count("a-qos2"));
  CHECK(got.at("a-qos2").qos == 1);
  CHECK(got.at("a-qos2").topic == "alarms/zone/a/b");
  for (const auto& [msg, r] : got) {
    CHECK(r.source == "app");
    CHECK(r.ts.size() == 24);
  }
  CHECK(agent.Metric("sluice_mqtt_messages_total", {{"source", "app"}, {"qos", "1"}}) == 3);
  CHECK(agent.Metric("sluice_mqtt_messages_total", {{"source", "app"}, {"qos", "0"}}) == 1);
  const auto st = agent.Stop();
  REQUIRE(st);
  CHECK(st->Exited(0));
  CHECK_THAT(agent.Stderr(), Catch::Contains("QoS 2") && Catch::Contains("alarms/#"));
}

TEST_CASE("mqtt source: payloads arrive as specified (JSON, text, binary, empty, invalid UTF-8, oversize)",
          "[integration][mqtt]") {
  const std::string action = GENERATE(std::string("store"), std::string("drop"), std::string("split"));
  DYNAMIC_SECTION("oversize = " << action) {
    TempDir dir("sluice-mqtt");
    std::filesystem::create_directories(dir / "broker");
    Mosquitto broker(dir / "broker");
    AgentUnderTest agent(dir / "agent",
                         MqttAgent(MqttSourceToml(broker.url(), R"(["p/#"])",
                                                  "max_payload = \"1KiB\"\noversize = \"" + action + "\"\n")));
    agent.Start();
    WaitConnected(agent);
    MqttTestPublisher pub(broker.port());
    std::string big(2500, 'x');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    big[1024] = '\xc3';  // a UTF-8 sequence cut by the first split boundary
    big[1025] = '\xa9';
    const std::string binary("\x00\x01\xff\xfe\x80 bin", 9);
    pub.Publish("p/json", "{\n  \"c\": 21.5,\n  \"ok\": true\n}", 1);
    pub.Publish("p/text", "just text, Grüße", 1);
    pub.Publish("p/binary", binary, 1);
    pub.Publish("p/empty", "", 1);
    pub.Publish("p/badutf8", "caf\xc3", 1);
    pub.Publish("p/big", big, 1);
    pub.Publish("p/after", "after", 1);
    const size_t expected = action == "drop" ? 6 : action == "split" ? 9 : 7;
    const LakeContents lake = WaitForRecords(agent, expected);
    std::map<std::string, std::vector<LakeRecord>> by_topic;
    for (const LakeRecord& r : lake.records) by_topic[r.topic].push_back(r);
    REQUIRE(by_topic["p/json"].size() == 1);
    CHECK(by_topic["p/json"][0].payload == nlohmann::json::parse(R"({"c":21.5,"ok":true})"));
    REQUIRE(by_topic["p/text"].size() == 1);
    CHECK(by_topic["p/text"][0].payload == "just text, Grüße");
    REQUIRE(by_topic["p/binary"].size() == 1);
    CHECK(by_topic["p/binary"][0].msg_was_base64);
    CHECK(by_topic["p/binary"][0].msg == binary);
    REQUIRE(by_topic["p/empty"].size() == 1);
    CHECK(by_topic["p/empty"][0].payload == "");
    REQUIRE(by_topic["p/badutf8"].size() == 1);
    CHECK(by_topic["p/badutf8"][0].msg_was_base64);
    CHECK(by_topic["p/badutf8"][0].msg == "caf\xc3");
    REQUIRE(by_topic["p/after"].size() == 1);
    const std::vector<LakeRecord>& bigs = by_topic["p/big"];
    if (action == "store") {
      REQUIRE(bigs.size() == 1);
      CHECK(bigs[0].msg == big.substr(0, 1024) + "\xc3\xa9" + big.substr(1026));
      CHECK(agent.Metric("sluice_mqtt_oversize_total", {{"source", "app"}, {"action", "store"}}) == 1);
    } else if (action == "drop") {
      CHECK(bigs.empty());
      CHECK(agent.Metric("sluice_mqtt_oversize_total", {{"source", "app"}, {"action", "drop"}}) == 1);
      CHECK_THAT(agent.Stderr(), Catch::Contains("dropped a 2500-byte message on \"p/big\""));
    } else {
      REQUIRE(bigs.size() == 3);
      std::string joined;
      std::vector<LakeRecord> parts = bigs;
      std::sort(parts.begin(), parts.end(),
                [](const LakeRecord& a, const LakeRecord& b) { return a.record.at("part") < b.record.at("part"); });
      for (size_t i = 0; i < parts.size(); ++i) {
        CHECK(parts[i].msg_was_base64);
        CHECK(parts[i].record.at("part") == i + 1);
        CHECK(parts[i].record.at("parts") == 3);
        CHECK(parts[i].record.at("message_bytes") == 2500);
        CHECK(parts[i].record.at("message_id") == parts[0].record.at("message_id"));
        joined += parts[i].msg;
      }
      CHECK(joined == big);
      CHECK(agent.Metric("sluice_mqtt_oversize_total", {{"source", "app"}, {"action", "split"}}) == 1);
    }
    REQUIRE(agent.Stop());
  }
}

TEST_CASE("mqtt source: MQTT 5 user properties and content type reach the record", "[integration][mqtt]") {
  TempDir dir("sluice-mqtt");
  std::filesystem::create_directories(dir / "broker");
  Mosquitto broker(dir / "broker");
  AgentUnderTest agent(dir / "agent", MqttAgent(MqttSourceToml(broker.url(), R"(["v5/#"])", "protocol = \"5\"\n")));
  agent.Start();
  WaitConnected(agent);
  MqttClientOptions po;
  po.port = broker.port();
  po.version = MqttVersion::kV5;
  MqttTestPublisher pub(po);
  MqttPublishProperties props;
  props.content_type = "application/json";
  props.user_properties = {{"site", "plant-3"}, {"site", "backup"}, {"fw", "1.2.3"}};
  pub.Publish("v5/temp", R"({"c":21.5})", 1, false, props);
  pub.Publish("v5/plain", "no props", 1);
  const LakeContents lake = WaitForRecords(agent, 2);
  const auto got = ByMsg(lake);
  REQUIRE(got.count(R"({"c":21.5})"));
  const nlohmann::json& rec = got.at(R"({"c":21.5})").record;
  CHECK(rec.at("content_type") == "application/json");
  CHECK(rec.at("user_properties") == nlohmann::json::parse(R"([["site","plant-3"],["site","backup"],["fw","1.2.3"]])"));
  REQUIRE(got.count("no props"));
  CHECK_FALSE(got.at("no props").record.contains("user_properties"));
  CHECK_FALSE(got.at("no props").record.contains("content_type"));
  REQUIRE(agent.Stop());
}

TEST_CASE("mqtt source: mutual TLS is verified both ways", "[integration][mqtt]") {
  TempDir dir("sluice-mqtt");
  std::filesystem::create_directories(dir / "broker");
  MosquittoOptions bo;
  bo.tls = true;
  Mosquitto broker(dir / "broker", bo);
  const std::string tls_url = "mqtts://localhost:" + std::to_string(broker.tls_port());
  const auto tls_toml = [&](const std::filesystem::path& cert, const std::filesystem::path& key,
                            const std::filesystem::path& ca) {
    return "tls = { ca = " + TomlString(ca.string()) + ", cert = " + TomlString(cert.string()) +
           ", key = " + TomlString(key.string()) + " }\n";
  };

  SECTION("a client certificate from the broker's CA connects and receives") {
    AgentUnderTest agent(dir / "agent", MqttAgent(MqttSourceToml(
                                            tls_url, R"(["secure/#"])",
                                            tls_toml(broker.client_cert(), broker.client_key(), broker.ca_cert()))));
    agent.Start();
    WaitConnected(agent);
    MqttTestPublisher pub(broker.port());
    pub.Publish("secure/x", "over tls", 1);
    const LakeContents lake = WaitForRecords(agent, 1);
    CHECK(lake.records[0].msg == "over tls");
    REQUIRE(agent.Stop());
  }
  SECTION("refused without a client certificate") {
    AgentUnderTest agent(dir / "agent",
                         MqttAgent(MqttSourceToml(tls_url, R"(["secure/#"])",
                                                  "tls = { ca = " + TomlString(broker.ca_cert().string()) + " }\n")));
    agent.Start();
    CHECK(WaitUntil(30s, [&] { return agent.Metric("sluice_mqtt_connect_failures_total", {{"source", "app"}}) >= 2; }));
    CHECK(agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 0);
    REQUIRE(agent.Stop());
    CHECK_THAT(agent.Stderr(), Catch::Contains("cannot connect to " + tls_url));
  }
  SECTION("refused with a client certificate from another CA") {
    AgentUnderTest agent(
        dir / "agent",
        MqttAgent(MqttSourceToml(tls_url, R"(["secure/#"])",
                                 tls_toml(broker.other_client_cert(), broker.other_client_key(), broker.ca_cert()))));
    agent.Start();
    CHECK(WaitUntil(30s, [&] { return agent.Metric("sluice_mqtt_connect_failures_total", {{"source", "app"}}) >= 2; }));
    CHECK(agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 0);
    REQUIRE(agent.Stop());
  }
  SECTION("the agent refuses a broker whose certificate it cannot verify") {
    AgentUnderTest agent(
        dir / "agent",
        MqttAgent(MqttSourceToml(tls_url, R"(["secure/#"])",
                                 tls_toml(broker.client_cert(), broker.client_key(), broker.other_ca_cert()))));
    agent.Start();
    CHECK(WaitUntil(30s, [&] { return agent.Metric("sluice_mqtt_connect_failures_total", {{"source", "app"}}) >= 2; }));
    CHECK(agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 0);
    REQUIRE(agent.Stop());
  }
  SECTION("server name verification: on by default, and the only difference here") {
    // "127.1" reaches the broker (inet_aton reads it as 127.0.0.1) but is not
    // a name in the server certificate (DNS:localhost, IP:127.0.0.1).
    const std::string url = "mqtts://127.1:" + std::to_string(broker.tls_port());
    const std::string tls = tls_toml(broker.client_cert(), broker.client_key(), broker.ca_cert());
    {
      AgentUnderTest agent(dir / "verify", MqttAgent(MqttSourceToml(url, R"(["secure/#"])", tls)));
      agent.Start();
      CHECK(WaitUntil(30s, [&] {
        return agent.Metric("sluice_mqtt_connect_failures_total", {{"source", "app"}}) >= 2;
      }));
      CHECK(agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 0);
      REQUIRE(agent.Stop());
    }
    // The same with verify_hostname = false connects: the name was the reason.
    const std::string no_verify = "tls = { ca = " + TomlString(broker.ca_cert().string()) +
                                  ", cert = " + TomlString(broker.client_cert().string()) +
                                  ", key = " + TomlString(broker.client_key().string()) +
                                  ", verify_hostname = false }\n";
    AgentUnderTest agent(dir / "no-verify", MqttAgent(MqttSourceToml(url, R"(["secure/#"])", no_verify)));
    agent.Start();
    WaitConnected(agent);
    REQUIRE(agent.Stop());
  }
}

TEST_CASE("mqtt source: password from a file or the environment, never logged", "[integration][mqtt]") {
  TempDir dir("sluice-mqtt");
  std::filesystem::create_directories(dir / "broker");
  MosquittoOptions bo;
  bo.password = true;
  Mosquitto broker(dir / "broker", bo);
  WriteFile(dir / "pw", broker.user_password() + "\n");
  WriteFile(dir / "wrong-pw", "not-the-password\n");
  const std::string user = "username = " + TomlString(broker.username()) + "\n";

  SECTION("the right password from a file") {
    AgentUnderTest agent(
        dir / "agent", MqttAgent(MqttSourceToml(broker.url(), R"(["a/#"])",
                                                user + "password_file = " + TomlString((dir / "pw").string()) + "\n")));
    agent.Start();
    WaitConnected(agent);
    MqttClientOptions po;
    po.port = broker.port();
    po.username = broker.username();
    po.password = broker.user_password();
    MqttTestPublisher pub(po);
    pub.Publish("a/b", "authenticated", 1);
    const LakeContents lake = WaitForRecords(agent, 1);
    CHECK(lake.records[0].msg == "authenticated");
    REQUIRE(agent.Stop());
    CHECK_THAT(agent.Stderr(), !Catch::Contains(broker.user_password()));
    CHECK_THAT(ReadFile(agent.config_path()), !Catch::Contains(broker.user_password()));
  }
  SECTION("the right password from the environment") {
    AgentOptions o =
        MqttAgent(MqttSourceToml(broker.url(), R"(["a/#"])", user + "password_env = \"SLUICE_TEST_MQTT_PW\"\n"));
    o.env = {{"SLUICE_TEST_MQTT_PW", broker.user_password()}};
    AgentUnderTest agent(dir / "agent", o);
    agent.Start();
    WaitConnected(agent);
    REQUIRE(agent.Stop());
    CHECK_THAT(agent.Stderr(), !Catch::Contains(broker.user_password()));
  }
  SECTION("a wrong password is refused, and not logged") {
    AgentUnderTest agent(
        dir / "agent",
        MqttAgent(MqttSourceToml(broker.url(), R"(["a/#"])",
                                 user + "password_file = " + TomlString((dir / "wrong-pw").string()) + "\n")));
    agent.Start();
    CHECK(WaitUntil(30s, [&] { return agent.Metric("sluice_mqtt_connect_failures_total", {{"source", "app"}}) >= 2; }));
    CHECK(agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 0);
    REQUIRE(agent.Stop());
    CHECK_THAT(agent.Stderr(), !Catch::Contains("not-the-password"));
  }
  SECTION("a missing password file stops the agent with a clear error") {
    AgentUnderTest agent(dir / "agent", MqttAgent(MqttSourceToml(
                                            broker.url(), R"(["a/#"])",
                                            user + "password_file = " + TomlString((dir / "absent").string()) + "\n")));
    agent.Start(/*wait_ready=*/false);
    CHECK(WaitUntil(20s, [&] { return !agent.Running(); }));  // it stops by itself
    const auto st = agent.Stop();
    REQUIRE(st);
    CHECK_FALSE(st->Exited(0));
    CHECK_THAT(agent.Stderr(), Catch::Contains("password_file") && Catch::Contains((dir / "absent").string()));
  }
}

}  // namespace sluice::test
