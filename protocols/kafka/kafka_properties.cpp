#include "protocols/kafka/kafka_properties.h"

#include <librdkafka/rdkafka.h>

#include <memory>

namespace sluice::kafka {

Status CheckProperties(const Properties& properties) {
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(rd_kafka_conf_new(), &rd_kafka_conf_destroy);
  char err[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument("librdkafka property \"" + name + "\": " + err);
    }
  }
  return Status::Ok();
}

std::string LibrdkafkaVersion() { return rd_kafka_version_str(); }

}  // namespace sluice::kafka
