// The Kafka (and Amazon MSK) sink: every buffered record becomes one Kafka
// message, produced with librdkafka's idempotent producer (acks=all) by
// default, so retries inside librdkafka never duplicate or reorder a
// partition's messages.
//
// Delivery: Deliver produces the records of its batches and returns Ok only
// when librdkafka reported every message stored. A message that failed is
// retried by the runner with backoff; messages already stored are
// remembered (by batch id and record index) and not produced again in the
// same run. After a crash unconfirmed batches are produced again: at least
// once across restarts, exactly once within a run.
// Messages that can never be stored (larger than max_message_size, a topic
// name Kafka refuses) go to the dead-letter directory, counted.
//
// Topic and key are templates over the record's fields (record_template.h);
// characters a topic name may not have ([A-Za-z0-9._-] only) become '_' in a
// variable's value, '/' becomes '.', so {topic} = plant/3/temp is topic
// plant.3.temp.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "agent/sinks/aws_credentials_config.h"
#include "agent/sinks/record_template.h"
#include "agent/sinks/sink.h"
#include "core/config/reader.h"
#include "protocols/kafka/kafka_properties.h"

namespace sluice {

struct KafkaSinkConfig {
  std::string brokers;  // bootstrap.servers
  RecordTemplate topic;
  RecordTemplate key;  // empty: no key (librdkafka spreads messages over partitions)
  RecordEncoding encoding = RecordEncoding::kJson;
  // TLS and SASL: the librdkafka properties they become, and what to read at start.
  std::optional<std::string> sasl_password_file;
  std::string sasl_mechanism;  // "", PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, AWS_MSK_IAM
  std::string region;          // AWS_MSK_IAM
  AwsCredentialsConfig credentials;
  uint64_t max_message_bytes = 1000000;
  std::filesystem::path dead_letter;  // "" = <data_dir>/dead-letter/<sink name>
  // Every librdkafka property the producer is created with (the options
  // above, then [sinks.NAME.librdkafka]), checked against librdkafka.
  kafka::Properties properties;
};

KafkaSinkConfig ParseKafkaSinkConfig(TableReader& r, const std::string& sink_name);
std::unique_ptr<Sink> MakeKafkaSink(std::string name, KafkaSinkConfig config, BatchPolicy policy,
                                    const SinkContext& context);

// A rendered topic name made valid: characters outside [A-Za-z0-9._-] of
// variable values were replaced at render time; this checks the length
// (1..249) and refuses "." and "..".
bool ValidKafkaTopic(std::string_view topic);

}  // namespace sluice
