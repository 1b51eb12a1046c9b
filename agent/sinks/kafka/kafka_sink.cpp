#include "agent/sinks/kafka/kafka_sink.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "agent/sinks/batch_encoding.h"
#include "agent/sinks/dead_letters.h"
#include "agent/sinks/entry_shipper.h"
#include "core/util/host_name.h"
#include "core/util/secret_file.h"
#include "protocols/aws/credentials.h"
#include "protocols/kafka/kafka_producer.h"
#include "protocols/kafka/msk_iam_token.h"

namespace sluice {
namespace {

bool TopicChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

void MakeTopicSafe(std::string& value) {
  for (char& c : value) {
    if (c == '/') {
      c = '.';
    } else if (!TopicChar(c)) {
      c = '_';
    }
  }
}

// Properties the sink's own options set: the [librdkafka] table may not set
// them again (the option is the one place, and `agent check` prints it).
const std::map<std::string, std::string, std::less<>>& OwnedProperties() {
  static const std::map<std::string, std::string, std::less<>> kOwned = {
      {"bootstrap.servers", "brokers"},
      {"metadata.broker.list", "brokers"},
      {"client.id", "the sink's name"},
      {"enable.idempotence", "idempotent"},
      {"acks", "acks"},
      {"request.required.acks", "acks"},
      {"compression.type", "compression"},
      {"compression.codec", "compression"},
      {"linger.ms", "linger"},
      {"queue.buffering.max.ms", "linger"},
      {"batch.size", "batch_size"},
      {"message.max.bytes", "max_message_size"},
      {"message.timeout.ms", "delivery_timeout"},
      {"delivery.timeout.ms", "delivery_timeout"},
      {"queue.buffering.max.kbytes", "queue_size"},
      {"security.protocol", "tls and sasl_mechanism"},
      {"sasl.mechanism", "sasl_mechanism"},
      {"sasl.mechanisms", "sasl_mechanism"},
      {"sasl.username", "sasl_username"},
      {"sasl.password", "sasl_password_file"},
      {"ssl.ca.location", "tls_ca"},
      {"ssl.certificate.location", "tls_cert"},
      {"ssl.key.location", "tls_key"},
      {"ssl.key.password", "tls_key_password_file"},
  };
  return kOwned;
}

class KafkaSink final : public Sink {
 public:
  KafkaSink(std::string name, KafkaSinkConfig config, BatchPolicy policy, const SinkContext& ctx)
      : name_(std::move(name)),
        config_(std::move(config)),
        policy_(policy),
        log_(ctx.log),
        dead_letters_(name_, config_.dead_letter, ctx),
        own_metrics_(ctx.metrics == nullptr ? std::make_unique<MetricsRegistry>() : nullptr),
        errors_((ctx.metrics != nullptr ? *ctx.metrics : *own_metrics_)
                    .GetCounter("sluice_kafka_failed_messages_total",
                                "messages librdkafka reported not stored after its own retries (each produced again)",
                                {{"sink", name_}})) {
    if (config_.sasl_mechanism == "AWS_MSK_IAM") {
      const std::map<std::string, std::string> env = aws::EnvironmentMap();
      credentials_ = aws::DefaultCredentialsChain(MakeCredentialSources(config_.credentials, env));
      region_ = config_.region;
      for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
        if (auto it = env.find(var); region_.empty() && it != env.end()) region_ = it->second;
      }
      if (region_.empty()) region_ = "us-east-1";
    }
  }

