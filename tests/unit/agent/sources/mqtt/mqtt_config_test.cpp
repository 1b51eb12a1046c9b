#include "agent/sources/mqtt/mqtt_config.h"

#include <catch2/catch.hpp>
#include <string>

namespace sluice {
namespace {

MqttConfig Parse(const std::string& body, EffectiveConfig* eff = nullptr) {
  const ConfigDocument doc = ConfigDocument::Parse("[sources.sensors]\ntype = \"mqtt\"\n" + body, "test.toml");
  TableReader root(doc, eff);
  TableReader src = root.Section("sources").Section("sensors");
  (void)src.String("type", "mqtt", "");
  MqttConfig c = ParseMqttConfig(src);
  src.Finish();
  return c;
}

std::string ErrorOf(const std::string& body) {
  try {
    Parse(body);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("mqtt config: defaults and the effective configuration", "[unit]") {
  EffectiveConfig eff;
  const MqttConfig c = Parse("url = \"mqtt://broker.example\"\ntopics = [\"plant/+/temp\", \"plant/#\"]\n", &eff);
  CHECK(c.server_uri == "tcp://broker.example:1883");
  CHECK(c.host == "broker.example");
  CHECK_FALSE(c.tls.enabled);
  REQUIRE(c.topics.size() == 2);
  CHECK(c.topics[0].filter == "plant/+/temp");
  CHECK(c.topics[0].requested_qos == 1);
  CHECK(c.topics[0].subscribed_qos == 1);
  CHECK(c.protocol == 4);
  CHECK_FALSE(c.clean_session);
  CHECK(c.client_id.empty());
  CHECK(c.max_payload == 256 * 1024);
  CHECK(c.oversize == MqttConfig::Oversize::kStore);
  CHECK(c.keepalive == std::chrono::seconds(30));
  const std::string printed = eff.ToToml();
  for (const char* key : {"url", "topics", "qos", "protocol", "client_id", "clean_session", "session_expiry",
                          "keepalive", "tls.verify_hostname", "reconnect.initial", "reconnect.max", "max_payload",
                          "oversize", "batch_bytes", "commit_interval", "stop_grace"}) {
    INFO(key);
    CHECK(printed.find(std::string("\n") + key + " = ") != std::string::npos);
  }
}

TEST_CASE("mqtt config: TLS, ports, per-topic QoS and protocol 5", "[unit]") {
  const MqttConfig c = Parse(R"(
url = "mqtts://iot.example:443"
topics = ["a/+", "b/#"]
qos = 0
topic_qos = { "b/#" = 2 }
protocol = "5"
tls = { ca = "/etc/ca.pem", cert = "/etc/dev.pem", key = "/etc/dev.key", alpn = ["x-amzn-mqtt-ca"] }
username = "dev"
password_file = "/etc/pw"
)");
  CHECK(c.server_uri == "ssl://iot.example:443");
  CHECK(c.tls.enabled);
  CHECK(*c.tls.ca == "/etc/ca.pem");
  CHECK(c.tls.alpn == std::vector<std::string>{"x-amzn-mqtt-ca"});
  CHECK(c.tls.verify_hostname);
  CHECK(c.protocol == 5);
  REQUIRE(c.topics.size() == 2);
  CHECK(c.topics[0].requested_qos == 0);
  CHECK(c.topics[0].subscribed_qos == 0);
  // QoS 2 is subscribed as 1: Paho sends PUBREC before the message can be
  // committed.
  CHECK(c.topics[1].requested_qos == 2);
  CHECK(c.topics[1].subscribed_qos == 1);
  CHECK(Parse("url = \"mqtt://[::1]:1884\"\ntopics = [\"x\"]\n").server_uri == "tcp://[::1]:1884");
  CHECK(Parse("url = \"mqtts://h\"\ntopics = [\"x\"]\n").server_uri == "ssl://h:8883");
}

TEST_CASE("mqtt config: errors name the key and what was expected", "[unit]") {
  CHECK_THAT(ErrorOf("url = \"http://h\"\ntopics = [\"x\"]\n"),
             Catch::Contains("key 'sources.sensors.url'") && Catch::Contains("mqtt://host:port"));
  CHECK_THAT(ErrorOf("url = \"mqtt://u:p@h\"\ntopics = [\"x\"]\n"), Catch::Contains("credentials"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h:99999\"\ntopics = [\"x\"]\n"), Catch::Contains("bad port"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"a/#/b\"]\n"),
             Catch::Contains("sources.sensors.topics") && Catch::Contains("last level"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"a+\"]\n"), Catch::Contains("'+' must be a whole level"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"a\", \"a\"]\n"), Catch::Contains("listed twice"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = []\n"), Catch::Contains("at least one"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"x\"]\nqos = 3\n"), Catch::Contains("from 0 to 2"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"x\"]\ntopic_qos = { \"y\" = 1 }\n"),
             Catch::Contains("not one of the topics"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"x\"]\npassword = \"hunter2\"\n"),
             Catch::Contains("never written in the configuration"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"x\"]\npassword_file = \"/a\"\npassword_env = \"B\"\n"),
             Catch::Contains("not both"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"x\"]\ntls = { ca = \"/ca\" }\n"), Catch::Contains("mqtts://"));
  CHECK_THAT(ErrorOf("url = \"mqtts://h\"\ntopics = [\"x\"]\ntls = { cert = \"/c\" }\n"),
             Catch::Contains("sources.sensors.tls.key") && Catch::Contains("both cert and key"));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"x\"]\noversize = \"truncate\"\n"), Catch::Contains("\"store\""));
  CHECK_THAT(ErrorOf("url = \"mqtt://h\"\ntopics = [\"x\"]\nfoo = 1\n"), Catch::Contains("foo"));
}

TEST_CASE("mqtt config: topic filter rules (MQTT 3.1.1 section 4.7)", "[unit]") {
  for (const char* ok : {"a", "a/b", "+", "#", "a/+/b", "a/#", "/", "+/+", "a//b", "$SYS/#"}) {
    INFO(ok);
    CHECK(TopicFilterProblem(ok).empty());
  }
  for (const char* bad : {"", "a/#/b", "a#", "#a", "a/b#", "a+/b", "+a", "a/++"}) {
    INFO(bad);
    CHECK_FALSE(TopicFilterProblem(bad).empty());
  }
}

}  // namespace
}  // namespace sluice
