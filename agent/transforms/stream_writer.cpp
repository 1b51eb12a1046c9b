#include "agent/transforms/stream_writer.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <utility>

#include "agent/record/json_record.h"
#include "agent/transforms/fused_json_line.h"
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
  int slot = -1;  // the stream's in streams_; -1 when no sink takes this transform's stream
  std::vector<std::unique_ptr<Node>> children;
  // The registry's per-transform counters, through this worker's shares (the
  // node is the worker's own): flushed after each chunk.
  CounterShare in;
  CounterShare out;
};

// One transform thread: its own instances of the transforms and their
// scratch, a builder per stream (whose frames it hands on), and what it made
// of the chunk in hand.
struct StreamWriter::Worker final : TransformOutput {
  Worker(const StreamWriter& w, StageQueue<Chunk>& chunks, StageQueue<Output>& outputs)
      : writer(w), in(chunks), out(outputs) {}
  void Run();
  void Process(int64_t ts_ms, std::string_view line);
  void ProcessLogLine(int64_t ts_ms, std::string_view path, std::string_view line);
  // Takes the fused path for tailed JSON lines when `roots` is one chain it fits.
  void SetUpFused();
  void Unreadable(const Status& why);
  void Route(std::vector<std::unique_ptr<Node>>& nodes, TransformRecord& record, std::string_view line);
  BatchBuilder& Out(int slot) { return *builders[static_cast<size_t>(slot)]; }
  // Ends the chunk's frames into output.
  void FinishFrames();
  void FlushCounters(std::vector<std::unique_ptr<Node>>& nodes);
  void Event(int64_t ts_ms, std::string_view fields_json) override;
  void Checkpoint(std::string key, std::optional<std::string> value) override;

  const StreamWriter& writer;  // read only: what the constructor set up
  std::vector<std::unique_ptr<Node>> roots;
  JsonParsers parsers;
  std::vector<std::unique_ptr<BatchBuilder>> builders;  // per stream slot
  Output output;                                        // for the chunk in hand
  StageQueue<Chunk>& in;                                // the writer's, shared by the workers
  StageQueue<Output>& out;
  uint64_t unreadable_unwarned = 0;
  std::chrono::steady_clock::time_point last_unreadable_warning{};
  // Log lines: the source's own records, and their envelope for the
  // transforms, `{"ts":"","source":...,"host":...,"path":...,"msg":""}`, of
  // the file last seen (whose ts and msg each record sets).
  JsonRecordEncoder encoder;
  std::string envelope_path;
  std::string envelope;
  int64_t ts_ms_rendered = std::numeric_limits<int64_t>::min();
  std::string ts_json;   // ts_ms_rendered as a JSON string
  std::string msg_json;  // scratch: a msg that is not UTF-8, as JSON
  // The fused path (fused_json_line.h): parse(json) -> tokenize, stored,
  // as the whole tree. envelope_rest: the envelope's members between ts and msg.
  std::unique_ptr<FusedJsonLine> fused;
  Node* fused_parse = nullptr;
  Node* fused_tokenize = nullptr;
  std::string envelope_rest;
  uint64_t fused_in_chunk = 0;
  std::atomic<uint64_t> fused_records{0};
  std::thread thread;
};

// A stream whose records carry tokens (64 random hex digits per field) is
// compressed with a hash table of 2^12 entries instead of level 1's 2^14:
// the tokens' positions fill a table that never finds a match in them, and
// 16 KiB stays in L1 where 64 KiB does not. On transformed records of
// bench/agent_transforms.sh zstd runs 17% faster at the same ratio, and the
// agent spends 5-8% less CPU; on telemetry and log records without tokens
// the smaller table would cost up to 1.6% of the ratio, so their streams keep
// the level's (bench/README, transforms, "zstd's hash table").
constexpr int kTokenStreamHashLog = 12;

int StreamWriter::StreamSlot(const std::string& name, int zstd_level, bool tokens) {
  const int hash_log = tokens ? kTokenStreamHashLog : 0;
  for (size_t i = 0; i < streams_.size(); ++i) {
    if (streams_[i].name != name) continue;
    // Reached again by a path with tokens: the stream has them. Nothing is
    // staged yet while the writer is being built.
    if (hash_log != 0 && streams_[i].hash_log == 0) {
      streams_[i].hash_log = hash_log;
      streams_[i].builder = std::make_unique<BatchBuilder>(zstd_level, hash_log);
    }
    return static_cast<int>(i);
  }
  streams_.push_back({name, std::make_unique<BatchBuilder>(zstd_level, hash_log), hash_log});
  return static_cast<int>(streams_.size()) - 1;
}

