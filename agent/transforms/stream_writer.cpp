#include "agent/transforms/stream_writer.h"

#include "agent/record/json_record.h"
#include "core/util/thread_name.h"
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
  int slot = -1;                          // the builder's in builders_
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
    // Every stream's batch gets a slot in the transform thread's output.
    const auto slot = [&](BatchBuilder* b) {
      builders_.push_back(b);
      return static_cast<int>(builders_.size()) - 1;
    };
    if (own_) own_slot_ = slot(own_.get());
    if (events_) events_slot_ = slot(events_.get());
    std::vector<Node*> stack;
    for (auto& r : roots_) stack.push_back(r.get());
    while (!stack.empty()) {
      Node* node = stack.back();
      stack.pop_back();
      if (node->builder) node->slot = slot(node->builder.get());
      for (auto& c : node->children) stack.push_back(c.get());
    }
    output_.streams.resize(builders_.size());
    transform_thread_ = std::thread([this] {
      SetThreadName("xf:" + source_);
      RunTransforms();
    });
    compress_thread_ = std::thread([this] {
      SetThreadName("zstd:" + source_);
      RunCompression();
    });
  }
}

StreamWriter::~StreamWriter() {
  if (transform_thread_.joinable()) {
    to_transform_.Close();
    transform_thread_.join();
    to_compress_.Close();
    compress_thread_.join();
  }
}

// A chunk is handed over at this many records or bytes: large enough that the
// handoffs (each wakes a thread) are rare, small enough that the transform
// thread starts while the source is still reading. Measured with
// bench/agent_transforms.sh: 256 records gave 160k records/s, 1024 200k.
constexpr size_t kChunkRecords = 1024;
constexpr size_t kChunkBytes = 512 * 1024;

void StreamWriter::Hand() {
  if (pending_.records.empty()) return;
  pending_ = to_transform_.Push(std::move(pending_));
  pending_.lines.clear();
  pending_.records.clear();
}

void StreamWriter::Drain() {
  if (!transform_thread_.joinable()) return;
  Hand();
  // The transform thread queues a chunk's output before it is done with the
  // chunk: once it is drained, all output is with the compress thread.
  to_transform_.Drain();
  to_compress_.Drain();
}

void StreamWriter::RunTransforms() {
  Chunk chunk;
  while (to_transform_.Pop(chunk)) {
    size_t begin = 0;
    for (const auto& [end, ts] : chunk.records) {
      Process(ts, std::string_view(chunk.lines).substr(begin, end - begin));
      begin = end;
    }
    if (chunk.commit) {
      // The transforms' own checkpoints as of this point go with the source's.
      for (CheckpointUpdate& u : std::exchange(checkpoints_, {})) chunk.commit->updates.push_back(std::move(u));
      output_.commit = std::move(chunk.commit);
    }
    output_ = to_compress_.Push(std::move(output_));
    output_.streams.resize(builders_.size());
    output_.commit.reset();
    for (Staged& st : output_.streams) {
      st.lines.clear();
      st.ts.clear();
    }
    to_transform_.Done(std::move(chunk));
  }
}

void StreamWriter::RunCompression() {
  Output output;
  while (to_compress_.Pop(output)) {
    for (size_t i = 0; i < output.streams.size(); ++i) {
      const Staged& st = output.streams[i];
      if (st.ts.empty()) continue;
      BatchBuilder& b = *builders_[i];
      b.staging() += st.lines;
      for (int64_t ts : st.ts) b.EndRecord(ts);
    }
    if (output.commit) {
      CommitOutput(*output.commit);
      output.commit.reset();
    }
    to_compress_.Done(std::move(output));
  }
}

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
  pending_bytes_ += line.size();
  pending_.lines += line;
  pending_.records.emplace_back(pending_.lines.size(), ts_ms);
  if (pending_.records.size() >= kChunkRecords || pending_.lines.size() >= kChunkBytes) Hand();
}

