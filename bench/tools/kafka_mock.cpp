// A librdkafka mock Kafka cluster for bench/agent_kafka.sh: BROKERS brokers on
// 127.0.0.1, topic TOPIC with PARTITIONS partitions (replication 3 when
// there are 3 brokers), until SIGTERM or SIGINT. Prints the bootstrap list as
// "bootstraps 127.0.0.1:P1,..." on stdout once it is ready.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: sluice-kafka-mock BROKERS TOPIC PARTITIONS\n");
    return 2;
  }
  const int brokers = std::atoi(argv[1]);
  const int partitions = std::atoi(argv[3]);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before librdkafka starts its threads

  std::array<char, 512> err{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err.data(), err.size());
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size()), &rd_kafka_destroy);
  if (!rk) {
    std::fprintf(stderr, "rd_kafka_new: %s\n", err.data());
    return 1;
  }
  std::unique_ptr<rd_kafka_mock_cluster_t, decltype(&rd_kafka_mock_cluster_destroy)> mc(
      rd_kafka_mock_cluster_new(rk.get(), brokers), &rd_kafka_mock_cluster_destroy);
  if (!mc) return 1;
  if (rd_kafka_mock_topic_create(mc.get(), argv[2], partitions, brokers >= 3 ? 3 : 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "cannot create topic %s\n", argv[2]);
    return 1;
  }
  std::printf("bootstraps %s\n", rd_kafka_mock_cluster_bootstraps(mc.get()));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