std::unique_ptr<StreamWriter::Node> StreamWriter::Build(const std::string& transform, const TransformTopology& t,
                                                        int zstd_level, bool tokens, int depth) {
  // The configuration refuses cycles; this only guards against a bug there.
  if (depth > 64) return nullptr;
  auto f = t.factories.find(transform);
  if (f == t.factories.end()) return nullptr;
  auto node = std::make_unique<Node>();
  node->name = transform;
  node->transform = f->second->NewInstance();
  tokens = tokens || f->second->writes_tokens();
  if (t.stored.contains(transform)) node->slot = StreamSlot(transform, zstd_level, tokens);
  if (f->second->ordered()) ordered_ = true;
  if (t.metrics != nullptr) {
    node->in = CounterShare(&t.metrics->GetCounter("sluice_transform_records_in_total", "Records a transform was given",
                                                   {{"transform", transform}}));
    node->out = CounterShare(&t.metrics->GetCounter("sluice_transform_records_out_total",
                                                    "Records a transform passed on (the others it dropped)",
                                                    {{"transform", transform}}));
  }
  if (auto c = t.consumers.find(transform); c != t.consumers.end()) {
    for (const std::string& child : c->second) {
      if (std::unique_ptr<Node> n = Build(child, t, zstd_level, tokens, depth + 1)) {
        node->children.push_back(std::move(n));
      }
    }
  }
  return node;
}

namespace {

int TransformWorkers(const TransformTopology& t) {
  if (t.workers > 0) return t.workers;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores, 1, kMaxTransformWorkers);
}

}  // namespace

StreamWriter::StreamWriter(std::string source, const TransformTopology* topology, Logger log, int zstd_level)
    : source_(std::move(source)), host_(topology != nullptr ? topology->host : std::string()), log_(std::move(log)) {
  const std::vector<std::string>* consumers = nullptr;
  if (topology != nullptr) {
    if (auto c = topology->consumers.find(source_); c != topology->consumers.end()) consumers = &c->second;
  }
  direct_ = consumers == nullptr || consumers->empty();
  if (direct_ || topology->stored.contains(source_)) {
    own_slot_ = StreamSlot(source_, zstd_level);
    own_ = streams_[static_cast<size_t>(own_slot_)].builder.get();
  }
  if (direct_) return;

  // The event records' host member, rendered once: {"ts":...,"host":...,<fields>}.
  host_member_ = R"("host":)";
  AppendJsonText(host_member_, topology->host);
  host_member_ += ',';
  if (topology->stored.contains(kEventsStream)) events_slot_ = StreamSlot(std::string(kEventsStream), zstd_level);
  if (topology->metrics != nullptr) {
    unreadable_ = &topology->metrics->GetCounter(
        "sluice_transform_unreadable_records_total",
        "Records the transforms could not read as JSON (stored only in the source's own stream)",
        {{"source", source_}});
    events_total_ = &topology->metrics->GetCounter("sluice_transform_events_total", "Event records written to _events",
                                                   {{"source", source_}});
  }
  // ordered_ is known once the first worker's transforms are built.
  for (int i = 0; i == 0 || i < (ordered_ ? 1 : TransformWorkers(*topology)); ++i) {
    auto w = std::make_unique<Worker>(*this, chunks_, outputs_);
    for (const std::string& t : *consumers) {
      if (std::unique_ptr<Node> node = Build(t, *topology, zstd_level, false, 0)) w->roots.push_back(std::move(node));
    }
    if (topology->fuse_json_lines) w->SetUpFused();
    workers_.push_back(std::move(w));
  }
  // Every stream has its slot now (the workers' trees name the same streams).
  for (auto& w : workers_) {
    w->output.streams.resize(streams_.size());
    for (const Stream& s : streams_) w->builders.push_back(std::make_unique<BatchBuilder>(zstd_level, s.hash_log));
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    w->thread = std::thread([this, w, i] {
      SetThreadName("xf" + (workers_.size() > 1 ? std::to_string(i) : std::string()) + ":" + source_);
      w->Run();
    });
  }
  collect_thread_ = std::thread([this] {
    SetThreadName("collect:" + source_);
    RunCollector();
  });
}

StreamWriter::~StreamWriter() {
  if (workers_.empty()) return;
  chunks_.Close();
  for (auto& w : workers_) w->thread.join();
  outputs_.Close();
  collect_thread_.join();
}

