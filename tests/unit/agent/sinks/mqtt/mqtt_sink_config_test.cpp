// The MQTT sink's configuration: defaults, the AWS IoT-style options, and
// errors that name the file, line and key; topic templates that could never
// render a valid topic name are refused before anything starts.
#include "agent/sinks/mqtt/mqtt_sink_config.h"

#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace sluice {
namespace {

MqttSinkConfig ParseMqttSinkForTest(const std::string& body, EffectiveConfig* eff = nullptr) {
  const ConfigDocument doc = ConfigDocument::Parse("[sinks.up]\n" + body, "agent.toml");
  TableReader root(doc, eff);
  TableReader sink = root.Section("sinks").Section("up");
  MqttSinkConfig c = ParseMqttSinkConfig(sink);
  sink.Finish();
  return c;
}

// The error a sink table makes, or "" when it is valid.
std::string MqttSinkConfigError(const std::string& body) {
  try {
    ParseMqttSinkForTest(body);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("mqtt sink config: defaults", "[sinks]") {
  EffectiveConfig eff;
  const MqttSinkConfig c = ParseMqttSinkForTest("url = \"mqtt://broker.example\"\ntopic = \"up/{source}\"\n", &eff);
  CHECK(c.server_uri == "tcp://broker.example:1883");
  CHECK(c.topic.text() == "up/{source}");
  CHECK(c.qos == 1);
  CHECK_FALSE(c.retain);
  CHECK(c.encoding == RecordEncoding::kJson);
  CHECK(c.max_payload == 128 * 1024);
  CHECK(c.max_inflight == 100);
  CHECK(c.ack_timeout == std::chrono::seconds(30));
  CHECK(c.client_id.empty());
  CHECK(c.dead_letter.empty());
  CHECK(c.protocol == 4);
  const std::string printed = eff.ToToml();
  for (const char* key :
       {"url", "topic", "qos", "retain", "encoding", "max_payload", "max_inflight", "ack_timeout", "dead_letter",
        "protocol", "client_id", "keepalive", "connect_timeout", "tls.verify_hostname"}) {
    INFO(key);
    CHECK(printed.find(std::string("\n") + key + " = ") != std::string::npos);
  }
}

TEST_CASE("mqtt sink config: an AWS IoT Core endpoint on 443 with ALPN and mutual TLS", "[sinks]") {
  const MqttSinkConfig c = ParseMqttSinkForTest(R"(
url = "mqtts://abc123-ats.iot.eu-west-1.amazonaws.com:443"
topic = "$aws/rules/ingest/devices/{host}/{source}"
qos = 0
retain = true
encoding = "raw"
client_id = "edge-7"
max_inflight = 20
tls = { ca = "/etc/sluice/AmazonRootCA1.pem", cert = "/etc/sluice/edge-7.pem", key = "/etc/sluice/edge-7.key", alpn = ["x-amzn-mqtt-ca"] }
)");
  CHECK(c.server_uri == "ssl://abc123-ats.iot.eu-west-1.amazonaws.com:443");
  CHECK(c.tls.enabled);
  CHECK(c.tls.alpn == std::vector<std::string>{"x-amzn-mqtt-ca"});
  CHECK(*c.tls.cert == "/etc/sluice/edge-7.pem");
  CHECK(c.qos == 0);
  CHECK(c.retain);
  CHECK(c.encoding == RecordEncoding::kRaw);
  CHECK(c.client_id == "edge-7");
  CHECK(c.max_inflight == 20);
  CHECK(c.topic.Render(R"({"source":"app","host":"edge-7"})") == "$aws/rules/ingest/devices/edge-7/app");
}

TEST_CASE("mqtt sink config: a valid sink passes, bad values name the line and the key", "[sinks]") {
  CHECK(MqttSinkConfigError("url = \"mqtt://h\"\ntopic = \"a/{topic}\"\n") == "");
  CHECK(MqttSinkConfigError("url = \"mqtts://h:8883\"\ntopic = \"{path}\"\ntls = { ca = \"/ca\" }\n") == "");
  // {keys, the key the error names, what it says}
  const std::vector<std::array<std::string, 3>> cases = {
      {"url = \"mqtt://h\"\n", "topic", "missing"},
      {"topic = \"a\"\n", "url", "missing"},
      {"url = \"mqtt://h\"\ntopic = \"\"\n", "sinks.up.topic", "empty"},
      {"url = \"mqtt://h\"\ntopic = \"a/+/b\"\n", "sinks.up.topic", "wildcards"},
      {"url = \"mqtt://h\"\ntopic = \"a/{source}/#\"\n", "sinks.up.topic", "wildcards"},
      {"url = \"mqtt://h\"\ntopic = \"a/{random}\"\n", "sinks.up.topic", "unknown variable {random}"},
      {"url = \"mqtt://h\"\ntopic = \"a/{source\"\n", "sinks.up.topic", "not closed"},
      {"url = \"mqtt://h\"\ntopic = \"a\"\nqos = 2\n", "sinks.up.qos", "from 0 to 1"},
      {"url = \"mqtt://h\"\ntopic = \"a\"\nencoding = \"xml\"\n", "sinks.up.encoding", ""},
      {"url = \"mqtt://h\"\ntopic = \"a\"\nmax_inflight = 0\n", "sinks.up.max_inflight", ""},
      {"url = \"http://h\"\ntopic = \"a\"\n", "sinks.up.url", "mqtt://host:port"},
      {"url = \"mqtt://h\"\ntopic = \"a\"\npassword = \"hunter2\"\n", "sinks.up.password", "never written"},
      {"url = \"mqtt://h\"\ntopic = \"a\"\ntls = { ca = \"/ca\" }\n", "sinks.up.tls", "mqtts://"},
      {"url = \"mqtts://h\"\ntopic = \"a\"\ntls = { cert = \"/c\" }\n", "sinks.up.tls.key", "both cert and key"},
      {"url = \"mqtt://h\"\ntopic = \"a\"\nfoo = 1\n", "sinks.up.foo", ""},
  };
  for (const auto& [keys, key, says] : cases) {
    INFO(keys);
    CHECK_THAT(MqttSinkConfigError(keys),
               Catch::StartsWith("agent.toml:") && Catch::Contains(key) && Catch::Contains(says));
  }
}

}  // namespace sluice
