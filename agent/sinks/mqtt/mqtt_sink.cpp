#include "agent/sinks/mqtt/mqtt_sink.h"

#include <mqtt/async_client.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "agent/sinks/dead_letters.h"
#include "agent/sinks/entry_shipper.h"
#include "core/util/host_name.h"
#include "protocols/mqtt/mqtt_connect_options.h"
#include "protocols/mqtt/mqtt_topic.h"

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Paho says "TCP/TLS connect failure" for every TLS problem (its detailed
// OpenSSL error goes to an error handler Paho C++ 1.2 cannot call safely:
// see mqtt_connect_options.cpp), and with TLS 1.3 a broker that refuses the
// client certificate does so after the handshake, so the attempt fails later
// with another code. Every failure of a TLS connection that is not the
// broker's CONNACK refusal (a positive return code) says what it usually means.
std::string ExplainConnectFailure(const MqttConnectionConfig& c, int paho_rc, const std::string& paho) {
  if (!c.tls.enabled || paho_rc > 0) return paho;
  return paho +
         " (the TLS handshake failed or the connection was refused: the broker may not accept the client "
         "certificate (tls.cert, tls.key), tls.ca may not verify the broker's certificate, or the broker is not "
         "listening; the broker's log has its side)";
}

// Why records of one batch went to the dead-letter directory: a count and
// the first example per kind, for one log line.
class DeadLetterReasons {
 public:
  void Add(const std::string& kind, std::string example) {
    auto [it, fresh] = kinds_.try_emplace(kind, 0, std::move(example));
    ++it->second.first;
  }
  std::string Describe() const {
    std::string out;
    for (const auto& [kind, v] : kinds_) {
      out += (out.empty() ? "" : "; ") + std::to_string(v.first) + " " + kind + " (first: " + v.second + ")";
    }
    return out;
  }

 private:
  std::map<std::string, std::pair<size_t, std::string>> kinds_;
};

// Paho's connection_lost, on Paho's thread: keeps the connected gauge true
// between deliveries too (a delivery notices the loss itself, by polling).
class MqttSinkLostWatcher final : public mqtt::callback {
 public:
  explicit MqttSinkLostWatcher(Gauge& connected) : connected_(connected) {}
  void connection_lost(const std::string& /*cause*/) override { connected_.Set(0); }

 private:
  Gauge& connected_;
};

class MqttSink final : public Sink {
 public:
  MqttSink(std::string name, MqttSinkConfig config, BatchPolicy policy, const SinkContext& ctx)
      : name_(std::move(name)),
        config_(std::move(config)),
        policy_(policy),
        log_(ctx.log),
        dead_letters_(name_, config_.dead_letter, ctx),
        own_metrics_(ctx.metrics == nullptr ? std::make_unique<MetricsRegistry>() : nullptr),
        metrics_(ctx.metrics != nullptr ? *ctx.metrics : *own_metrics_),
        connected_(metrics_.GetGauge("sluice_mqtt_sink_connected", "1 while the MQTT sink is connected to its broker",
                                     {{"sink", name_}})),
        connects_(metrics_.GetCounter("sluice_mqtt_sink_connects_total", "Connections the MQTT sink made",
                                      {{"sink", name_}})),
        connect_failures_(metrics_.GetCounter("sluice_mqtt_sink_connect_failures_total",
                                              "Failed MQTT sink connection attempts", {{"sink", name_}})),
        publishes_(metrics_.GetCounter("sluice_mqtt_sink_publishes_total",
                                       "Messages the MQTT sink published, publishes again after a failure included",
                                       {{"sink", name_}})) {
    if (config_.client_id.empty()) config_.client_id = "sluice-" + MachineHostName() + "-" + name_;
    topic_per_batch_ = !config_.topic.uses("path") && !config_.topic.uses("topic");
  }

  ~MqttSink() override { Disconnect(); }

  const std::string& name() const override { return name_; }
  BatchPolicy policy() const override { return policy_; }
  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) override;

 private:
  // One publish not yet settled: its token and the record it carries.
  struct InFlight {
    mqtt::delivery_token_ptr token;
    std::vector<bool>* acked;  // the record's batch's entry in acked_ (map nodes are stable)
    size_t index;
  };

  Status EnsureConnected();
  // Waits for the oldest publish: Ok once it is acknowledged (QoS 1) or
  // written (QoS 0); otherwise why not (connection lost, refused, timeout).
  Status Settle(const InFlight& p);
  // After a failure: remembers the publishes that did complete, and drops the
  // connection (Paho abandons the rest; they are published again).
  void Abandon(std::deque<InFlight>& inflight, const Status& why);
  void Disconnect();

  const std::string name_;
  MqttSinkConfig config_;
  const BatchPolicy policy_;
  Logger log_;
  DeadLetters dead_letters_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  MetricsRegistry& metrics_;
  Gauge& connected_;
  Counter& connects_;
  Counter& connect_failures_;
  Counter& publishes_;
  bool topic_per_batch_ = false;  // the topic uses only {source} and {host}: the same for a whole batch

  MqttSinkLostWatcher lost_watcher_{connected_};  // outlives client_, which calls it
  std::unique_ptr<mqtt::async_client> client_;
  // Paho C keeps pointers into the options during the connect: they live as
  // long as the client.
  std::optional<mqtt::connect_options> connect_options_;
  // Records acknowledged so far of batches not yet delivered, by batch id.
  DeliveredRecords acked_;
};