  const std::string& name() const override { return name_; }
  BatchPolicy policy() const override { return policy_; }

  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) override {
    if (Status s = EnsureProducer(); !s.ok()) return s;
    delivered_.KeepOnly(batches);  // batches acknowledged or dropped (drop_oldest) meanwhile
    // Tags index `inflight`: which record each produced message is.
    std::vector<RecordRef> inflight;
    std::vector<std::vector<size_t>> dead(batches.size());
    size_t not_queued = 0;
    Status first_error;
    for (size_t bi = 0; bi < batches.size(); ++bi) {
      const BatchInfo& b = batches[bi];
      Result<std::string> data = load(b);
      if (!data.ok()) return data.status();
      Result<std::string> text = EncodeBatch(data.value(), ObjectCompression::kNone);
      if (!text.ok()) return Status::Corrupt("batch " + b.id + ": " + text.status().message());
      const std::vector<std::string_view> lines = SplitLines(text.value());
      std::vector<bool>& stored = delivered_.Of(b.id, lines.size());
      for (size_t i = 0; i < lines.size(); ++i) {
        if (stored[i]) continue;
        const std::string topic = config_.topic.Render(lines[i], {}, &MakeTopicSafe);
        Result<std::string> value = EncodeRecord(lines[i], config_.encoding);
        if (!ValidKafkaTopic(topic) || !value.ok()) {
          dead[bi].push_back(i);
          continue;
        }
        const std::string key = config_.key.Render(lines[i]);
        bool permanent = false;
        Status s = producer_->Produce(topic, key, value.value(), inflight.size(), permanent);
        if (s.ok()) {
          inflight.push_back({bi, i});
        } else if (permanent) {
          dead[bi].push_back(i);
        } else {
          ++not_queued;
          if (first_error.ok()) first_error = s;
        }
      }
    }
    size_t failed = 0;
    producer_->Flush([&](const kafka::DeliveryReport& r) {
      const RecordRef ref = inflight.at(r.tag);
      if (r.status.ok()) {
        delivered_.Mark(batches[ref.batch].id, ref.index);
      } else if (r.permanent) {
        dead[ref.batch].push_back(ref.index);
      } else {
        ++failed;
        if (first_error.ok()) first_error = r.status;
      }
    });
    errors_.Inc(failed);
    if (Status s = WriteDeadLetters(batches, load, dead); !s.ok()) return s;
    if (std::optional<std::string> fatal = producer_->fatal()) {
      producer_.reset();  // an idempotent producer that was fenced cannot go on; the next Deliver makes a new one
      return Status::Unavailable("kafka producer fatal error (a new producer is started): " + *fatal);
    }
    if (failed + not_queued > 0) {
      return Status::Unavailable(fmt::format("{} of {} messages not stored by Kafka ({}): {}", failed + not_queued,
                                             inflight.size() + not_queued, config_.brokers, first_error.message()));
    }
    delivered_.Forget(batches);
    return Status::Ok();
  }

 private:
  Status EnsureProducer() {
    if (producer_) return Status::Ok();
    kafka::Properties props = config_.properties;
    if (config_.sasl_password_file) {
      Result<std::string> pw = ReadSecretLine(*config_.sasl_password_file, "sasl_password_file");
      if (!pw.ok()) return pw.status();
      props.emplace_back("sasl.password", pw.value());
    }
    kafka::OAuthTokenSource oauth;
    if (credentials_) {
      oauth = [creds = credentials_, region = region_]() -> Result<kafka::OAuthToken> {
        Result<aws::SigV4Credentials> c = creds->Get();
        if (!c.ok()) return c.status();
        return kafka::MskIamToken(c.value(), region, std::chrono::system_clock::now(), "sluice/" SLUICE_VERSION);
      };
    }
    Result<std::unique_ptr<kafka::Producer>> p = kafka::Producer::Create(props, std::move(oauth), log_);
    if (!p.ok()) return p.status();
    producer_ = std::move(p).value();
    return Status::Ok();
  }

  Status WriteDeadLetters(std::span<const BatchInfo> batches, const BatchLoader& load,
                          std::vector<std::vector<size_t>>& dead) {
    for (size_t bi = 0; bi < batches.size(); ++bi) {
      if (dead[bi].empty()) continue;
      const BatchInfo& b = batches[bi];
      // Rare: the batch is loaded again rather than every line kept until its report.
      Result<std::string> data = load(b);
      if (!data.ok()) return data.status();
      Result<std::string> text = EncodeBatch(data.value(), ObjectCompression::kNone);
      if (!text.ok()) return text.status();
      const std::vector<std::string_view> lines = SplitLines(text.value());
      std::sort(dead[bi].begin(), dead[bi].end());
      std::string out;
      for (size_t i : dead[bi]) {
        out.append(lines.at(i));
        out += '\n';
      }
      const std::string why = fmt::format(
          "cannot be stored by Kafka (larger than max_message_size {}, a topic name Kafka refuses, or "
          "nothing to send raw)",
          config_.max_message_bytes);
      if (Status s = dead_letters_.Write(b, dead[bi].front(), out, dead[bi].size(), why); !s.ok()) return s;
      for (size_t i : dead[bi]) delivered_.Mark(b.id, i);
    }
    return Status::Ok();
  }

