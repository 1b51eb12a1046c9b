#include "agent/sources/mqtt/mqtt_source.h"

#include <mqtt/async_client.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "agent/buffer/batch_builder.h"
#include "agent/transforms/stream_writer.h"
#include "agent/record/json_record.h"
#include "core/backoff.h"
#include "core/util/wall_clock.h"
#include "protocols/mqtt/mqtt_connect_options.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class MqttSource final : public Source, private mqtt::callback {
 public:
  MqttSource(std::string name, MqttConfig config, const SourceContext& ctx)
      : name_(std::move(name)),
        config_(std::move(config)),
        ctx_(ctx),
        log_(ChildLogger(ctx.log, "mqtt:" + name_)),
        source_metrics_(ctx.metrics, name_),
        writer_(name_, ctx.transforms, log_) {
    if (config_.client_id.empty()) config_.client_id = "sluice-" + ctx_.host + "-" + name_;
    MetricsRegistry* m = &source_metrics_.registry();
    const Labels& labels = source_metrics_.labels();
    records_ = &source_metrics_.records();
    bytes_ = &source_metrics_.bytes();
    for (int q = 0; q <= 2; ++q) {
      messages_[q] = &m->GetCounter("sluice_mqtt_messages_total", "MQTT messages received, by delivered QoS",
                                    {{"source", name_}, {"qos", std::to_string(q)}});
    }
    const char* kOversizeHelp = "MQTT messages larger than max_payload, by what was done with them";
    oversize_stored_ =
        &m->GetCounter("sluice_mqtt_oversize_total", kOversizeHelp, {{"source", name_}, {"action", "store"}});
    oversize_dropped_ =
        &m->GetCounter("sluice_mqtt_oversize_total", kOversizeHelp, {{"source", name_}, {"action", "drop"}});
    oversize_split_ =
        &m->GetCounter("sluice_mqtt_oversize_total", kOversizeHelp, {{"source", name_}, {"action", "split"}});
    uncommittable_ =
        &m->GetCounter("sluice_mqtt_uncommittable_total",
                       "MQTT messages that can never fit in the buffer (bigger than buffer_max), dropped", labels);
    connected_ = &m->GetGauge("sluice_mqtt_connected", "1 while the MQTT source is connected to its broker", labels);
    reconnects_ = &m->GetCounter("sluice_mqtt_reconnects_total", "Successful MQTT connections after the first", labels);
    connect_failures_ = &m->GetCounter("sluice_mqtt_connect_failures_total", "Failed MQTT connection attempts", labels);
    staged_ = &m->GetCounter("sluice_mqtt_staged_records_total",
                             "QoS >= 1 records committed one by one (Buffer::Stage) before their PUBACK", labels);
    batches_ = &m->GetCounter("sluice_mqtt_batches_total",
                              "Batches an MQTT source committed (its staged and QoS 0 records, folded)", labels);
  }

  ~MqttSource() override {
    if (client_ != nullptr) client_->disable_callbacks();
  }

  const std::string& name() const override { return name_; }
  Status Run(std::stop_token stop) override;

 private:
  // --- mqtt::callback, called on Paho's thread (holding Paho's global lock)
  // ---
  void connection_lost(const std::string& cause) override {
    {
      std::lock_guard lk(state_mu_);
      connected_flag_ = false;
      lost_cause_ = cause;
    }
    connected_->Set(0);
    state_cv_.notify_all();
  }
  void message_arrived(mqtt::const_message_ptr msg) override;

  Status Connect(bool first_connect, std::stop_token stop);
  Result<mqtt::connect_options> MakeConnectOptions() const;
  // The message's records (one, none when dropped, several when split) into
  // encoded_.
  void Encode(const mqtt::message& msg, int64_t now_ms);
  // Stages one record durably (Buffer::Stage), retrying until it is; nullopt
  // when it can never fit (counted). Never returns otherwise: see the header.
  std::optional<int64_t> StageDurably(const std::string& line, int64_t ts_ms);
  // Folds what writer_ holds (staged records up to last_staged_id_ and QoS 0
  // records) into one batch; mu_ held.
  void FoldHeld(std::unique_lock<std::mutex>& lk);
  // Folds records staged before the last stop (a crash) into a batch.
  Status RecoverStaged();
  void Shutdown();
  [[noreturn]] void ParkForever();

  const std::string name_;
  MqttConfig config_;
  SourceContext ctx_;
  Logger log_;
  SourceMetrics source_metrics_;
  Counter* records_ = nullptr;
  Counter* bytes_ = nullptr;
  Counter* messages_[3] = {};
  Counter* oversize_stored_ = nullptr;
  Counter* oversize_dropped_ = nullptr;
  Counter* oversize_split_ = nullptr;
  Counter* uncommittable_ = nullptr;
  Gauge* connected_ = nullptr;
  Counter* reconnects_ = nullptr;
  Counter* connect_failures_ = nullptr;
  Counter* staged_ = nullptr;
  Counter* batches_ = nullptr;

  std::unique_ptr<mqtt::async_client> client_;
  std::optional<mqtt::connect_options> connect_options_;  // of the last attempt: see Connect()

  // Records received and not yet committed; mu_ is held by whoever encodes
  // or commits (Paho's thread for QoS >= 1, the Run thread for QoS 0 timing).
  std::mutex mu_;
  StreamWriter writer_;          // the source's stream and its transforms'
  int64_t last_staged_id_ = 0;  // the newest staged record writer_ holds
  std::optional<Clock::time_point> first_pending_;
  // Paho's thread only:
  JsonRecordEncoder encoder_;
  std::vector<std::string> encoded_;
  uint64_t split_seq_ = 0;

  // Shutdown: closing_ makes a commit that waited stop_grace for space go over
  // the cap (commit_stop_ ends the wait); see Shutdown().
  std::atomic<bool> closing_{false};
  std::stop_source commit_stop_;

  std::mutex state_mu_;
  std::condition_variable_any state_cv_;
  bool connected_flag_ = false;
  std::string lost_cause_;
};

