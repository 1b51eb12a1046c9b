// The agent's Kafka sink against librdkafka's mock cluster (3 brokers),
// read back with kcat: every line arrives exactly once with the idempotent
// producer, also while the mock injects broker errors and brokers go down;
// topic and key templates, raw encoding, and dead letters for messages the
// cluster can never take.
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/agent_fixture.h"
#include "tests/support/kafka_mock.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// Kafka protocol error codes the mock injects (Kafka's protocol guide).
constexpr int kNotLeaderForPartition = 6;
constexpr int kRequestTimedOut = 7;
constexpr int kNotEnoughReplicas = 19;
constexpr int kLeaderNotAvailable = 5;
constexpr int16_t kProduceApi = 0;

void WriteKafkaLines(const std::filesystem::path& file, uint64_t count) {
  LineWriter::Options o;
  o.file = file;
  o.count = count;
  o.lines_per_second = 0;
  LineWriter writer(o);
  writer.Join();
}

AgentOptions KafkaAgent(const TempDir& tmp, const KafkaMockCluster& kafka, const std::string& keys) {
  AgentOptions o;
  o.sink_toml = "type = \"kafka\"\nbrokers = " + TomlString(kafka.bootstraps()) + "\n" + keys;
  o.paths = {(tmp / "agent" / "logs" / "app.log").string()};
  o.retry_max = "1s";
  o.batch_max_age = "200ms";
  return o;
}

std::vector<std::string> KafkaMsgs(const std::vector<KafkaMessage>& messages) {
  std::vector<std::string> msgs;
  for (const KafkaMessage& m : messages) msgs.push_back(nlohmann::json::parse(m.value).at("msg"));
  return msgs;
}

std::string KafkaHostName() {
  std::array<char, 256> h{};
  REQUIRE(::gethostname(h.data(), h.size() - 1) == 0);
  return h.data();
}

}  // namespace

TEST_CASE("kafka sink: every line exactly once, topic and key from templates, zstd", "[agent][kafka]") {
  TempDir tmp("sluice-kafka");
  KafkaMockCluster kafka(3);
  kafka.CreateTopic("logs.app", 4);
  AgentUnderTest agent(tmp / "agent",
                       KafkaAgent(tmp, kafka, "topic = \"logs.{source}\"\nkey = \"{host}\"\ncompression = \"zstd\"\n"));
  constexpr uint64_t kLines = 20000;
  WriteKafkaLines(agent.logs() / "app.log", kLines);
  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(90s));
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));

  const std::vector<KafkaMessage> messages = kafka.ReadAll("logs.app", tmp.path());
  const LineAudit audit = AuditLines(KafkaMsgs(messages), 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
  const std::string host = KafkaHostName();
  std::map<int, size_t> per_partition;
  bool keyed = true;
  for (const KafkaMessage& m : messages) {
    keyed = keyed && m.key == host;
    ++per_partition[m.partition];
  }
  CHECK(keyed);
  // One key: one partition, and within it the order the lines were written.
  CHECK(per_partition.size() == 1);
  CHECK(NumberedLinesAscending(KafkaMsgs(messages)));
}