void StreamWriter::Process(int64_t ts_ms, std::string_view line) {
  if (own_slot_ >= 0) {
    Out(own_slot_).lines += line;
    Out(own_slot_).ts.push_back(ts_ms);
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
    // Warned about at most every 10 s: such records tend to come in runs.
    if (unreadable_ != nullptr) unreadable_->Inc();
    ++unreadable_unwarned_;
    const auto now = std::chrono::steady_clock::now();
    if (last_unreadable_warning_ == std::chrono::steady_clock::time_point{} ||
        now - last_unreadable_warning_ >= std::chrono::seconds(10)) {
      log_->warn(
          "{} record(s) of source {} not readable by the transforms (the last: {}); they are kept only in the "
          "source's stream",
          unreadable_unwarned_, source_, doc.status().message());
      unreadable_unwarned_ = 0;
      last_unreadable_warning_ = now;
    }
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
    if (n.slot >= 0) {
      Staged& st = Out(n.slot);
      if (copy.doc.edited()) {
        copy.doc.Write(st.lines);
        st.lines += '\n';
      } else {
        st.lines += line;
      }
      st.ts.push_back(copy.ts_ms);
    }
    // `line` stands for the record only while nothing edited it; an edited
    // record is written from its document where it is stored.
    if (!n.children.empty()) Route(n.children, copy, copy.doc.edited() ? std::string_view() : line);
  }
}

void StreamWriter::Event(int64_t ts_ms, std::string_view fields_json) {
  if (events_total_ != nullptr) events_total_->Inc();
  if (events_slot_ < 0) return;
  Staged& st = Out(events_slot_);
  std::string& out = st.lines;
  out += R"({"ts":")";
  out += FormatTimestampMs(ts_ms);
  out += "\",";
  out += host_member_;
  out += fields_json;
  out += "}\n";
  st.ts.push_back(ts_ms);
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
  if (direct_) return own_->raw_bytes();
  // The source's lines since the last commit: what the streams will hold is
  // known only once the pipeline is through them, and a batch is cut by what
  // was read.
  return pending_bytes_;
}

Result<std::vector<StreamBatch>> StreamWriter::Finish() {
  Drain();
  records_in_ = 0;
  pending_bytes_ = 0;
  return TakeBatches();
}

Result<std::vector<StreamBatch>> StreamWriter::TakeBatches() {
  std::vector<StreamBatch> out;
  const auto take = [&](const std::string& stream, BatchBuilder& b) -> Status {
    if (b.empty()) return Status::Ok();
    Result<EncodedBatch> batch = b.Finish();
    if (!batch.ok()) return batch.status();
    out.push_back({stream, std::move(batch).value()});
    return Status::Ok();
  };
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

std::vector<CheckpointUpdate> StreamWriter::TakeCheckpoints() {
  Drain();
  return std::exchange(checkpoints_, {});
}

Status StreamWriter::Commit(std::vector<CheckpointUpdate> updates, CommitFn commit) {
  if (!transform_thread_.joinable()) {
    Result<std::vector<StreamBatch>> batches = Finish();
    if (!batches.ok()) return batches.status();
    return commit(std::move(batches).value(), std::move(updates));
  }
  if (Status s = FirstError(); !s.ok()) return s;
  Hand();
  Chunk marker;
  marker.commit = std::make_unique<PendingCommit>(PendingCommit{std::move(updates), std::move(commit)});
  pending_ = to_transform_.Push(std::move(marker));
  pending_.lines.clear();
  pending_.records.clear();
  records_in_ = 0;
  pending_bytes_ = 0;
  return Status::Ok();
}

Status StreamWriter::Flush() {
  Drain();
  return FirstError();
}

Status StreamWriter::FirstError() {
  std::lock_guard lock(error_mu_);
  return error_;
}

// On the compress thread, where the commit marker arrived: everything before
// it is in the batches.
void StreamWriter::CommitOutput(PendingCommit& c) {
  Status s;
  Result<std::vector<StreamBatch>> batches = TakeBatches();
  if (!batches.ok()) {
    s = batches.status();
  } else {
    s = c.commit(std::move(batches).value(), std::move(c.updates));
  }
  if (!s.ok()) {
    std::lock_guard lock(error_mu_);
    if (error_.ok()) error_ = s;
  }
}

}  // namespace sluice