Result<mqtt::connect_options> MqttSource::MakeConnectOptions() const {
  return sluice::MakeConnectOptions(config_, {config_.clean_session, config_.session_expiry, 0});
}

Status MqttSource::Connect(bool first_connect, std::stop_token stop) {
  Result<mqtt::connect_options> opts = MakeConnectOptions();
  if (!opts.ok()) return opts.status();
  // Paho C keeps pointers into the options (the TLS error handler's context)
  // and calls them later, during the handshake: they must outlive the attempt.
  connect_options_ = std::move(opts).value();
  const auto deadline = config_.connect_timeout + milliseconds(2000);
  try {
    mqtt::token_ptr tok = client_->connect(*connect_options_);
    if (!tok->wait_for(deadline)) return Status::Unavailable("no answer from the broker within connect_timeout");
    const bool session_present = tok->get_connect_response().is_session_present();
    {
      std::lock_guard lk(state_mu_);
      connected_flag_ = true;
    }
    // A reconnect to a session the broker kept needs no SUBSCRIBE (which would
    // make it resend retained messages); the first connect of this process
    // always subscribes, so a changed topic list takes effect.
    if (first_connect || !session_present) {
      auto filters = std::make_shared<mqtt::string_collection>();
      mqtt::iasync_client::qos_collection qos;
      std::vector<mqtt::subscribe_options> sub_opts;
      for (const MqttSubscription& s : config_.topics) {
        filters->push_back(s.filter);
        qos.push_back(s.subscribed_qos);
        // MQTT 5: send retained messages only for a subscription that is new.
        sub_opts.emplace_back(false, false, mqtt::subscribe_options::SEND_RETAINED_ON_NEW);
      }
      mqtt::token_ptr sub =
          config_.protocol == 5 ? client_->subscribe(filters, qos, sub_opts) : client_->subscribe(filters, qos);
      if (!sub->wait_for(deadline)) return Status::Unavailable("no SUBACK from the broker");
      const std::vector<mqtt::ReasonCode> codes = sub->get_subscribe_response().get_reason_codes();
      for (size_t i = 0; i < codes.size() && i < config_.topics.size(); ++i) {
        if (static_cast<int>(codes[i]) >= 0x80) {
          return Status::Unavailable("the broker refused the subscription to \"" + config_.topics[i].filter +
                                     "\" (reason code " + std::to_string(static_cast<int>(codes[i])) + ")");
        }
      }
    }
    log_->info("connected to {} as {} (session {}, {} topic filters)", config_.url, config_.client_id,
               session_present ? "resumed" : "new", config_.topics.size());
    (void)stop;
    return Status::Ok();
  } catch (const mqtt::exception& e) {
    return Status::Unavailable(e.what());
  }
}

