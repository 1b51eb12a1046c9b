#include "agent/sinks/mqtt/mqtt_sink_config.h"

#include "protocols/mqtt/mqtt_topic.h"

namespace sluice {
namespace {

// The topic's literal text must be valid whatever the variables hold: every
// variable rendered as a plain word leaves only the literal text to judge.
void CheckTopicTemplate(TableReader& r, const RecordTemplate& t) {
  const std::string sample = t.constant() ? t.text() : t.Render(R"({"source":"s","host":"h","path":"p","topic":"t"})");
  if (std::string problem = TopicNameProblem(sample); !problem.empty()) {
    r.Fail("topic", "\"" + t.text() + "\": " + problem);
  }
}

}  // namespace

MqttSinkConfig ParseMqttSinkConfig(TableReader& r) {
  MqttSinkConfig c;
  ReadMqttUrl(r, c,
              "broker to publish to: mqtt://host:port, or mqtts://host:port for TLS (AWS IoT Core: 8883, or 443 "
              "with tls.alpn = [\"x-amzn-mqtt-ca\"])");
  const std::string topic = r.RequiredString(
      "topic", "topic template: literal text and {source} {host} {path} {topic} (e.g. \"devices/{host}/{source}\")");
  Result<RecordTemplate> parsed = RecordTemplate::Parse(topic, kMqttTopicVars);
  if (!parsed.ok()) r.Fail("topic", parsed.status().message());
  c.topic = std::move(parsed).value();
  CheckTopicTemplate(r, c.topic);
  c.qos = static_cast<int>(r.Int("qos", 1, 0, 1,
                                 "1: at least once, a batch counts as delivered once every record was acknowledged "
                                 "(PUBACK); 0: at most once, once every record was written to the connection"));
  c.retain = r.Bool("retain", false, "publish with the retained flag (the broker keeps the last message per topic)");
  c.encoding = ParseRecordEncoding(r);
  c.max_payload = r.Size("max_payload", "128KiB", 1, 256ULL << 20,
                         "larger records go to the dead-letter directory (AWS IoT Core takes 128 KiB)");
  c.max_inflight = static_cast<int>(
      r.Int("max_inflight", 100, 1, 65535, "publishes outstanding at once (not yet acknowledged or written)"));
  c.ack_timeout = r.Duration("ack_timeout", "30s",
                             "a publish not acknowledged this long fails the delivery; the connection is made again",
                             std::chrono::milliseconds(100));
  c.dead_letter = r.String("dead_letter", "",
                           "directory for records that can never be published (empty: <data_dir>/dead-letter/<sink>)");
  ReadMqttProtocol(r, c);
  c.client_id = r.String("client_id", "",
                         "client id (AWS IoT policies often require the thing name); empty: sluice-<hostname>-<sink "
                         "name>");
  if (c.client_id.size() > 65535) r.Fail("client_id", "at most 65535 bytes");
  ReadMqttLogin(r, c);
  return c;
}

}  // namespace sluice
