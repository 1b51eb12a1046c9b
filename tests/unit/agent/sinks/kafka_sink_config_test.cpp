// The Kafka sink's configuration: what valid settings become as librdkafka
// properties, the [librdkafka] table checked by librdkafka itself, and errors
// that name the file, line and key.
#include <catch2/catch.hpp>

#include "agent/sinks/kafka/kafka_sink.h"
#include "tests/support/sink_config_errors.h"
#include "tests/support/temp_dir.h"

namespace sluice {
namespace {

KafkaSinkConfig ParseKafkaKeys(const std::string& keys) {
  const ConfigDocument doc = ConfigDocument::Parse("brokers = \"b1:9092,b2:9092\"\n" + keys, "k.toml");
  TableReader r(doc, nullptr);
  return ParseKafkaSinkConfig(r, "events");
}

std::string KafkaProperty(const KafkaSinkConfig& c, const std::string& name) {
  std::string value = "<unset>";
  for (const auto& [k, v] : c.properties) {
    if (k == name) value = v;  // the last one wins, as in librdkafka
  }
  return value;
}

}  // namespace

TEST_CASE("kafka sink config: defaults are the idempotent producer with acks=all", "[sinks][kafka]") {
  const KafkaSinkConfig c = ParseKafkaKeys("topic = \"logs.{source}\"\n");
  CHECK(KafkaProperty(c, "bootstrap.servers") == "b1:9092,b2:9092");
  CHECK(KafkaProperty(c, "enable.idempotence") == "true");
  CHECK(KafkaProperty(c, "acks") == "all");
  CHECK(KafkaProperty(c, "compression.type") == "lz4");
  CHECK(KafkaProperty(c, "security.protocol") == "PLAINTEXT");
  CHECK(KafkaProperty(c, "message.max.bytes") == "1000000");
  CHECK(KafkaProperty(c, "message.timeout.ms") == "60000");
  CHECK(c.topic.text() == "logs.{source}");
  CHECK(c.encoding == RecordEncoding::kJson);
}

TEST_CASE("kafka sink config: TLS, SASL and the librdkafka table become properties", "[sinks][kafka]") {
  test::TempDir tmp("sluice-kafka-config");
  const std::string pw = (tmp / "pw").string();
  test::WriteFile(tmp / "pw", "secret\n");
  const KafkaSinkConfig scram = ParseKafkaKeys(
      "topic = \"t\"\ntls = true\nsasl_mechanism = \"SCRAM-SHA-512\"\nsasl_username = \"edge\"\n"
      "sasl_password_file = \"" +
      pw + "\"\n[librdkafka]\nsocket.timeout.ms = 5000\n\"socket.keepalive.enable\" = true\n");
  CHECK(KafkaProperty(scram, "security.protocol") == "SASL_SSL");
  CHECK(KafkaProperty(scram, "sasl.mechanism") == "SCRAM-SHA-512");
  CHECK(KafkaProperty(scram, "sasl.username") == "edge");
  // The password is read when the producer starts, never held in the configuration.
  CHECK(KafkaProperty(scram, "sasl.password") == "<unset>");
  CHECK(KafkaProperty(scram, "socket.keepalive.enable") == "true");
  CHECK(KafkaProperty(scram, "socket.timeout.ms") == "5000");
  const KafkaSinkConfig iam = ParseKafkaKeys("topic = \"t\"\ntls = true\nsasl_mechanism = \"AWS_MSK_IAM\"\n");
  CHECK(KafkaProperty(iam, "sasl.mechanism") == "OAUTHBEARER");
  CHECK(KafkaProperty(iam, "security.protocol") == "SASL_SSL");
}

TEST_CASE("kafka sink config: bad values name the line and the key", "[sinks][kafka]") {
  test::CheckSinkConfigErrors(
      {
          {"topic = \"a/b\"\n", "sinks.out.topic", "topic name"},
          {"topic = \"{nope}\"\n", "sinks.out.topic", "unknown variable {nope}"},
          {"topic = \"t\"\nkey = \"{source\"\n", "sinks.out.key", "not closed"},
          {"topic = \"t\"\nacks = \"1\"\n", "sinks.out.acks", "idempotent"},
          {"topic = \"t\"\ncompression = \"brotli\"\n", "sinks.out.compression", ""},
          {"topic = \"t\"\nsasl_mechanism = \"PLAIN\"\n", "sinks.out.sasl_mechanism", "sasl_username"},
          {"topic = \"t\"\nsasl_mechanism = \"AWS_MSK_IAM\"\n", "sinks.out.sasl_mechanism", "tls = true"},
          {"topic = \"t\"\ntls_cert = \"/nonexistent.crt\"\ntls_key = \"/nonexistent.key\"\ntls = true\n",
           "sinks.out.tls_cert", "not readable"},
          {"topic = \"t\"\n[sinks.out.librdkafka]\n\"no.such.property\" = 1\n", "sinks.out.librdkafka.no.such.property",
           "No such configuration property"},
          {"topic = \"t\"\n[sinks.out.librdkafka]\nretries = \"many\"\n", "sinks.out.librdkafka.retries",
           "Invalid value"},
          {"topic = \"t\"\n[sinks.out.librdkafka]\nacks = \"0\"\n", "sinks.out.librdkafka.acks", "option acks"},
          {"topic = \"t\"\n[sinks.out.librdkafka]\nsasl.password = \"x\"\n", "sinks.out.librdkafka.sasl.password",
           "sasl_password_file"},
          {"topic = \"t\"\n[sinks.out.librdkafka]\nretries = [1]\n", "sinks.out.librdkafka.retries",
           "expected a string"},
      },
      "type = \"kafka\"\nbrokers = \"127.0.0.1:9092\"\n");
}

}  // namespace sluice