void MqttSource::message_arrived(mqtt::const_message_ptr msg) {
  const int64_t now = WallClockMs();
  Encode(*msg, now);
  int64_t staged_through = 0;
  if (msg->get_qos() >= 1) {
    // Durable before this returns, because Paho sends the PUBACK when it does.
    for (const std::string& line : encoded_) {
      if (std::optional<int64_t> id = StageDurably(line, now)) staged_through = *id;
    }
  }
  std::unique_lock lk(mu_);
  for (const std::string& line : encoded_) writer_.Add(now, line);
  if (staged_through != 0) last_staged_id_ = staged_through;
  if (writer_.raw_bytes() >= config_.batch_bytes) {
    FoldHeld(lk);
  } else if (!first_pending_ && !writer_.empty()) {
    first_pending_ = Clock::now();
  }
}

void MqttSource::Encode(const mqtt::message& msg, int64_t now_ms) {
  const mqtt::binary_ref& payload_ref = msg.get_payload_ref();
  const std::string_view payload =
      payload_ref ? std::string_view(payload_ref.data(), payload_ref.size()) : std::string_view();
  const int qos = msg.get_qos();
  messages_[std::clamp(qos, 0, 2)]->Inc();
  bytes_->Inc(payload.size());

  std::vector<std::pair<std::string, std::string>> user_props;
  std::string content_type;
  const MQTTProperties& props = msg.get_properties().c_struct();
  for (int i = 0; i < props.count; ++i) {
    const MQTTProperty& p = props.array[i];
    if (p.identifier == MQTTPROPERTY_CODE_USER_PROPERTY) {
      user_props.emplace_back(std::string(p.value.data.data, static_cast<size_t>(p.value.data.len)),
                              std::string(p.value.value.data, static_cast<size_t>(p.value.value.len)));
    } else if (p.identifier == MQTTPROPERTY_CODE_CONTENT_TYPE) {
      content_type.assign(p.value.data.data, static_cast<size_t>(p.value.data.len));
    }
  }
  MqttRecordFields f;
  const std::string& topic = msg.get_topic();
  f.topic = topic;
  f.qos = qos;
  f.retain = msg.is_retained();
  f.content_type = content_type;
  f.user_properties = user_props;

  encoded_.clear();
  const auto append = [&](const MqttRecordFields& fields) {
    std::string& line = encoded_.emplace_back();
    encoder_.AppendMqttMessage(line, now_ms, name_, ctx_.host, fields);
    records_->Inc();
  };

  if (payload.size() <= config_.max_payload) {
    f.payload = payload;
    append(f);
    return;
  }
  switch (config_.oversize) {
    case MqttConfig::Oversize::kDrop:
      oversize_dropped_->Inc();
      log_->warn("dropped a {}-byte message on \"{}\": larger than max_payload ({} bytes), oversize = \"drop\"",
                 payload.size(), topic, config_.max_payload);
      return;
    case MqttConfig::Oversize::kStore:
      oversize_stored_->Inc();
      f.payload = payload;
      append(f);
      return;
    case MqttConfig::Oversize::kSplit: {
      oversize_split_->Inc();
      const std::string id = std::to_string(now_ms) + "-" + std::to_string(++split_seq_);
      const uint64_t parts = (payload.size() + config_.max_payload - 1) / config_.max_payload;
      f.parts = static_cast<uint32_t>(parts);
      f.message_bytes = payload.size();
      f.message_id = id;
      for (uint64_t i = 0; i < parts; ++i) {
        f.part = static_cast<uint32_t>(i + 1);
        f.payload = payload.substr(i * config_.max_payload, config_.max_payload);
        append(f);
      }
      return;
    }
  }
}

