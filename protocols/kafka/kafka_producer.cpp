#include "protocols/kafka/kafka_producer.h"

#include <array>
#include <map>

#include "protocols/kafka/rdkafka_api.h"

namespace sluice::kafka {

namespace {

// Errors whose message can never be stored by sending it again: its size or
// its topic name is refused. Every other error (timeouts, leaders moving,
// authorization, unknown topics that may yet be created) is worth a retry.
bool IsPermanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return true;
    default:
      return false;
  }
}

Status ErrorStatus(rd_kafka_resp_err_t err) {
  return Status::Unavailable(std::string(RdkafkaLoaded().rd_kafka_err2name(err)) + ": " +
                             RdkafkaLoaded().rd_kafka_err2str(err));
}

}  // namespace

struct Producer::Handle {
  rd_kafka_t* rk = nullptr;
  // Topic handles by name: librdkafka would otherwise look the topic up by
  // name (under a lock) for every message.
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics;
  ~Handle() {
    for (auto& [name, rkt] : topics) RdkafkaLoaded().rd_kafka_topic_destroy(rkt);
    if (rk != nullptr) RdkafkaLoaded().rd_kafka_destroy(rk);
  }
  rd_kafka_topic_t* Topic(const std::string& name) {
    auto it = topics.find(name);
    if (it != topics.end()) return it->second;
    if (topics.size() >= 10'000) {  // a template that renders endless names; handles are refcounted
      for (auto& [n, t] : topics) RdkafkaLoaded().rd_kafka_topic_destroy(t);
      topics.clear();
    }
    rd_kafka_topic_t* rkt = RdkafkaLoaded().rd_kafka_topic_new(rk, name.c_str(), nullptr);
    if (rkt != nullptr) topics.emplace(name, rkt);
    return rkt;
  }
};

Producer::Producer(PassKey, Logger log, OAuthTokenSource oauth)
    : log_(std::move(log)), oauth_(std::move(oauth)), handle_(std::make_unique<Handle>()) {}

Producer::~Producer() = default;

Result<std::unique_ptr<Producer>> Producer::Create(const Properties& properties, OAuthTokenSource oauth, Logger log) {
  if (Result<const RdkafkaApi*> api = Rdkafka(); !api.ok()) return api.status();
  auto p = std::make_unique<Producer>(PassKey{}, std::move(log), std::move(oauth));
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(RdkafkaLoaded().rd_kafka_conf_new(),
                                                                          RdkafkaLoaded().rd_kafka_conf_destroy);
  std::array<char, 512> err{};
  for (const auto& [name, value] : properties) {
    if (RdkafkaLoaded().rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err.data(), err.size()) !=
        RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument("librdkafka property \"" + name + "\": " + err.data());
    }
  }
  RdkafkaLoaded().rd_kafka_conf_set_opaque(conf.get(), p.get());
  RdkafkaLoaded().rd_kafka_conf_set_dr_msg_cb(conf.get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Producer*>(opaque);
    DeliveryReport r;
    r.tag = reinterpret_cast<uintptr_t>(m->_private);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      r.status = ErrorStatus(m->err);
      r.permanent = IsPermanent(m->err);
    }
    self->reports_.push_back(std::move(r));
  });
  // librdkafka logs from its own threads; spdlog loggers are thread-safe.
  RdkafkaLoaded().rd_kafka_conf_set_log_cb(conf.get(),
                                           [](const rd_kafka_t* rk, int level, const char* facility, const char* text) {
                                             auto* self = static_cast<Producer*>(RdkafkaLoaded().rd_kafka_opaque(rk));
                                             // Errors librdkafka logs also reach the error callback, which logs them
                                             // once as warnings; the log stays debug detail unless it is critical.
                                             const auto lvl = level <= 2 ? spdlog::level::err : spdlog::level::debug;
                                             self->log_->log(lvl, "librdkafka {}: {}", facility, text);
                                           });
  // Transport errors (a broker down) are also delivery failures later, with
  // the message that says which batch; here they are context.
  RdkafkaLoaded().rd_kafka_conf_set_error_cb(conf.get(), [](rd_kafka_t* rk, int e, const char* reason, void* opaque) {
    auto* self = static_cast<Producer*>(opaque);
    const auto code = static_cast<rd_kafka_resp_err_t>(e);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
      std::array<char, 512> why{};
      RdkafkaLoaded().rd_kafka_fatal_error(rk, why.data(), why.size());
      self->log_->error("kafka producer: fatal error: {}", why.data());
      return;
    }
    self->log_->warn("kafka: {}: {}", RdkafkaLoaded().rd_kafka_err2name(code), reason);
  });
  if (p->oauth_) {
    RdkafkaLoaded().rd_kafka_conf_set_oauthbearer_token_refresh_cb(
        conf.get(), [](rd_kafka_t* rk, const char*, void* opaque) {
          auto* self = static_cast<Producer*>(opaque);
          Result<OAuthToken> t = self->oauth_();
          std::array<char, 512> why{};
          if (!t.ok()) {
            self->log_->warn("kafka: no OAUTHBEARER token: {}", t.status().message());
            RdkafkaLoaded().rd_kafka_oauthbearer_set_token_failure(rk, t.status().message().c_str());
            return;
          }
          if (RdkafkaLoaded().rd_kafka_oauthbearer_set_token(rk, t->value.c_str(), t->expires_ms, t->principal.c_str(),
                                                             nullptr, 0, why.data(),
                                                             why.size()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            self->log_->warn("kafka: OAUTHBEARER token refused by librdkafka: {}", why.data());
            RdkafkaLoaded().rd_kafka_oauthbearer_set_token_failure(rk, why.data());
          }
        });
  }
  rd_kafka_t* rk = RdkafkaLoaded().rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err.data(), err.size());
  if (rk == nullptr) return Status::InvalidArgument(std::string("kafka producer: ") + err.data());
  conf.release();  // rd_kafka_new took it
  p->handle_->rk = rk;
  if (p->oauth_) {
    // Token refreshes then run on librdkafka's background thread, so the
    // first connection does not wait for this thread to poll.
    if (rd_kafka_error_t* e = RdkafkaLoaded().rd_kafka_sasl_background_callbacks_enable(rk); e != nullptr) {
      const std::string why = RdkafkaLoaded().rd_kafka_error_string(e);
      RdkafkaLoaded().rd_kafka_error_destroy(e);
      return Status::Internal("kafka producer: " + why);
    }
  }
  return p;
}

