// A Kafka producer over librdkafka that reports, message by message, whether
// the cluster stored what was produced.
//
// Owns one rd_kafka_t. Messages are copied into librdkafka's queue (so the
// caller's buffers may go at once); Produce waits, serving delivery reports,
// while that queue is full, which bounds memory by
// queue.buffering.max.kbytes. Every produced message gets exactly one
// report, carrying the caller's tag: delivered, or failed after librdkafka's
// own retries (message.timeout.ms bounds how long that takes).
//
// With enable.idempotence a fatal error (the cluster fenced the producer)
// makes the instance unusable: fatal() says so and the owner makes a new one.
// With sasl.mechanism OAUTHBEARER the token comes from the caller's
// function, called on librdkafka's background thread ahead of expiry.
// Not thread-safe: one thread produces and flushes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/log/log.h"
#include "core/status.h"
#include "protocols/kafka/kafka_properties.h"

namespace sluice::kafka {

struct OAuthToken {
  std::string value;
  int64_t expires_ms = 0;  // epoch ms
  std::string principal;
};
using OAuthTokenSource = std::function<Result<OAuthToken>()>;

struct DeliveryReport {
  uint64_t tag = 0;
  Status status;           // ok: stored by the cluster (acks as configured)
  bool permanent = false;  // sending it again cannot succeed (too large, invalid topic)
};

class Producer {
 public:
  // Creates the producer (it connects in the background). `properties` are
  // applied in order; an invalid one is an error naming it.
  static Result<std::unique_ptr<Producer>> Create(const Properties& properties, OAuthTokenSource oauth, Logger log);
  // Public for make_unique; only Create can make a PassKey (the callbacks
  // must be set before librdkafka starts).
  class PassKey {
    friend class Producer;
    PassKey() = default;
  };
  Producer(PassKey, Logger log, OAuthTokenSource oauth);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues one message (copied). An error here means the message was not
  // queued and gets no report; `permanent` as in DeliveryReport.
  Status Produce(const std::string& topic, std::string_view key, std::string_view value, uint64_t tag, bool& permanent);
  // Serves reports until every queued message has one; each goes to `on_report`.
  void Flush(const std::function<void(const DeliveryReport&)>& on_report);
  // Messages produced and not yet reported.
  uint64_t outstanding() const { return produced_ - reported_; }
  // The fatal error that ended this producer, if any.
  std::optional<std::string> fatal() const;

 private:
  struct Handle;
  void Serve(int timeout_ms, const std::function<void(const DeliveryReport&)>* on_report);

  Logger log_;
  OAuthTokenSource oauth_;
  std::unique_ptr<Handle> handle_;
  std::vector<DeliveryReport> reports_;  // filled by the delivery callback during Serve
  uint64_t produced_ = 0;
  uint64_t reported_ = 0;
};

}  // namespace sluice::kafka