std::optional<int64_t> MqttSource::StageDurably(const std::string& line, int64_t ts_ms) {
  std::optional<Backoff> backoff;  // only on failure: seeding one costs a random_device read
  const auto started = Clock::now();
  for (;;) {
    const bool over_cap = closing_.load() && commit_stop_.stop_requested();
    Result<int64_t> id = ctx_.buffer->Stage(name_, line, ts_ms, commit_stop_.get_token(), over_cap);
    if (id.ok()) {
      staged_->Inc();
      return id.value();
    }
    const Status& s = id.status();
    if (s.code() == ErrorCode::kCancelled) continue;  // stop_grace passed while waiting for space: over the cap
    if (s.code() == ErrorCode::kInvalidArgument) {
      uncommittable_->Inc();
      log_->error("dropped a record that can never be stored: {}", s.ToString());
      return std::nullopt;
    }
    if (closing_.load() && Clock::now() - started > 2 * config_.stop_grace) {
      log_->error(
          "stopping, and the buffer still refuses a record ({}): the message stays unacknowledged and the broker will "
          "send it again",
          s.ToString());
      ParkForever();
    }
    if (!backoff) backoff.emplace(milliseconds(50), milliseconds(5000));
    const milliseconds delay = backoff->Next();
    log_->warn("staging a record failed (attempt {}), retrying in {} ms: {}", backoff->attempts(), delay.count(),
               s.ToString());
    std::this_thread::sleep_for(delay);
  }
}

void MqttSource::FoldHeld(std::unique_lock<std::mutex>& lk) {
  (void)lk;
  first_pending_.reset();
  if (writer_.empty()) return;
  const uint64_t pending_records = writer_.records();
  Result<std::vector<StreamBatch>> batch = writer_.Finish();
  const std::vector<CheckpointUpdate> updates = writer_.TakeCheckpoints();
  const int64_t through = last_staged_id_;
  if (!batch.ok()) {
    // The staged records are safe in the buffer and fold at the next start.
    log_->error("encoding a batch failed: {}", batch.status().ToString());
    return;
  }
  std::optional<Backoff> backoff;
  for (;;) {
    Status s = ctx_.buffer->CommitStaged(name_, batch.value(), through, updates);
    if (s.ok()) {
      batches_->Inc();
      return;
    }
    if (closing_.load()) {
      // Staged records stay staged (durable) and fold at the next start; only
      // QoS 0 records, never acknowledged, are lost with this batch.
      log_->error("stopping, and committing the last batch failed ({}); staged records fold at the next start",
                  s.ToString());
      return;
    }
    if (!backoff) backoff.emplace(milliseconds(50), milliseconds(5000));
    const milliseconds delay = backoff->Next();
    log_->warn("committing a batch of {} records failed (attempt {}), retrying in {} ms: {}", pending_records,
               backoff->attempts(), delay.count(), s.ToString());
    std::this_thread::sleep_for(delay);
  }
}

Status MqttSource::RecoverStaged() {
  Result<std::vector<StagedRecord>> staged = ctx_.buffer->LoadStaged(name_);
  if (!staged.ok()) return staged.status();
  if (staged->empty()) return Status::Ok();
  std::unique_lock lk(mu_);
  for (const StagedRecord& r : staged.value()) {
    writer_.Add(r.ts_ms, r.record);
    last_staged_id_ = r.id;
  }
  log_->info("folding {} records staged before the last stop into a batch", staged->size());
  FoldHeld(lk);
  return Status::Ok();
}

// The only way to keep a message unacknowledged once Paho has handed it to
// us is never to return to Paho. Used when the agent stops and the buffer
// cannot take the message at all; the Run thread then abandons the client.
void MqttSource::ParkForever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(24));
}

