// librdkafka's mock Kafka cluster, in the test process: real brokers
// speaking the Kafka protocol on 127.0.0.1 ports librdkafka picks, which the
// agent (another process) produces to. Errors are injected with the mock's
// own API (rd_kafka_mock_push_request_errors, brokers down and up), and what
// the cluster stored is read back with kcat, an independent consumer.
//
// Owns the mock cluster and the librdkafka handle it lives in; both go with
// the object. Not thread-safe: one test thread drives it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sluice::test {

struct KafkaMessage {
  std::string topic;
  int partition = 0;
  int64_t offset = 0;
  std::string key;  // "" when the message had none
  std::string value;
};

class KafkaMockCluster {
 public:
  explicit KafkaMockCluster(int brokers = 3);
  ~KafkaMockCluster();
  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  // "127.0.0.1:port,..."
  const std::string& bootstraps() const { return bootstraps_; }
  void CreateTopic(const std::string& topic, int partitions, int replication = 3);
  // The next `errors.size()` requests of `api_key` (0 = Produce, 3 =
  // Metadata, 22 = InitProducerId) fail with these error codes, in order.
  void PushRequestErrors(int16_t api_key, const std::vector<int>& errors);
  void BrokerDown(int32_t broker_id);
  void BrokerUp(int32_t broker_id);

  // Every message of `topic`, read from the beginning to the current end by
  // `kcat -C -e -J` (its stderr goes to `log_dir`/kcat.stderr).
  std::vector<KafkaMessage> ReadAll(const std::string& topic, const std::filesystem::path& log_dir) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string bootstraps_;
};

}  // namespace sluice::test