  std::string name_;
  KafkaSinkConfig config_;
  BatchPolicy policy_;
  Logger log_;
  DeadLetters dead_letters_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  Counter& errors_;
  DeliveredRecords delivered_;
  std::shared_ptr<aws::CredentialsProvider> credentials_;
  std::string region_;
  std::unique_ptr<kafka::Producer> producer_;
};

}  // namespace

bool ValidKafkaTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..") return false;
  return std::all_of(topic.begin(), topic.end(), TopicChar);
}

KafkaSinkConfig ParseKafkaSinkConfig(TableReader& r, const std::string& sink_name) {
  KafkaSinkConfig c;
  kafka::Properties& p = c.properties;
  c.brokers = r.RequiredString("brokers", "bootstrap brokers: \"host:port,host:port\"");
  if (c.brokers.empty()) r.Fail("brokers", "must name at least one broker as host:port");
  p.emplace_back("bootstrap.servers", c.brokers);
  p.emplace_back("client.id", "sluice-" + MachineHostName() + "-" + sink_name);

  c.topic = RecordTemplate::Read(r, "topic", "", kRecordTemplateVars,
                                 "topic template: literal text and {source} {host} {path} {topic} {random}; "
                                 "'/' in a value becomes '.', other characters Kafka refuses '_'");
  {
    const std::string literal = c.topic.Render("{}");
    if (c.topic.text().empty() || (c.topic.constant() && !ValidKafkaTopic(literal)) ||
        !std::all_of(literal.begin(), literal.end(), TopicChar)) {
      r.Fail("topic", "\"" + c.topic.text() + "\": a topic name is 1 to 249 characters of A-Z a-z 0-9 . _ -");
    }
  }
  c.key = RecordTemplate::Read(r, "key", "", kRecordTemplateVars,
                               "message key template (empty: no key; messages spread over partitions)");
  c.encoding = ParseRecordEncoding(r);

  const bool idempotent =
      r.Bool("idempotent", true, "idempotent producer: librdkafka's retries never duplicate or reorder messages");
  p.emplace_back("enable.idempotence", idempotent ? "true" : "false");
  const std::string acks = r.Enum("acks", "all", {"all", "1", "0"}, "acknowledgements a message needs to count");
  if (idempotent && acks != "all") r.Fail("acks", "must be \"all\" with idempotent = true");
  p.emplace_back("acks", acks);
  p.emplace_back("compression.type", r.Enum("compression", "lz4", {"none", "gzip", "snappy", "lz4", "zstd"},
                                            "compression of message batches on the wire"));
  p.emplace_back("linger.ms", std::to_string(r.Duration("linger", "10ms", "wait this long to fill a batch").count()));
  p.emplace_back("batch.size", std::to_string(r.Size("batch_size", "1MiB", 1024, 2147483647,
                                                     "largest message batch per partition request")));
  c.max_message_bytes = r.Size("max_message_size", "1000000", 1000, 1000000000,
                               "largest message (Kafka's default limit is 1000000 bytes); larger ones are "
                               "dead-lettered");
  p.emplace_back("message.max.bytes", std::to_string(c.max_message_bytes));
  p.emplace_back("message.timeout.ms",
                 std::to_string(r.Duration("delivery_timeout", "60s",
                                           "librdkafka retries a message this long before it counts as failed "
                                           "(the delivery is then retried with backoff)",
                                           std::chrono::milliseconds(1000))
                                    .count()));
  p.emplace_back("queue.buffering.max.kbytes",
                 std::to_string(r.Size("queue_size", "64MiB", 1u << 20, 2ULL << 30,
                                       "librdkafka's queue of unsent messages (bounds memory)") >>
                                10));

  const bool tls = r.Bool("tls", false, "connect with TLS (MSK: port 9094 TLS, 9096 SASL/SCRAM, 9098 IAM)");
  if (auto ca = r.OptionalString("tls_ca", "CA bundle to verify the brokers with (default: the system's)")) {
    r.RequireReadable("tls_ca", *ca);
    p.emplace_back("ssl.ca.location", *ca);
  }
  auto cert = r.OptionalString("tls_cert", "client certificate (PEM) for mutual TLS");
  auto key = r.OptionalString("tls_key", "its private key (PEM)");
  if (cert.has_value() != key.has_value()) r.Fail(cert ? "tls_key" : "tls_cert", "tls_cert and tls_key go together");
  if (cert) {
    r.RequireReadable("tls_cert", *cert);
    r.RequireReadable("tls_key", *key);
    p.emplace_back("ssl.certificate.location", *cert);
    p.emplace_back("ssl.key.location", *key);
  }
  if ((cert || r.Has("tls_ca")) && !tls) r.Fail("tls", "tls_ca, tls_cert and tls_key need tls = true");

  c.sasl_mechanism = r.Enum("sasl_mechanism", "", {"", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "AWS_MSK_IAM"},
                            "SASL authentication (AWS_MSK_IAM: MSK's IAM access control with the AWS credentials)");
  auto user = r.OptionalString("sasl_username", "SASL user (PLAIN, SCRAM)");
  c.sasl_password_file = r.OptionalString("sasl_password_file", "file holding the SASL password, read at start");
  const bool password_auth = !c.sasl_mechanism.empty() && c.sasl_mechanism != "AWS_MSK_IAM";
  if (password_auth && (!user || !c.sasl_password_file)) {
    r.Fail("sasl_mechanism", c.sasl_mechanism + " needs sasl_username and sasl_password_file");
  }
  if (!password_auth && (user || c.sasl_password_file)) {
    r.Fail(user ? "sasl_username" : "sasl_password_file", "needs sasl_mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
  }
  if (c.sasl_password_file) r.RequireReadable("sasl_password_file", *c.sasl_password_file);
  c.region = r.String("region", "",
                      "AWS region of the MSK cluster, for AWS_MSK_IAM (empty: AWS_REGION, "
                      "AWS_DEFAULT_REGION, else us-east-1)");
  c.credentials = ParseAwsCredentialsConfig(r);
  if (c.sasl_mechanism == "AWS_MSK_IAM" && !tls)
    r.Fail("sasl_mechanism", "AWS_MSK_IAM needs tls = true (MSK port 9098)");
  if (password_auth) {
    p.emplace_back("sasl.mechanism", c.sasl_mechanism);
    p.emplace_back("sasl.username", *user);
  } else if (c.sasl_mechanism == "AWS_MSK_IAM") {
    p.emplace_back("sasl.mechanism", "OAUTHBEARER");
  }
  const bool sasl = !c.sasl_mechanism.empty();
  p.emplace_back("security.protocol", tls ? (sasl ? "SASL_SSL" : "SSL") : (sasl ? "SASL_PLAINTEXT" : "PLAINTEXT"));
  c.dead_letter = r.String("dead_letter", "",
                           "directory for messages Kafka can never store (empty: <data_dir>/dead-letter/<sink>)");

  std::set<std::string, std::less<>> seen;
  for (auto& [name, value] :
       r.Settings("librdkafka", "a librdkafka producer property", [&](const std::string&name, const std::string&value) {
         if (auto it = OwnedProperties().find(name); it != OwnedProperties().end()) {
           return "set by this sink's option " + it->second + "; use that";
         }
         if (name.ends_with("_cb") || name == "opaque" || name == "interceptors") {
           return std::string("a callback cannot be set from a configuration file");
         }
         Status s = kafka::CheckProperties({{name, value}});
         return s.ok() ? std::string() : s.message();
       })) {
    p.emplace_back(name, value);
  }
  if (Status s = kafka::CheckProperties(p); !s.ok()) r.Fail("librdkafka", s.message());
  return c;
}

std::unique_ptr<Sink> MakeKafkaSink(std::string name, KafkaSinkConfig config, BatchPolicy policy,
                                    const SinkContext& context) {
  return std::make_unique<KafkaSink>(std::move(name), std::move(config), policy, context);
}

}  // namespace sluice