Status MqttSource::Run(std::stop_token stop) {
  try {
    mqtt::create_options create(config_.protocol == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    client_ = std::make_unique<mqtt::async_client>(config_.server_uri, config_.client_id, create, nullptr);
  } catch (const mqtt::exception& e) {
    return Status::InvalidArgument("MQTT client for " + config_.url + ": " + e.what());
  }
  if (Status s = RecoverStaged(); !s.ok()) return s;
  client_->set_callback(*this);
  for (const MqttSubscription& s : config_.topics) {
    if (s.requested_qos != s.subscribed_qos) {
      log_->info(
          "topic filter \"{}\": QoS 2 is subscribed as QoS 1, which keeps acknowledge-after-commit (Paho sends PUBREC "
          "before a QoS 2 message can be committed; see agent/sources/mqtt/DESIGN.md)",
          s.filter);
    }
  }

  Backoff backoff(config_.reconnect_initial, config_.reconnect_max);
  bool first_connect = true;
  bool ever_connected = false;
  std::unique_lock state(state_mu_);
  while (!stop.stop_requested()) {
    if (!connected_flag_) {
      if (!lost_cause_.empty()) {
        log_->warn("connection to {} lost: {}", config_.url, lost_cause_);
        lost_cause_.clear();
      }
      state.unlock();
      Status s = Connect(first_connect, stop);
      state.lock();
      if (s.ok()) {
        connected_->Set(1);
        if (ever_connected) reconnects_->Inc();
        ever_connected = true;
        first_connect = false;
        backoff.Reset();
      } else {
        if (s.code() == ErrorCode::kInvalidArgument) {
          state.unlock();
          Shutdown();
          return s;
        }
        connect_failures_->Inc();
        connected_flag_ = false;
        const milliseconds delay = backoff.Next();
        log_->warn("cannot connect to {} (attempt {}): {}; retrying in {} ms", config_.url, backoff.attempts(),
                   s.message(), delay.count());
        state.unlock();
        try {
          if (client_->is_connected()) client_->disconnect()->wait_for(milliseconds(1000));
        } catch (const mqtt::exception&) {
        }
        state.lock();
        state_cv_.wait_for(state, stop, delay, [&] { return false; });
        continue;
      }
    }
    // Records wait at most commit_interval to be folded into a batch.
    state_cv_.wait_for(state, stop, std::min<milliseconds>(config_.commit_interval, milliseconds(200)),
                       [&] { return !connected_flag_; });
    std::unique_lock lk(mu_);
    if (first_pending_ && Clock::now() - *first_pending_ >= config_.commit_interval) FoldHeld(lk);
  }
  state.unlock();
  Shutdown();
  return Status::Ok();
}

void MqttSource::Shutdown() {
  closing_ = true;
  // Disconnecting takes Paho's lock, which a callback holds while its commit
  // waits for buffer space: disconnect on a helper, give the commit
  // stop_grace, then let it go over the cap (it is received; see buffer.h).
  mqtt::async_client* client = client_.get();
  std::packaged_task<void()> task([client] {
    try {
      if (client->is_connected()) client->disconnect(milliseconds(1000))->wait_for(milliseconds(5000));
    } catch (const mqtt::exception&) {
    }
  });
  std::future<void> done = task.get_future();
  std::thread helper(std::move(task));
  if (done.wait_for(config_.stop_grace) != std::future_status::ready) {
    log_->warn("stopping: a message has waited {} ms for buffer space; committing it beyond buffer_max",
               config_.stop_grace.count());
    commit_stop_.request_stop();
  }
  if (done.wait_for(3 * config_.stop_grace + milliseconds(5000)) != std::future_status::ready) {
    // Paho's thread is parked inside a callback (see ParkForever) and holds
    // Paho's lock: the client can never be closed or destroyed. Leave it to
    // the process exit; the broker redelivers what was not acknowledged.
    log_->error("stopping: the MQTT client is stuck behind a commit that cannot succeed; abandoning it");
    helper.detach();
#if defined(__SANITIZE_ADDRESS__)
    __lsan_ignore_object(client_.get());
#endif
    (void)client_.release();  // deliberate leak, see above
    connected_->Set(0);
    return;
  }
  helper.join();
  connected_->Set(0);
  // Fold what is pending (QoS 0 records exist only here).
  std::unique_lock lk(mu_);
  FoldHeld(lk);
  lk.unlock();
  client_->disable_callbacks();
  client_.reset();
  log_->info("stopped");
}

}  // namespace

std::unique_ptr<Source> MakeMqttSource(const std::string& name, const MqttConfig& config, const SourceContext& ctx) {
  return std::make_unique<MqttSource>(name, config, ctx);
}

}  // namespace sluice
