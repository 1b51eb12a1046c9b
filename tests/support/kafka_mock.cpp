#include "tests/support/kafka_mock.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "tests/support/process.h"

namespace sluice::test {

struct KafkaMockCluster::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* mc = nullptr;
  ~Impl() {
    if (mc != nullptr) rd_kafka_mock_cluster_destroy(mc);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

KafkaMockCluster::KafkaMockCluster(int brokers) : impl_(std::make_unique<Impl>()) {
  std::array<char, 512> err{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; it never connects anywhere.
  rd_kafka_conf_set(conf, "log_level", "3", err.data(), err.size());
  impl_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  if (impl_->rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("rd_kafka_new: ") + err.data());
  }
  impl_->mc = rd_kafka_mock_cluster_new(impl_->rk, brokers);
  if (impl_->mc == nullptr) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
  bootstraps_ = rd_kafka_mock_cluster_bootstraps(impl_->mc);
}

KafkaMockCluster::~KafkaMockCluster() = default;

void KafkaMockCluster::CreateTopic(const std::string& topic, int partitions, int replication) {
  const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(impl_->mc, topic.c_str(), partitions, replication);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("creating topic " + topic + ": " + rd_kafka_err2str(e));
  }
}

void KafkaMockCluster::PushRequestErrors(int16_t api_key, const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  for (int e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(impl_->mc, api_key, codes.size(), codes.data());
}

void KafkaMockCluster::BrokerDown(int32_t broker_id) { rd_kafka_mock_broker_set_down(impl_->mc, broker_id); }
void KafkaMockCluster::BrokerUp(int32_t broker_id) { rd_kafka_mock_broker_set_up(impl_->mc, broker_id); }

std::vector<KafkaMessage> KafkaMockCluster::ReadAll(const std::string& topic,
                                                    const std::filesystem::path& log_dir) const {
  ProcessOptions o;
  o.program = "kcat";
  o.args = {"-b", bootstraps_, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q"};
  o.log_dir = log_dir;
  o.name = "kcat";
  o.append_logs = false;
  const RunResult r = RunToCompletion(std::move(o), std::chrono::seconds(120));
  if (!r.status.Exited(0)) throw std::runtime_error("kcat reading " + topic + ": " + r.Describe());
  std::vector<KafkaMessage> out;
  std::string_view rest = r.out;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    KafkaMessage m;
    m.topic = j.at("topic").get<std::string>();
    m.partition = j.at("partition").get<int>();
    m.offset = j.at("offset").get<int64_t>();
    if (j.contains("key") && j.at("key").is_string()) m.key = j.at("key").get<std::string>();
    if (j.at("payload").is_string()) m.value = j.at("payload").get<std::string>();
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace sluice::test