// A chunk is handed over at this many records or bytes: large enough that the
// handoffs (each wakes a thread) are rare, small enough that the workers
// start while the source is still reading. Measured with
// bench/agent_transforms.sh: 256 records gave 160k records/s, 1024 200k.
constexpr size_t kChunkRecords = 1024;
constexpr size_t kChunkBytes = 512 * 1024;

// Chunks (and commits) are numbered in the order they are handed over; the
// collect thread puts the outputs back in that order.
StreamWriter::Chunk StreamWriter::Hand(Chunk chunk) {
  window_.Acquire();
  chunk.seq = next_seq_++;
  Chunk spare = chunks_.Push(std::move(chunk));
  spare.lines.clear();
  spare.records.clear();
  spare.commit.reset();
  return spare;
}

void StreamWriter::HandPending() {
  if (!pending_.records.empty()) pending_ = Hand(std::move(pending_));
}

void StreamWriter::Drain() {
  if (workers_.empty()) return;
  HandPending();
  // A worker queues a chunk's output before it is done with the chunk: once
  // all are drained, all output is with the collect thread.
  chunks_.Drain();
  outputs_.Drain();
}

void StreamWriter::Worker::Run() {
  Chunk chunk;
  while (in.Pop(chunk)) {
    size_t begin = 0;
    for (const auto& [end, ts] : chunk.records) {
      const std::string_view line = std::string_view(chunk.lines).substr(begin, end - begin);
      if (chunk.log_lines) {
        ProcessLogLine(ts, chunk.path, line);
      } else {
        Process(ts, line);
      }
      begin = end;
    }
    // Before the output goes on: whoever sees the records stored sees them counted.
    FlushCounters(roots);
    fused_records.fetch_add(std::exchange(fused_in_chunk, 0), std::memory_order_relaxed);
    FinishFrames();
    output.seq = chunk.seq;
    output.commit = std::move(chunk.commit);
    output = out.Push(std::move(output));
    output.streams.resize(writer.streams_.size());
    output.checkpoints.clear();
    output.commit.reset();
    in.Done(std::move(chunk));
  }
}

void StreamWriter::Worker::FlushCounters(std::vector<std::unique_ptr<Node>>& nodes) {
  for (auto& n : nodes) {
    n->in.Flush();
    n->out.Flush();
    n->transform->Flush();
    FlushCounters(n->children);
  }
}

void StreamWriter::Worker::FinishFrames() {
  for (size_t i = 0; i < builders.size(); ++i) {
    Result<EncodedBatch> frame = builders[i]->Finish();
    // Only running out of memory makes zstd fail: the records are then lost
    // to the batch, which the collect thread reports as the commit's error.
    if (!frame.ok()) {
      output.error = frame.status();
      output.streams[i] = EncodedBatch{};
      continue;
    }
    output.streams[i] = std::move(frame).value();
  }
}

namespace {

// Sets `key` in `updates`, replacing an earlier update of it.
void MergeCheckpoint(std::vector<CheckpointUpdate>& updates, CheckpointUpdate u) {
  for (CheckpointUpdate& have : updates) {
    if (have.key == u.key) {
      have.value = std::move(u.value);
      return;
    }
  }
  updates.push_back(std::move(u));
}

}  // namespace

void StreamWriter::RunCollector() {
  // Outputs that came before their turn: at most the window's worth.
  std::map<uint64_t, Output> early;
  uint64_t next = 0;
  Output arrived;
  while (outputs_.Pop(arrived)) {
    early.emplace(arrived.seq, std::move(arrived));
    while (!early.empty() && early.begin()->first == next) {
      Output output = std::move(early.begin()->second);
      early.erase(early.begin());
      Collect(output);
      ++next;
      outputs_.Done(std::move(output));
      window_.Release();
    }
  }
}