Status MqttSink::EnsureConnected() {
  if (client_ != nullptr && client_->is_connected()) return Status::Ok();
  // A fresh client for every connection: a clean session, and nothing the old
  // client still held is published behind the delivery's back.
  Disconnect();
  Result<mqtt::connect_options> opts =
      MakeConnectOptions(config_, {true, std::chrono::seconds(0), config_.max_inflight});
  if (!opts.ok()) {
    connect_failures_.Inc();
    return opts.status();
  }
  std::string failure;
  try {
    mqtt::create_options create(config_.protocol == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    // Paho refuses a publish while more than max_buffered_messages (default
    // 100) wait inside it, also when connected: the window must fit.
    create.set_max_buffered_messages(config_.max_inflight + 1);
    client_ = std::make_unique<mqtt::async_client>(config_.server_uri, config_.client_id, create, nullptr);
    client_->set_callback(lost_watcher_);
    connect_options_ = std::move(opts).value();
    mqtt::token_ptr tok = client_->connect(*connect_options_);
    if (!tok->wait_for(config_.connect_timeout + milliseconds(2000))) {
      failure = ExplainConnectFailure(config_, MQTTASYNC_FAILURE, "no answer within connect_timeout");
    }
  } catch (const mqtt::exception& e) {
    failure = ExplainConnectFailure(config_, e.get_return_code(), e.what());
  }
  if (!failure.empty()) {
    connect_failures_.Inc();
    log_->warn("cannot connect to {} as {}: {}", config_.url, config_.client_id, failure);
    Disconnect();
    return Status::Unavailable("cannot connect to " + config_.url + ": " + failure);
  }
  connects_.Inc();
  connected_.Set(1);
  log_->info("connected to {} as {} (QoS {}, up to {} publishes in flight)", config_.url, config_.client_id,
             config_.qos, config_.max_inflight);
  return Status::Ok();
}

void MqttSink::Disconnect() {
  connected_.Set(0);
  if (client_ == nullptr) return;
  try {
    if (client_->is_connected()) client_->disconnect(milliseconds(1000))->wait_for(milliseconds(3000));
  } catch (const mqtt::exception&) {
    // Going away anyway.
  }
  client_.reset();
  connect_options_.reset();
}

Status MqttSink::Settle(const InFlight& p) {
  const auto deadline = Clock::now() + config_.ack_timeout;
  try {
    while (!p.token->wait_for(milliseconds(50))) {
      if (!client_->is_connected()) {
        if (p.token->try_wait()) return Status::Ok();
        return Status::Unavailable("the connection to " + config_.url + " was lost");
      }
      if (Clock::now() >= deadline) {
        return Status::Unavailable("no acknowledgement from " + config_.url + " within ack_timeout (" +
                                   std::to_string(config_.ack_timeout.count()) + " ms)");
      }
    }
    return Status::Ok();
  } catch (const mqtt::exception& e) {
    // Paho fails what is outstanding with "operation incomplete" when the
    // connection goes.
    if (e.get_return_code() == MQTTASYNC_OPERATION_INCOMPLETE || e.get_return_code() == MQTTASYNC_DISCONNECTED) {
      return Status::Unavailable("the connection to " + config_.url + " was lost");
    }
    return Status::Unavailable("publishing to " + config_.url + " failed: " + e.what());
  }
}

void MqttSink::Abandon(std::deque<InFlight>& inflight, const Status& why) {
  size_t done = 0;
  for (const InFlight& p : inflight) {
    try {
      if (p.token->try_wait()) {
        (*p.acked)[p.index] = true;
        ++done;
      }
    } catch (const mqtt::exception&) {
      // Failed: published again.
    }
  }
  log_->warn("{}; {} of {} outstanding publishes were {}, the others are published again after reconnecting",
             why.message(), done, inflight.size(), config_.qos == 1 ? "acknowledged" : "written");
  inflight.clear();
  Disconnect();
}

Status MqttSink::Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) {
  if (Status s = EnsureConnected(); !s.ok()) return s;
  acked_.KeepOnly(batches);  // batches acknowledged or dropped (drop_oldest) meanwhile
  std::deque<InFlight> inflight;
  for (const BatchInfo& b : batches) {
    Result<std::string> plain = LoadPlainBatch(load, b);
    if (!plain.ok()) return plain.status();
    const std::vector<std::string_view> lines = SplitLines(plain.value());
    std::vector<bool>& acked = acked_.Of(b.id, lines.size());
    std::string dead_letters;
    std::vector<size_t> dead;
    DeadLetterReasons reasons;
    std::optional<std::string> batch_topic;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (acked[i]) continue;
      std::string topic;
      if (topic_per_batch_ && batch_topic) {
        topic = *batch_topic;
      } else {
        topic = config_.topic.Render(lines[i]);
        if (topic_per_batch_) batch_topic = topic;
      }
      Result<std::string> payload = EncodeRecord(lines[i], config_.encoding);
      bool publishable = false;
      if (std::string p = TopicNameProblem(topic); !p.empty()) {
        reasons.Add("with an invalid topic", "topic \"" + topic + "\": " + p);
      } else if (!payload.ok()) {
        reasons.Add("that cannot be sent raw", payload.status().message());
      } else if (payload->size() > config_.max_payload) {
        reasons.Add("larger than max_payload", "a " + std::to_string(payload->size()) + "-byte payload, max_payload " +
                                                   std::to_string(config_.max_payload));
      } else {
        publishable = true;
      }
      if (!publishable) {
        dead_letters.append(lines[i]);
        dead_letters += '\n';
        dead.push_back(i);
        continue;
      }
      while (inflight.size() >= static_cast<size_t>(config_.max_inflight)) {
        if (Status s = Settle(inflight.front()); !s.ok()) {
          Abandon(inflight, s);
          return s;
        }
        (*inflight.front().acked)[inflight.front().index] = true;
        inflight.pop_front();
      }
      try {
        publishes_.Inc();
        inflight.push_back(
            {client_->publish(std::move(topic), std::move(payload).value(), config_.qos, config_.retain), &acked, i});
      } catch (const mqtt::exception& e) {
        const Status s = Status::Unavailable("publishing to " + config_.url + " failed: " + e.what());
        Abandon(inflight, s);
        return s;
      }
    }
    if (!dead.empty()) {
      if (Status s = dead_letters_.Write(b, dead.front(), dead_letters, dead.size(),
                                         "can never be published: " + reasons.Describe());
          !s.ok()) {
        Abandon(inflight, s);
        return s;
      }
      for (size_t i : dead) acked[i] = true;
    }
  }
  while (!inflight.empty()) {
    if (Status s = Settle(inflight.front()); !s.ok()) {
      Abandon(inflight, s);
      return s;
    }
    (*inflight.front().acked)[inflight.front().index] = true;
    inflight.pop_front();
  }
  acked_.Forget(batches);
  return Status::Ok();
}

}  // namespace

std::unique_ptr<Sink> MakeMqttSink(std::string name, MqttSinkConfig config, BatchPolicy policy,
                                   const SinkContext& context) {
  return std::make_unique<MqttSink>(std::move(name), std::move(config), policy, context);
}

}  // namespace sluice
