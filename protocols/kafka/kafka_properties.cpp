#include "protocols/kafka/kafka_properties.h"

#include <memory>

#include "protocols/kafka/rdkafka_api.h"

namespace sluice::kafka {

Status CheckProperties(const Properties& properties) {
  if (Result<const RdkafkaApi*> api = Rdkafka(); !api.ok()) return api.status();
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(RdkafkaLoaded().rd_kafka_conf_new(),
                                                                          RdkafkaLoaded().rd_kafka_conf_destroy);
  char err[512];
  for (const auto& [name, value] : properties) {
    if (RdkafkaLoaded().rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument("librdkafka property \"" + name + "\": " + err);
    }
  }
  return Status::Ok();
}

std::string LibrdkafkaVersion() {
  Result<const RdkafkaApi*> api = Rdkafka();
  return api.ok() ? api.value()->rd_kafka_version_str() : "unavailable: " + api.status().message();
}

}  // namespace sluice::kafka
