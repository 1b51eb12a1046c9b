#include "agent/transforms/stream_writer.h"

#include "agent/record/json_record.h"
#include "core/util/utf8.h"

namespace sluice {

Result<TransformTopology> BuildTransformTopology(const std::vector<TransformSpec>& transforms,
                                                 std::set<std::string, std::less<>> stored, const std::string& host,
                                                 MetricsRegistry* metrics, const Logger& log, Buffer* buffer) {
  TransformTopology topology;
  topology.host = host;
  topology.metrics = metrics;
  topology.stored = std::move(stored);
  for (const TransformSpec& t : transforms) {
    Result<std::unique_ptr<TransformFactory>> f =
        t.build(TransformContext{t.name, metrics, ChildLogger(log, t.type + " " + t.name), host, buffer,
                                 topology.stored.contains(kEventsStream)});
    if (!f.ok()) return f.status();
    topology.factories.emplace(t.name, std::move(f).value());
    for (const std::string& in : t.inputs) topology.consumers[in].push_back(t.name);
  }
  return topology;
}

struct StreamWriter::Node {
  std::string name;
  std::unique_ptr<Transform> transform;
  std::unique_ptr<BatchBuilder> builder;  // null when no sink takes this transform's stream
  std::vector<std::unique_ptr<Node>> children;
  Counter* in = nullptr;
  Counter* out = nullptr;
};

std::unique_ptr<StreamWriter::Node> StreamWriter::Build(const std::string& transform, const TransformTopology& t,
                                                        int zstd_level, int depth) {
  // The configuration refuses cycles; this only guards against a bug there.
  if (depth > 64) return nullptr;
  auto f = t.factories.find(transform);
  if (f == t.factories.end()) return nullptr;
  auto node = std::make_unique<Node>();
  node->name = transform;
  node->transform = f->second->NewInstance();
  if (t.stored.contains(transform)) node->builder = std::make_unique<BatchBuilder>(zstd_level);
  if (t.metrics != nullptr) {
    node->in = &t.metrics->GetCounter("sluice_transform_records_in_total", "Records a transform was given",
                                      {{"transform", transform}});
    node->out =
        &t.metrics->GetCounter("sluice_transform_records_out_total",
                               "Records a transform passed on (the others it dropped)", {{"transform", transform}});
  }
  if (auto c = t.consumers.find(transform); c != t.consumers.end()) {
    for (const std::string& child : c->second) {
      if (std::unique_ptr<Node> n = Build(child, t, zstd_level, depth + 1)) node->children.push_back(std::move(n));
    }
  }
  return node;
}

StreamWriter::StreamWriter(std::string source, const TransformTopology* topology, Logger log, int zstd_level)
    : source_(std::move(source)), log_(std::move(log)) {
  if (topology != nullptr) {
    // The event records' host member, rendered once: {"ts":...,"host":...,<fields>}.
    host_member_ = R"("host":)";
    AppendJsonText(host_member_, topology->host);
    host_member_ += ',';
    if (auto c = topology->consumers.find(source_); c != topology->consumers.end()) {
      for (const std::string& t : c->second) {
        if (std::unique_ptr<Node> n = Build(t, *topology, zstd_level, 0)) roots_.push_back(std::move(n));
      }
    }
  }
  direct_ = roots_.empty();
  if (direct_ || topology->stored.contains(source_)) own_ = std::make_unique<BatchBuilder>(zstd_level);
  if (!direct_) {
    if (topology->stored.contains(kEventsStream)) events_ = std::make_unique<BatchBuilder>(zstd_level);
    if (topology->metrics != nullptr) {
      unreadable_ = &topology->metrics->GetCounter(
          "sluice_transform_unreadable_records_total",
          "Records the transforms could not read as JSON (stored only in the source's own stream)",
          {{"source", source_}});
      events_total_ = &topology->metrics->GetCounter("sluice_transform_events_total",
                                                     "Event records written to _events", {{"source", source_}});
    }
  }
}

StreamWriter::~StreamWriter() = default;

void StreamWriter::EndRecord(int64_t ts_ms) {
  ++records_in_;
  own_->EndRecord(ts_ms);
}

void StreamWriter::Add(int64_t ts_ms, std::string_view line) {
  if (direct_) {
    own_->staging() += line;
    EndRecord(ts_ms);
    return;
  }
  ++records_in_;
  if (own_) {
    own_->staging() += line;
    own_->EndRecord(ts_ms);
  }
  parsers_.Reset();
  std::string_view json = line;
  if (!json.empty() && json.back() == '\n') json.remove_suffix(1);
  Result<JsonDoc> doc = JsonDoc::Parse(parsers_, json);
  if (!doc.ok()) {
    // Our encoder writes valid JSON; what simdjson refuses is a number beyond
    // 64 bits or a double's range in an MQTT payload. Such a record is kept
    // in the source's own stream only: a privacy transform must not pass what
    // it cannot read.
    if (unreadable_ != nullptr) unreadable_->Inc();
    log_->warn("a record of source {} is not readable by the transforms ({}); it is kept only in the source's stream",
               source_, doc.status().message());
    return;
  }
  TransformRecord record{ts_ms, source_, std::move(doc).value()};
  Route(roots_, record, line);
}

void StreamWriter::Route(std::vector<std::unique_ptr<Node>>& nodes, TransformRecord& record, std::string_view line) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node& n = *nodes[i];
    // The last branch takes the record itself; the others a copy (which shares the parsed document).
    std::optional<TransformRecord> own;
    if (i + 1 == nodes.size()) {
      own.emplace(std::move(record));
    } else {
      own.emplace(record);
    }
    TransformRecord& copy = *own;
    if (n.in != nullptr) n.in->Inc();
    if (!n.transform->Apply(copy, *this)) continue;
    if (n.out != nullptr) n.out->Inc();
    if (n.builder) {
      std::string& out = n.builder->staging();
      if (copy.doc.edited()) {
        copy.doc.Write(out);
        out += '\n';
      } else {
        out += line;
      }
      n.builder->EndRecord(copy.ts_ms);
    }
    // `line` stands for the record only while nothing edited it; an edited
    // record is written from its document where it is stored.
    if (!n.children.empty()) Route(n.children, copy, copy.doc.edited() ? std::string_view() : line);
  }
}

