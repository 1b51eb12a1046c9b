#include "agent/agent_config.h"

#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
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
#include "agent/transforms/gaps/gaps_transform.h"
#include "agent/transforms/parse/parse_transform.h"
#include "agent/transforms/redact/redact_transform.h"
#include "agent/transforms/sample/sample_transform.h"
#include "agent/transforms/schema/schema_transform.h"
#include "agent/transforms/throttle/throttle_transform.h"
#include "agent/transforms/tokenize/tokenize_transform.h"
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

struct TransformType {
  std::string_view type;
  TransformBuilder (*parse)(TableReader& r);
};

TransformBuilder ParseParse(TableReader& r) { return MakeParseTransform(ParseParseConfig(r)); }
TransformBuilder ParseRedact(TableReader& r) { return MakeRedactTransform(ParseRedactConfig(r)); }
TransformBuilder ParseTokenize(TableReader& r) { return MakeTokenizeTransform(ParseTokenizeConfig(r)); }
TransformBuilder ParseSample(TableReader& r) { return MakeSampleTransform(ParseSampleConfig(r)); }
TransformBuilder ParseThrottle(TableReader& r) { return MakeThrottleTransform(ParseThrottleConfig(r)); }
TransformBuilder ParseSchema(TableReader& r) { return MakeSchemaTransform(ParseSchemaConfig(r)); }
TransformBuilder ParseGaps(TableReader& r) { return MakeGapsTransform(ParseGapsConfig(r)); }

// Transforms whose point is their events: their own output need not go anywhere.
bool WritesEvents(std::string_view type) { return type == "schema" || type == "gaps"; }

constexpr TransformType kTransformTypes[] = {
    {"parse", &ParseParse},       {"redact", &ParseRedact}, {"tokenize", &ParseTokenize}, {"sample", &ParseSample},
    {"throttle", &ParseThrottle}, {"schema", &ParseSchema}, {"gaps", &ParseGaps}};

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

// A path around a cycle of transforms ("a -> b -> a"), if there is one.
std::optional<std::string> FindTransformCycle(const std::vector<TransformSpec>& transforms) {
  std::map<std::string, const TransformSpec*> by_name;
  for (const TransformSpec& t : transforms) by_name[t.name] = &t;
  enum class Mark { kNone, kActive, kDone };
  std::map<std::string, Mark> mark;
  std::vector<std::string> stack;
  std::optional<std::string> found;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (found) return;
    Mark& m = mark[name];
    if (m == Mark::kDone) return;
    if (m == Mark::kActive) {
      std::string path;
      auto it = std::find(stack.begin(), stack.end(), name);
      for (; it != stack.end(); ++it) path += *it + " -> ";
      found = path + name;
      return;
    }
    m = Mark::kActive;
    stack.push_back(name);
    if (auto t = by_name.find(name); t != by_name.end()) {
      for (const std::string& in : t->second->inputs) {
        if (by_name.count(in) != 0) visit(in);
      }
    }
    stack.pop_back();
    mark[name] = Mark::kDone;
  };
  for (const TransformSpec& t : transforms) visit(t.name);
  return found;
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
    if (name == kEventsStream) r.Fail("", "\"_events\" is the transforms' event stream; name the source otherwise");
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

  // Transforms: inputs may name sources or other transforms, in any order.
  TableReader transforms = root.Section("transforms");
  std::set<std::string> transform_names;
  for (const std::string& name : transforms.Keys()) {
    TableReader r = transforms.Section(name);
    if (!IsSafeName(name)) r.Fail("", "a transform name may use only letters, digits, '_' and '-' (64 at most)");
    if (name == kEventsStream) r.Fail("", "\"_events\" is the transforms' event stream; name the transform otherwise");
    if (source_names.count(name) != 0) {
      r.Fail("", "\"" + name + "\" is already a source's name; inputs name sources and transforms alike");
    }
    const std::string type = r.RequiredString("type", "the kind of transform: " + TypeList(kTransformTypes));
    const TransformType* tt = nullptr;
    for (const auto& t : kTransformTypes) {
      if (t.type == type) tt = &t;
    }
    if (tt == nullptr) {
      r.Fail("type", "unknown transform type \"" + type + "\"; expected one of " + TypeList(kTransformTypes));
    }
    TransformSpec spec{name, type, r.RequiredStrings("inputs", "the sources and transforms this transform takes"), {}};
    if (spec.inputs.empty()) r.Fail("inputs", "name at least one source or transform");
    spec.build = tt->parse(r);
    r.Finish();
    c.transforms.push_back(std::move(spec));
    transform_names.insert(name);
  }
  transforms.Finish();
  for (const TransformSpec& t : c.transforms) {
    for (const std::string& in : t.inputs) {
      if (in == t.name) transforms.Section(t.name).Fail("inputs", "a transform cannot take its own output");
      if (source_names.count(in) == 0 && transform_names.count(in) == 0) {
        transforms.Section(t.name).Fail("inputs", "no source or transform named \"" + in + "\"");
      }
    }
  }
  if (std::optional<std::string> cycle = FindTransformCycle(c.transforms)) {
    transforms.Fail("", "the transforms' inputs form a cycle: " + *cycle);
  }

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
    spec.inputs = r.RequiredStrings("inputs", "the sources, transforms and _events this sink takes");
    for (const auto& in : spec.inputs) {
      if (in == kEventsStream) {
        const bool any = std::any_of(c.transforms.begin(), c.transforms.end(),
                                     [](const TransformSpec& t) { return WritesEvents(t.type); });
        if (!any) r.Fail("inputs", "\"_events\" holds the events of schema and gaps transforms, and there is none");
      } else if (source_names.count(in) == 0 && transform_names.count(in) == 0) {
        r.Fail("inputs", "no source or transform named \"" + in + "\"");
      }
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
  for (const TransformSpec& t : c.transforms) fed.insert(t.inputs.begin(), t.inputs.end());
  for (const auto& s : c.sources) {
    if (fed.count(s.name) == 0) {
      sources.Section(s.name).Fail(
          "", "source \"" + s.name + "\" is not in the inputs of any sink or transform; its records would go nowhere");
    }
  }
  for (const TransformSpec& t : c.transforms) {
    if (fed.count(t.name) != 0) continue;
    if (!WritesEvents(t.type)) {
      transforms.Section(t.name).Fail(
          "",
          "transform \"" + t.name + "\" is not in the inputs of any sink or transform; its output would go nowhere");
    }
    if (fed.count(std::string(kEventsStream)) == 0) {
      transforms.Section(t.name).Fail(
          "", "transform \"" + t.name + "\" writes events, but no sink takes \"_events\": add it to a sink's inputs");
    }
  }
  return c;
}

std::string DescribeAgentGraph(const AgentConfig& config) {
  const auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  std::string out = "# data flow:\n";
  for (const SourceSpec& s : config.sources) out += "#   source " + s.name + " (" + s.type + ")\n";
  for (const TransformSpec& t : config.transforms) {
    out += "#   transform " + t.name + " (" + t.type + ") <- " + join(t.inputs) + "\n";
  }
  for (const SinkSpec& s : config.sinks) out += "#   sink " + s.name + " (" + s.type + ") <- " + join(s.inputs) + "\n";
  return out;
}

AgentConfig LoadAgentConfig(const std::string& path) { return ParseAgentConfig(ConfigDocument::Load(path)); }

}  // namespace sluice