TEST_CASE("kafka sink: broker errors and brokers going down lose nothing and duplicate nothing",
          "[agent][kafka][faults]") {
  TempDir tmp("sluice-kafka-faults");
  KafkaMockCluster kafka(3);
  kafka.CreateTopic("events", 6);
  AgentOptions o = KafkaAgent(tmp, kafka, "topic = \"events\"\nlinger = \"5ms\"\nbatch_size = \"16KiB\"\n");
  o.batch_max_bytes = "256KiB";
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 30000;
  // Retriable errors for the first produce requests; librdkafka retries them
  // with the same producer id and sequence numbers.
  std::vector<int> errors;
  for (int i = 0; i < 8; ++i) {
    errors.insert(errors.end(), {kNotLeaderForPartition, kRequestTimedOut, kNotEnoughReplicas, kLeaderNotAvailable});
  }
  kafka.PushRequestErrors(kProduceApi, errors);
  agent.Start();
  INFO(agent.StderrTail());
  // Lines keep coming for about 6 s, so deliveries are under way (whatever
  // the machine's load) when the brokers go down and come back.
  LineWriter::Options w;
  w.file = agent.logs() / "app.log";
  w.count = kLines;
  w.lines_per_second = 5000;
  LineWriter writer(w);
  REQUIRE(WaitUntil(60s, [&] { return agent.Metric("sluice_sink_records_total", {{"sink", "lake"}}) > 0; }));
  for (int32_t broker : {1, 2, 3}) {
    kafka.BrokerDown(broker);
    std::this_thread::sleep_for(700ms);
    kafka.BrokerUp(broker);
    std::this_thread::sleep_for(300ms);
  }
  kafka.PushRequestErrors(kProduceApi, errors);
  writer.Join();
  REQUIRE_FALSE(writer.error().has_value());
  REQUIRE(agent.WaitUntilCaughtUp(120s));
  REQUIRE(agent.Stop(30s).has_value());
  // The brokers did go away (librdkafka's transport errors are logged).
  CHECK(agent.Stderr().find("kafka: _TRANSPORT") != std::string::npos);

  const LineAudit audit = AuditLines(KafkaMsgs(kafka.ReadAll("events", tmp.path())), 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
}

TEST_CASE("kafka sink: a cluster that is down fails deliveries, which are retried until it is back",
          "[agent][kafka][faults]") {
  TempDir tmp("sluice-kafka-down");
  KafkaMockCluster kafka(1);
  kafka.CreateTopic("late", 2);
  kafka.BrokerDown(1);
  AgentOptions o = KafkaAgent(tmp, kafka, "topic = \"late\"\ndelivery_timeout = \"2s\"\n");
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 2000;
  WriteKafkaLines(agent.logs() / "app.log", kLines);
  agent.Start();
  INFO(agent.StderrTail());
  // Waits for a delivery to have failed (librdkafka gave up on its messages).
  bool failed = false;
  for (int i = 0; i < 200 && !failed; ++i) {
    failed = agent.Metric("sluice_kafka_failed_messages_total", {{"sink", "lake"}}) > 0;
    if (!failed) std::this_thread::sleep_for(100ms);
  }
  CHECK(failed);
  kafka.BrokerUp(1);
  REQUIRE(agent.WaitUntilCaughtUp(90s));
  REQUIRE(agent.Stop(30s).has_value());
  const LineAudit audit = AuditLines(KafkaMsgs(kafka.ReadAll("late", tmp.path())), 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
}

TEST_CASE("kafka sink: raw encoding sends the line as read, oversized lines are dead-lettered", "[agent][kafka]") {
  TempDir tmp("sluice-kafka-raw");
  KafkaMockCluster kafka(1);
  kafka.CreateTopic("raw", 1);
  AgentUnderTest agent(tmp / "agent",
                       KafkaAgent(tmp, kafka, "topic = \"raw\"\nencoding = \"raw\"\nmax_message_size = 2000\n"));
  constexpr uint64_t kLines = 500;
  WriteKafkaLines(agent.logs() / "app.log", kLines);
  const std::string big(5000, 'b');
  {
    std::ofstream out(agent.logs() / "app.log", std::ios::app);
    out << big << "\n";
  }
  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(60s));
  CHECK(agent.Metric("sluice_sink_dead_letter_records_total", {{"sink", "lake"}}) == 1);
  REQUIRE(agent.Stop(30s).has_value());

  std::vector<std::string> values;
  for (const KafkaMessage& m : kafka.ReadAll("raw", tmp.path())) {
    CHECK(m.key.empty());
    values.push_back(m.value);
  }
  const LineAudit audit = AuditLines(values, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
  std::string dead_text;
  for (const auto& e : std::filesystem::directory_iterator(agent.data_dir() / "dead-letter" / "lake" / "app")) {
    dead_text += ReadFile(e.path());
  }
  CHECK(dead_text.find("\"msg\":\"" + big + "\"") != std::string::npos);
}

// The mock cluster speaks no SASL, so this checks the wiring from the other
// side: the producer really asks for SCRAM-SHA-512 with the configured user,
// the broker's refusal is logged and retried, nothing counts as delivered,
// and the password read from its file appears neither in the log nor in
// `agent check`.
TEST_CASE("kafka sink: SASL/SCRAM is what the producer asks for, and its password is never shown", "[agent][kafka]") {
  TempDir tmp("sluice-kafka-scram");
  KafkaMockCluster kafka(1);
  kafka.CreateTopic("secure", 1);
  const std::string password = "kafka-pw-7c1f9e";
  WriteFile(tmp / "kafka.password", password + "\n");
  AgentOptions o = KafkaAgent(tmp, kafka,
                              "topic = \"secure\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nsasl_username = \"edge\"\n"
                              "sasl_password_file = " +
                                  TomlString((tmp / "kafka.password").string()) + "\ndelivery_timeout = \"2s\"\n");
  AgentUnderTest agent(tmp / "agent", o);
  WriteKafkaLines(agent.logs() / "app.log", 10);
  agent.Start();
  CHECK(WaitUntil(30s, [&] { return agent.Stderr().find("SCRAM-SHA-512") != std::string::npos; }));
  CHECK(agent.Metric("sluice_sink_records_total", {{"sink", "lake"}}) == 0);
  REQUIRE(agent.Stop(30s).has_value());
  INFO(agent.StderrTail());
  CHECK(agent.Stderr().find("SASL") != std::string::npos);
  CHECK(agent.Stderr().find(password) == std::string::npos);

  ProcessOptions check;
  check.program = SLUICE_BINARY;
  check.args = {"agent", "check", "--config", agent.config_path().string()};
  check.log_dir = tmp.path();
  const RunResult r = RunToCompletion(std::move(check), 30s);
  CHECK(r.status.Exited(0));
  CHECK(r.out.find("sasl_password_file") != std::string::npos);
  CHECK(r.out.find(password) == std::string::npos);
  CHECK(kafka.ReadAll("secure", tmp.path()).empty());
}

}  // namespace sluice::test
