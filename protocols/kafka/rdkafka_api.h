// librdkafka's functions, loaded the first time a Kafka producer is made or
// its properties checked (core/util/shared_library.h says why: an agent
// without a Kafka sink does not carry librdkafka, SASL and LZ4 in memory).
// The table is made once per process and never changes after.
#pragma once

#include <librdkafka/rdkafka.h>

#include "core/status.h"
#include "core/util/shared_library.h"

namespace sluice::kafka {

#define SLUICE_RDKAFKA_FUNCTIONS(X)                 \
  X(rd_kafka_version_str)                           \
  X(rd_kafka_err2name)                              \
  X(rd_kafka_err2str)                               \
  X(rd_kafka_last_error)                            \
  X(rd_kafka_conf_new)                              \
  X(rd_kafka_conf_destroy)                          \
  X(rd_kafka_conf_set)                              \
  X(rd_kafka_conf_set_opaque)                       \
  X(rd_kafka_conf_set_dr_msg_cb)                    \
  X(rd_kafka_conf_set_log_cb)                       \
  X(rd_kafka_conf_set_error_cb)                     \
  X(rd_kafka_conf_set_oauthbearer_token_refresh_cb) \
  X(rd_kafka_new)                                   \
  X(rd_kafka_destroy)                               \
  X(rd_kafka_opaque)                                \
  X(rd_kafka_fatal_error)                           \
  X(rd_kafka_oauthbearer_set_token)                 \
  X(rd_kafka_oauthbearer_set_token_failure)         \
  X(rd_kafka_sasl_background_callbacks_enable)      \
  X(rd_kafka_topic_new)                             \
  X(rd_kafka_topic_destroy)                         \
  X(rd_kafka_produceva)                             \
  X(rd_kafka_poll)                                  \
  X(rd_kafka_error_code)                            \
  X(rd_kafka_error_string)                          \
  X(rd_kafka_error_destroy)

struct RdkafkaApi {
  SLUICE_RDKAFKA_FUNCTIONS(SLUICE_LIBRARY_MEMBER)
};

// The table, loading librdkafka the first time; an error when the library
// or one of its functions is missing.
Result<const RdkafkaApi*> Rdkafka();

// The table, for code that only runs once Rdkafka() succeeded (a producer's
// callbacks, say: making the producer loaded it).
inline const RdkafkaApi& RdkafkaLoaded() { return *Rdkafka().value(); }

}  // namespace sluice::kafka