void StreamWriter::Collect(Output& output) {
  for (size_t i = 0; i < output.streams.size(); ++i) {
    if (Status s = streams_[i].builder->Append(output.streams[i]); !s.ok() && output.error.ok()) output.error = s;
  }
  if (!output.error.ok()) {
    std::lock_guard lock(error_mu_);
    if (error_.ok()) error_ = output.error;
    output.error = Status::Ok();
  }
  for (CheckpointUpdate& u : output.checkpoints) MergeCheckpoint(checkpoints_, std::move(u));
  if (output.commit) {
    // The transforms' own checkpoints as of this point go with the source's.
    for (CheckpointUpdate& u : std::exchange(checkpoints_, {})) output.commit->updates.push_back(std::move(u));
    CommitOutput(*output.commit);
    output.commit.reset();
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
  if (pending_.log_lines) {
    HandPending();
    pending_.log_lines = false;
  }
  ++records_in_;
  pending_bytes_ += line.size();
  pending_.lines += line;
  pending_.records.emplace_back(pending_.lines.size(), ts_ms);
  if (pending_.records.size() >= kChunkRecords || pending_.lines.size() >= kChunkBytes) HandPending();
}

void StreamWriter::AddLogLine(int64_t ts_ms, std::string_view path, std::string_view line) {
  if (direct_) {
    encoder_.AppendLogLine(own_->staging(), ts_ms, source_, host_, path, line);
    EndRecord(ts_ms);
    return;
  }
  // A chunk holds one file's lines.
  if (!pending_.records.empty() && (!pending_.log_lines || pending_.path != path)) HandPending();
  if (pending_.records.empty()) {
    pending_.log_lines = true;
    pending_.path.assign(path);
  }
  ++records_in_;
  // What the record will take in the source's stream, about: the envelope's
  // members are some 60 bytes besides the path.
  pending_bytes_ += line.size() + path.size() + 64;
  pending_.lines += line;
  pending_.records.emplace_back(pending_.lines.size(), ts_ms);
  if (pending_.records.size() >= kChunkRecords || pending_.lines.size() >= kChunkBytes) HandPending();
}

namespace {

const JsonPath kEnvelopeTs{"ts"};
const JsonPath kEnvelopeMsg{"msg"};

}  // namespace

void StreamWriter::Worker::SetUpFused() {
  if (roots.size() != 1) return;
  Node& parse = *roots[0];
  const std::string* target = parse.transform->JsonLineTarget();
  if (target == nullptr || parse.slot >= 0 || parse.children.size() != 1) return;
  Node& tokenize = *parse.children[0];
  FieldTokens* tokens = tokenize.transform->TopLevelTokens();
  if (tokens == nullptr || tokenize.slot < 0 || !tokenize.children.empty() || !FusedJsonLine::Fits(*target, *tokens)) {
    return;
  }
  fused = std::make_unique<FusedJsonLine>(*target, *tokens);
  fused_parse = &parse;
  fused_tokenize = &tokenize;
}

void StreamWriter::Worker::ProcessLogLine(int64_t ts_ms, std::string_view path, std::string_view line) {
  if (writer.own_slot_ >= 0) {
    BatchBuilder& own = Out(writer.own_slot_);
    encoder.AppendLogLine(own.staging(), ts_ms, writer.source_, writer.host_, path, line);
    own.EndRecord(ts_ms);
  }
  if (envelope.empty() || envelope_path != path) {
    envelope_path.assign(path);
    envelope.assign(R"({"ts":"","source":)");
    AppendJsonText(envelope, writer.source_);
    envelope += R"(,"host":)";
    AppendJsonText(envelope, writer.host_);
    envelope += R"(,"path":)";
    AppendJsonText(envelope, path);
    envelope += R"(,"msg":""})";
    constexpr std::string_view kHead = R"({"ts":"")", kTail = R"(,"msg":""})";
    envelope_rest.assign(envelope, kHead.size(), envelope.size() - kHead.size() - kTail.size());
  }
  if (ts_ms != ts_ms_rendered) {
    ts_ms_rendered = ts_ms;
    ts_json.assign(1, '"');
    ts_json += FormatTimestampMs(ts_ms);
    ts_json += '"';
  }
  const bool utf8 = IsValidUtf8(line);
  if (fused != nullptr && utf8) {
    BatchBuilder& b = Out(fused_tokenize->slot);
    if (fused->Write(ts_json, envelope_rest, line, b.staging())) {
      b.staging() += '\n';
      b.EndRecord(ts_ms);
      fused_parse->in.Inc();
      fused_parse->out.Inc();
      fused_tokenize->in.Inc();
      fused_tokenize->out.Inc();
      ++fused_in_chunk;
      return;
    }
  }
  parsers.Reset();
  Result<JsonDoc> doc = JsonDoc::ParseKept(parsers, envelope);
  if (!doc.ok()) {
    Unreadable(doc.status());  // not expected: the envelope is ours
    return;
  }
  JsonDoc& d = doc.value();
  d.Set(kEnvelopeTs, ts_json);
  if (utf8) {
    d.SetString(kEnvelopeMsg, line);
  } else {
    msg_json.clear();
    AppendJsonText(msg_json, line);  // {"base64":...}, as the encoder writes it
    d.Set(kEnvelopeMsg, msg_json);
  }
  TransformRecord record{ts_ms, writer.source_, std::move(d)};
  Route(roots, record, {});
}

void StreamWriter::Worker::Unreadable(const Status& why) {
  // Warned about at most every 10 s: such records tend to come in runs.
  if (writer.unreadable_ != nullptr) writer.unreadable_->Inc();
  ++unreadable_unwarned;
  const auto now = std::chrono::steady_clock::now();
  if (last_unreadable_warning == std::chrono::steady_clock::time_point{} ||
      now - last_unreadable_warning >= std::chrono::seconds(10)) {
    writer.log_->warn(
        "{} record(s) of source {} not readable by the transforms (the last: {}); they are kept only in the "
        "source's stream",
        unreadable_unwarned, writer.source_, why.message());
    unreadable_unwarned = 0;
    last_unreadable_warning = now;
  }
}

void StreamWriter::Worker::Process(int64_t ts_ms, std::string_view line) {
  if (writer.own_slot_ >= 0) {
    BatchBuilder& own = Out(writer.own_slot_);
    own.staging() += line;
    own.EndRecord(ts_ms);
  }
  parsers.Reset();
  std::string_view json = line;
  if (!json.empty() && json.back() == '\n') json.remove_suffix(1);
  Result<JsonDoc> doc = JsonDoc::Parse(parsers, json);
  if (!doc.ok()) {
    // Our encoder writes valid JSON; what simdjson refuses is a number beyond
    // 64 bits or a double's range in an MQTT payload. Such a record is kept
    // in the source's own stream only: a privacy transform must not pass what
    // it cannot read.
    Unreadable(doc.status());
    return;
  }
  TransformRecord record{ts_ms, writer.source_, std::move(doc).value()};
  Route(roots, record, line);
}

void StreamWriter::Worker::Route(std::vector<std::unique_ptr<Node>>& nodes, TransformRecord& record,
                                 std::string_view line) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node& n = *nodes[i];
    // The last branch takes the record itself; the others a copy (which shares the parsed document).
    std::optional<TransformRecord> own;
    if (i + 1 < nodes.size()) own.emplace(record);
    TransformRecord& copy = own ? *own : record;
    n.in.Inc();
    if (!n.transform->Apply(copy, *this)) continue;
    n.out.Inc();
    if (n.slot >= 0) {
      BatchBuilder& b = Out(n.slot);
      if (copy.doc.edited()) {
        copy.doc.Write(b.staging());
        b.staging() += '\n';
      } else {
        b.staging() += line;
      }
      b.EndRecord(copy.ts_ms);
    }
    // `line` stands for the record only while nothing edited it; an edited
    // record is written from its document where it is stored.
    if (!n.children.empty()) Route(n.children, copy, copy.doc.edited() ? std::string_view() : line);
  }
}