void StreamWriter::Event(int64_t ts_ms, std::string_view fields_json) {
  if (events_total_ != nullptr) events_total_->Inc();
  if (!events_) return;
  std::string& out = events_->staging();
  out += R"({"ts":")";
  out += FormatTimestampMs(ts_ms);
  out += "\",";
  out += host_member_;
  out += fields_json;
  out += "}\n";
  events_->EndRecord(ts_ms);
}

void StreamWriter::Checkpoint(std::string key, std::optional<std::string> value) {
  for (CheckpointUpdate& u : checkpoints_) {
    if (u.key == key) {
      u.value = std::move(value);
      return;
    }
  }
  checkpoints_.push_back({std::move(key), std::move(value)});
}

uint64_t StreamWriter::raw_bytes() const {
  uint64_t n = 0;
  if (own_) n += own_->raw_bytes();
  if (events_) n += events_->raw_bytes();
  std::vector<const Node*> stack;
  for (const auto& r : roots_) stack.push_back(r.get());
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    if (node->builder) n += node->builder->raw_bytes();
    for (const auto& c : node->children) stack.push_back(c.get());
  }
  return n;
}

Result<std::vector<StreamBatch>> StreamWriter::Finish() {
  std::vector<StreamBatch> out;
  const auto take = [&](const std::string& stream, BatchBuilder& b) -> Status {
    if (b.empty()) return Status::Ok();
    Result<EncodedBatch> batch = b.Finish();
    if (!batch.ok()) return batch.status();
    out.push_back({stream, std::move(batch).value()});
    return Status::Ok();
  };
  records_in_ = 0;
  if (own_) {
    if (Status s = take(source_, *own_); !s.ok()) return s;
  }
  std::vector<Node*> stack;
  for (auto& r : roots_) stack.push_back(r.get());
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    if (node->builder) {
      if (Status s = take(node->name, *node->builder); !s.ok()) return s;
    }
    for (auto& c : node->children) stack.push_back(c.get());
  }
  if (events_) {
    if (Status s = take(std::string(kEventsStream), *events_); !s.ok()) return s;
  }
  return out;
}

std::vector<CheckpointUpdate> StreamWriter::TakeCheckpoints() { return std::exchange(checkpoints_, {}); }

}  // namespace sluice
