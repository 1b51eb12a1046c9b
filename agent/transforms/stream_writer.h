// Where a source's records go before the buffer. Each source writes through
// one StreamWriter: into its own stream when a sink takes the source, and
// through every transform downstream of it, each transform's output being a
// stream of its own (when a sink takes it), plus _events. Finish hands over
// one batch per stream; the source commits them with its checkpoint in one
// transaction (Buffer::Commit), so every stream holds a record exactly when
// the source's checkpoint has passed it.
//
// Without transforms downstream, the writer is the source's BatchBuilder as
// before (direct(): encode straight into staging()), and costs nothing more.
//
// With transforms, the work is a pipeline of three threads: the source's
// (Add copies lines into a chunk), a transform thread (runs each chunk
// through the transforms, writing each stream's lines) and a compress thread
// (appends them to the streams' zstd batches). On a 2-core device the
// transforms and zstd each take about as long as reading and encoding the
// lines, so each stage gets a core's share. Finish and TakeCheckpoints wait
// for both threads to finish what they were given, so what they hand over is
// exactly what was added. The transforms' state is touched by the transform
// thread only, the batches by the compress thread only (and both by the
// caller while the pipeline is drained); the handoffs are StageQueues.
//
// Not thread-safe: its methods belong to one caller at a time (the source's
// thread; the MQTT source locks around it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/buffer/batch_builder.h"
#include "agent/buffer/buffer.h"
#include "agent/transforms/transform.h"
#include "core/log/log.h"
#include "core/metrics/metrics.h"
#include "core/util/stage_queue.h"

namespace sluice {

// The agent's transforms for one run: their factories, who takes what, and
// which streams sinks read (only those are stored).
struct TransformTopology {
  std::map<std::string, std::unique_ptr<TransformFactory>, std::less<>> factories;
  // input (a source or a transform) -> the transforms that take it, in config order
  std::map<std::string, std::vector<std::string>, std::less<>> consumers;
  std::set<std::string, std::less<>> stored;  // streams some sink takes
  std::string host;
  MetricsRegistry* metrics = nullptr;
};

// Makes the factories of `transforms` for one run. `stored` names the
// streams sinks take.
Result<TransformTopology> BuildTransformTopology(const std::vector<TransformSpec>& transforms,
                                                 std::set<std::string, std::less<>> stored, const std::string& host,
                                                 MetricsRegistry* metrics, const Logger& log, Buffer* buffer);

class StreamWriter : private TransformOutput {
 public:
  // `topology` may be null (no transforms: the source's own stream only).
  StreamWriter(std::string source, const TransformTopology* topology, Logger log, int zstd_level = 1);
  ~StreamWriter() override;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // No transforms downstream: append the record's line (with its '\n') to
  // staging(), then call EndRecord.
  bool direct() const { return direct_; }
  std::string& staging() { return own_->staging(); }
  void EndRecord(int64_t ts_ms);

  // One record: `line` is the source's JSON line with its '\n'. Works in both modes.
  void Add(int64_t ts_ms, std::string_view line);

  // Records added since the last Finish (whatever the transforms kept).
  uint64_t records() const { return records_in_; }
  bool empty() const { return records_in_ == 0; }
  // Uncompressed bytes held across all streams; with transforms, the bytes
  // of the lines added since the last commit.
  uint64_t raw_bytes() const;

  // One batch per stream that holds records; the writer is empty after.
  // With transforms it waits for the pipeline to finish what it was given.
  Result<std::vector<StreamBatch>> Finish();
  // Checkpoint updates transforms asked for since the last call.
  std::vector<CheckpointUpdate> TakeCheckpoints();

  // Finish without waiting: `commit` gets the batches of everything added so
  // far and `updates` plus the transforms' checkpoint updates as of this
  // point, in order with other commits. With transforms it runs on the
  // pipeline's compress thread once the batches are ready, so the source
  // reads on meanwhile; without, here. Returns the first error a `commit`
  // (or making a batch) returned; the writer is not to be used after one.
  using CommitFn = std::function<Status(std::vector<StreamBatch>, std::vector<CheckpointUpdate>)>;
  Status Commit(std::vector<CheckpointUpdate> updates, CommitFn commit);
  // Waits until every commit handed over was made; the first error.
  Status Flush();

 private:
  struct Node;
  struct PendingCommit {
    std::vector<CheckpointUpdate> updates;
    CommitFn commit;
  };
  // Lines handed to the transform thread: one record per (end offset, ts);
  // then, when set, a commit of everything up to here.
  struct Chunk {
    std::string lines;
    std::vector<std::pair<size_t, int64_t>> records;
    std::unique_ptr<PendingCommit> commit;
  };
  // One stream's records from a chunk, for the compress thread: its lines
  // (each with its '\n') and their timestamps.
  struct Staged {
    std::string lines;
    std::vector<int64_t> ts;
  };
  // What the transform thread made of a chunk: per stream, in the order of
  // builders_; and the chunk's commit.
  struct Output {
    std::vector<Staged> streams;
    std::unique_ptr<PendingCommit> commit;
  };
  void Process(int64_t ts_ms, std::string_view line);
  Staged& Out(int slot) { return output_.streams[static_cast<size_t>(slot)]; }
  Result<std::vector<StreamBatch>> TakeBatches();
  void CommitOutput(PendingCommit& c);
  Status FirstError();
  void Hand();
  void Drain();
  void RunTransforms();
  void RunCompression();
  void Route(std::vector<std::unique_ptr<Node>>& nodes, TransformRecord& record, std::string_view line);
  std::unique_ptr<Node> Build(const std::string& transform, const TransformTopology& t, int zstd_level, int depth);

  void Event(int64_t ts_ms, std::string_view fields_json) override;
  void Checkpoint(std::string key, std::optional<std::string> value) override;

  std::string source_;
  std::string host_member_;
  Logger log_;
  bool direct_ = true;
  std::unique_ptr<BatchBuilder> own_;     // null when no sink takes the source itself
  std::unique_ptr<BatchBuilder> events_;  // null when no sink takes _events
  std::vector<std::unique_ptr<Node>> roots_;
  JsonParsers parsers_;
  uint64_t records_in_ = 0;
  std::vector<CheckpointUpdate> checkpoints_;
  Counter* unreadable_ = nullptr;
  Counter* events_total_ = nullptr;
  uint64_t unreadable_unwarned_ = 0;
  std::chrono::steady_clock::time_point last_unreadable_warning_{};

  // The pipeline (transforms only).
  std::vector<BatchBuilder*> builders_;  // every stream's batch; a stream's slot is its index
  int own_slot_ = -1;
  int events_slot_ = -1;
  Chunk pending_;  // the caller's: lines not handed over yet
  Output output_;  // the transform thread's: what the chunk in hand produced
  // Bounded, so what is in flight stays a few chunks (a few MiB): the source
  // waits beyond. The second is deeper: a commit waiting for the one before
  // it stops the compress thread, and the transforms should go on meanwhile.
  StageQueue<Chunk> to_transform_{2};
  StageQueue<Output> to_compress_{4};
  uint64_t pending_bytes_ = 0;  // the caller's: bytes of the lines added since the last commit
  std::mutex error_mu_;
  Status error_;  // under error_mu_: the first commit that failed
  std::thread transform_thread_;
  std::thread compress_thread_;
};

}  // namespace sluice
