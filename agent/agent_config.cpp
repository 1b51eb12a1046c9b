#include "agent/agent_config.h"

#include <unistd.h>

#include <map>
#include <set>

#include "agent/sinks/firehose/firehose_sink.h"
#include "agent/sinks/http/http_sink.h"
#include "agent/sinks/kafka/kafka_sink.h"
#include "agent/sinks/kinesis/kinesis_sink.h"
#include "agent/sinks/lake/lake_sink.h"
#include "agent/sinks/mqtt/mqtt_sink.h"
#include "agent/sinks/s3/s3_sink.h"
#include "agent/sources/mqtt/mqtt_config.h"
#include "agent/sources/mqtt/mqtt_source.h"
#include "agent/sources/tail/tail_source.h"
#include "core/config/units.h"
#include "core/util/host_name.h"

namespace sluice {
namespace {

// The component types, each with the function that reads its table. A table
// of functions rather than a registry object: nothing here is mutable.
struct SourceType {
  std::string_view type;
  SourceBuilder (*parse)(const std::string& name, TableReader& r);
};
struct SinkType {
  std::string_view type;
  SinkBuilder (*parse)(const std::string& name, TableReader& r, const BatchPolicy& policy);
};

SourceBuilder ParseTail(const std::string& name, TableReader& r) {
  TailConfig config = ParseTailConfig(r);
  return [name, config](const SourceContext& ctx) { return MakeTailSource(name, config, ctx); };
}

SourceBuilder ParseMqtt(const std::string& name, TableReader& r) {
  MqttConfig config = ParseMqttConfig(r);
  return [name, config](const SourceContext& ctx) { return MakeMqttSource(name, config, ctx); };
}

SinkBuilder ParseLake(const std::string& name, TableReader& r, const BatchPolicy& policy) {
  LakeConfig config = ParseLakeConfig(r);
  return [name, config, policy](const SinkContext& ctx) {
    return MakeLakeSink(name, config, policy, ctx.log, ctx.replay);
  };
}

SinkBuilder ParseS3(const std::string& name, TableReader& r, const BatchPolicy& policy) {
  S3SinkConfig config = ParseS3SinkConfig(r);
  return [name, config, policy](const SinkContext& ctx) { return MakeS3Sink(name, config, policy, ctx.log); };
}

SinkBuilder ParseKinesis(const std::string& name, TableReader& r, const BatchPolicy& policy) {
  KinesisSinkConfig config = ParseKinesisSinkConfig(r);
  return [name, config, policy](const SinkContext& ctx) { return MakeKinesisSink(name, config, policy, ctx); };
}

SinkBuilder ParseKafka(const std::string& name, TableReader& r, const BatchPolicy& policy) {
  KafkaSinkConfig config = ParseKafkaSinkConfig(r, name);
  return [name, config, policy](const SinkContext& ctx) { return MakeKafkaSink(name, config, policy, ctx); };
}

SinkBuilder ParseFirehose(const std::string& name, TableReader& r, const BatchPolicy& policy) {
  FirehoseSinkConfig config = ParseFirehoseSinkConfig(r);
  return [name, config, policy](const SinkContext& ctx) { return MakeFirehoseSink(name, config, policy, ctx); };
}

SinkBuilder ParseHttp(const std::string& name, TableReader& r, const BatchPolicy& policy) {
  HttpSinkConfig config = ParseHttpSinkConfig(r);
  return [name, config, policy](const SinkContext& ctx) { return MakeHttpSink(name, config, policy, ctx); };
}

SinkBuilder ParseMqttSink(const std::string& name, TableReader& r, const BatchPolicy& policy) {
  MqttSinkConfig config = ParseMqttSinkConfig(r);
  return [name, config, policy](const SinkContext& ctx) { return MakeMqttSink(name, config, policy, ctx); };
}

constexpr SourceType kSourceTypes[] = {{"tail", &ParseTail}, {"mqtt", &ParseMqtt}};
constexpr SinkType kSinkTypes[] = {{"lake", &ParseLake},         {"s3", &ParseS3},       {"kinesis", &ParseKinesis},
                                   {"firehose", &ParseFirehose}, {"kafka", &ParseKafka}, {"http", &ParseHttp},
                                   {"mqtt", &ParseMqttSink}};

template <class T>
std::string TypeList(const T& types) {
  std::string out;
  for (const auto& t : types) out += (out.empty() ? "\"" : ", \"") + std::string(t.type) + "\"";
  return out;
}

bool IsSafeName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

AgentConfig ParseAgentConfig(const ConfigDocument& doc) {
  AgentConfig c;
  c.config_path = doc.path();
  TableReader root(doc, &c.effective);

  TableReader agent = root.Section("agent");
  c.buffer.dir = agent.String("data_dir", "/var/lib/sluice", "where the buffer database lives");
  c.buffer.max_bytes = agent.Size("buffer_max", "1GiB", 1 << 20, UINT64_MAX, "byte cap on the buffer's stored data");
  const std::string overflow = agent.Enum("overflow", "block", {"block", "drop_oldest"},
                                          "when the buffer is full: stop reading, or drop oldest");
  c.buffer.overflow = overflow == "block" ? Overflow::kBlock : Overflow::kDropOldest;
  const std::string durability = agent.Enum("durability", "full", {"off", "normal", "full", "extra"},
                                            "SQLite synchronous mode of each commit (see buffer_format.md)");
  c.buffer.durability = durability == "off"      ? Durability::kOff
                        : durability == "normal" ? Durability::kNormal
                        : durability == "full"   ? Durability::kFull
                                                 : Durability::kExtra;
  c.buffer.retain = agent.Duration("retain", "0s", "keep delivered batches this long for replay");
  c.host = agent.String("host", MachineHostName(), "the host field of every record");
  c.metrics_address = agent.String("metrics", "", "host:port for /metrics and /healthz; empty disables");
  const std::string log_format = agent.Enum("log_format", "text", {"text", "json"}, "log line format on stderr");
  c.log_format = log_format == "json" ? LogFormat::kJson : LogFormat::kText;
  const std::string level =
      agent.Enum("log_level", "info", {"trace", "debug", "info", "warn", "error", "off"}, "lowest level logged");
  c.log_level = ParseLogLevel(level).value();
  c.shutdown_timeout = agent.Duration("shutdown_timeout", "30s", "how long SIGTERM waits for sinks to flush");
  agent.Finish();

  // Sources.
  TableReader sources = root.Section("sources");
  std::set<std::string> source_names;
  for (const std::string& name : sources.Keys()) {
    TableReader r = sources.Section(name);
    if (!IsSafeName(name)) r.Fail("", "a source name may use only letters, digits, '_' and '-' (64 at most)");
    const std::string type = r.RequiredString("type", "the kind of source: " + TypeList(kSourceTypes));
    const SourceType* st = nullptr;
    for (const auto& t : kSourceTypes) {
      if (t.type == type) st = &t;
    }
    if (st == nullptr)
      r.Fail("type", "unknown source type \"" + type + "\"; expected one of " + TypeList(kSourceTypes));
    c.sources.push_back({name, type, st->parse(name, r)});
    r.Finish();
    source_names.insert(name);
  }
  sources.Finish();

  // Sinks.
  TableReader sinks = root.Section("sinks");
  std::set<std::string> fed;
  for (const std::string& name : sinks.Keys()) {
    TableReader r = sinks.Section(name);
    if (!IsSafeName(name)) r.Fail("", "a sink name may use only letters, digits, '_' and '-' (64 at most)");
    const std::string type = r.RequiredString("type", "the kind of sink: " + TypeList(kSinkTypes));
    const SinkType* st = nullptr;
    for (const auto& t : kSinkTypes) {
      if (t.type == type) st = &t;
    }
    if (st == nullptr) r.Fail("type", "unknown sink type \"" + type + "\"; expected one of " + TypeList(kSinkTypes));
    SinkSpec spec;
    spec.name = name;
    spec.type = type;
    spec.inputs = r.RequiredStrings("inputs", "the sources this sink takes");
    for (const auto& in : spec.inputs) {
      if (source_names.count(in) == 0) r.Fail("inputs", "no source named \"" + in + "\"");
      fed.insert(in);
    }
    TableReader batch = r.Table("batch");
    spec.policy.max_bytes = batch.Size("max_bytes", "32MiB", 1024, 1ULL << 34, "deliver once this much is pending");
    spec.policy.max_age = batch.Duration("max_age", "60s", "deliver once the oldest pending batch is this old");
    batch.Finish();
    TableReader retry = r.Table("retry");
    spec.retry.initial = retry.Duration("initial", "200ms", "first retry delay ceiling", std::chrono::milliseconds(1));
    spec.retry.max = retry.Duration("max", "30s", "largest retry delay", std::chrono::milliseconds(1));
    if (spec.retry.max < spec.retry.initial) retry.Fail("max", "must not be smaller than retry.initial");
    retry.Finish();
    spec.build = st->parse(name, r, spec.policy);
    r.Finish();
    c.sinks.push_back(std::move(spec));
  }
  sinks.Finish();
  root.Finish();

  if (c.sources.empty()) root.Fail("", "no [sources.NAME] table: the agent needs at least one source");
  if (c.sinks.empty()) root.Fail("", "no [sinks.NAME] table: the agent needs at least one sink");
  for (const auto& s : c.sources) {
    if (fed.count(s.name) == 0) {
      sources.Section(s.name).Fail(
          "", "source \"" + s.name + "\" is not in the inputs of any sink; its records would only fill the buffer");
    }
  }
  return c;
}

AgentConfig LoadAgentConfig(const std::string& path) { return ParseAgentConfig(ConfigDocument::Load(path)); }

}  // namespace sluice