Status Producer::Produce(const std::string& topic, std::string_view key, std::string_view value, uint64_t tag,
                         bool& permanent) {
  permanent = false;
  std::array<rd_kafka_vu_t, 5> vu{};
  size_t n = 0;
  rd_kafka_topic_t* rkt = handle_->Topic(topic);
  if (rkt == nullptr) {
    const rd_kafka_resp_err_t code = RdkafkaLoaded().rd_kafka_last_error();
    permanent = true;  // librdkafka refuses the name itself
    return ErrorStatus(code == RD_KAFKA_RESP_ERR_NO_ERROR ? RD_KAFKA_RESP_ERR__INVALID_ARG : code);
  }
  vu[n].vtype = RD_KAFKA_VTYPE_RKT;
  vu[n++].u.rkt = rkt;
  if (!key.empty()) {
    vu[n].vtype = RD_KAFKA_VTYPE_KEY;
    vu[n].u.mem.ptr = const_cast<char*>(key.data());  // copied (RD_KAFKA_MSG_F_COPY)
    vu[n++].u.mem.size = key.size();
  }
  vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[n].u.mem.ptr = const_cast<char*>(value.data());
  vu[n++].u.mem.size = value.size();
  vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
  vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[n++].u.ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(tag));
  for (;;) {
    rd_kafka_error_t* e = RdkafkaLoaded().rd_kafka_produceva(handle_->rk, vu.data(), n);
    if (e == nullptr) {
      ++produced_;
      return Status::Ok();
    }
    const rd_kafka_resp_err_t code = RdkafkaLoaded().rd_kafka_error_code(e);
    RdkafkaLoaded().rd_kafka_error_destroy(e);
    if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      permanent = IsPermanent(code);
      return ErrorStatus(code);
    }
    Serve(100, nullptr);  // the queue drains as reports arrive
  }
}

void Producer::Serve(int timeout_ms, const std::function<void(const DeliveryReport&)>* on_report) {
  RdkafkaLoaded().rd_kafka_poll(handle_->rk, timeout_ms);
  if (on_report == nullptr) return;  // kept for the next Flush
  std::vector<DeliveryReport> reports = std::move(reports_);
  reports_.clear();
  reported_ += reports.size();
  for (const DeliveryReport& r : reports) (*on_report)(r);
}

void Producer::Flush(const std::function<void(const DeliveryReport&)>& on_report) {
  Serve(0, &on_report);
  while (outstanding() > 0) Serve(100, &on_report);
}

std::optional<std::string> Producer::fatal() const {
  std::array<char, 512> why{};
  if (RdkafkaLoaded().rd_kafka_fatal_error(handle_->rk, why.data(), why.size()) == RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::nullopt;
  return std::string(why.data());
}

}  // namespace sluice::kafka