void StreamWriter::Worker::Event(int64_t ts_ms, std::string_view fields_json) {
  if (writer.events_total_ != nullptr) writer.events_total_->Inc();
  if (writer.events_slot_ < 0) return;
  BatchBuilder& b = Out(writer.events_slot_);
  std::string& out_lines = b.staging();
  out_lines += R"({"ts":")";
  out_lines += FormatTimestampMs(ts_ms);
  out_lines += "\",";
  out_lines += writer.host_member_;
  out_lines += fields_json;
  out_lines += "}\n";
  b.EndRecord(ts_ms);
}

void StreamWriter::Worker::Checkpoint(std::string key, std::optional<std::string> value) {
  MergeCheckpoint(output.checkpoints, {std::move(key), std::move(value)});
}

uint64_t StreamWriter::fused_records() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->fused_records.load(std::memory_order_relaxed);
  return n;
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
  for (Stream& st : streams_) {
    if (st.builder->empty()) continue;
    Result<EncodedBatch> batch = st.builder->Finish();
    if (!batch.ok()) return batch.status();
    out.push_back({st.name, std::move(batch).value()});
  }
  return out;
}

std::vector<CheckpointUpdate> StreamWriter::TakeCheckpoints() {
  Drain();
  return std::exchange(checkpoints_, {});
}

Status StreamWriter::Commit(std::vector<CheckpointUpdate> updates, CommitFn commit) {
  if (workers_.empty()) {
    Result<std::vector<StreamBatch>> batches = Finish();
    if (!batches.ok()) return batches.status();
    return commit(std::move(batches).value(), std::move(updates));
  }
  if (Status s = FirstError(); !s.ok()) return s;
  HandPending();
  Chunk marker;
  marker.commit = std::make_unique<PendingCommit>(PendingCommit{std::move(updates), std::move(commit)});
  Hand(std::move(marker));  // its storage is a spare's: dropped
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
