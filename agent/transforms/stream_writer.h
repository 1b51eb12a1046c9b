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
// With transforms, the work is a pipeline: the source's thread (Add copies
// lines into a chunk), transform workers (each runs whole chunks through its
// own instances of the transforms, writing each stream's lines, and
// compresses what a chunk made into one zstd frame per stream) and a collect
// thread (appends the frames to the streams' batches and makes the commits).
// The transforms and the compression cost many times what reading the lines
// does, so on a 2-core device one transform thread was the pipeline's
// bottleneck with a core half idle; each worker takes the next chunk when it
// is free, and the collect thread puts the outputs back in the chunks' order,
// so every stream keeps the source's order. (Unless a transform downstream
// compares records with the ones before them, TransformFactory::ordered:
// then one worker sees them all in order.) Compressing in the workers rather
// than in a stage of its own keeps both cores on the transforms: a separate
// compress thread was a third busy thread on two cores, preempting the
// workers and starving them in turn.
// A commit travels as a chunk of its own in that order too: when the
// collect thread reaches it, everything before it is in the batches.
// Finish and TakeCheckpoints wait for the pipeline to finish what it was
// given, so what they hand over is exactly what was added. A worker's
// transforms and builders are touched by that worker only, the batches by
// the collect thread only (and both by the caller while the pipeline is
// drained); the handoffs are StageQueues. State transforms share across
// instances lives in their factories, which lock it
// (agent/transforms/transform.h).
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
#include "agent/record/json_record.h"
#include "agent/transforms/transform.h"
#include "core/log/log.h"
#include "core/metrics/metrics.h"
#include "core/util/permits.h"
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
  // Transform workers per source; 0: one per core, at most kMaxTransformWorkers.
  int workers = 0;
  // Tailed JSON lines through parse -> tokenize take the fused path where it
  // fits (fused_json_line.h); false: every record takes the general path (for
  // the tests that compare the two).
  bool fuse_json_lines = true;
};

inline constexpr int kMaxTransformWorkers = 2;

// Makes the factories of `transforms` for one run. `stored` names the
// streams sinks take.
Result<TransformTopology> BuildTransformTopology(const std::vector<TransformSpec>& transforms,
                                                 std::set<std::string, std::less<>> stored, const std::string& host,
                                                 MetricsRegistry* metrics, const Logger& log, Buffer* buffer);

class StreamWriter {
 public:
  // `topology` may be null (no transforms: the source's own stream only).
  StreamWriter(std::string source, const TransformTopology* topology, Logger log, int zstd_level = 1);
  ~StreamWriter();
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // No transforms downstream: append the record's line (with its '\n') to
  // staging(), then call EndRecord.
  bool direct() const { return direct_; }
  std::string& staging() { return own_->staging(); }
  void EndRecord(int64_t ts_ms);

  // One record: `line` is the source's JSON line with its '\n'. Works in both modes.
  void Add(int64_t ts_ms, std::string_view line);
  // One log line read from `path` (without its line end): the record of
  // DESIGN.md's format is made of it where it is needed. The transforms get
  // a document of the line's envelope with the line as its msg, so neither
  // the source's thread escapes a line that the transforms would read back
  // (and parse usually drops), nor a worker parses the envelope around it.
  // For parse(json) -> tokenize, the worker writes the record from the line
  // itself (fused_json_line.h).
  // The record's host is the topology's (without transforms, direct(), the
  // source encodes its records into staging() itself).
  void AddLogLine(int64_t ts_ms, std::string_view path, std::string_view line);

  // Transform threads (0 without transforms).
  int workers() const { return static_cast<int>(workers_.size()); }
  // Records written by the fused path so far (fused_json_line.h), as of the
  // last chunk the workers finished.
  uint64_t fused_records() const;

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
  // pipeline's collect thread once the batches are ready, so the source
  // reads on meanwhile; without, here. Returns the first error a `commit`
  // (or making a batch) returned; the writer is not to be used after one.
  using CommitFn = std::function<Status(std::vector<StreamBatch>, std::vector<CheckpointUpdate>)>;
  Status Commit(std::vector<CheckpointUpdate> updates, CommitFn commit);
  // Waits until every commit handed over was made; the first error.
  Status Flush();

 private:
  struct Node;
  struct Worker;
  struct PendingCommit {
    std::vector<CheckpointUpdate> updates;
    CommitFn commit;
  };
  // Lines handed to a worker: one record per (end offset, ts); or, when
  // `commit` is set, a commit of everything before it.
  // With `log_lines`, the records are the raw lines of the file at `path`
  // (AddLogLine), else JSON lines with their '\n' (Add).
  struct Chunk {
    std::string lines;
    std::vector<std::pair<size_t, int64_t>> records;
    std::unique_ptr<PendingCommit> commit;
    bool log_lines = false;
    std::string path;
    uint64_t seq = 0;  // handed over in this order
  };
  // What a worker made of a chunk: per stream, in the order of streams_, its
  // records compressed (a zstd frame, or nothing); the checkpoints its
  // transforms asked for meanwhile; and the chunk's commit.
  struct Output {
    std::vector<EncodedBatch> streams;
    std::vector<CheckpointUpdate> checkpoints;
    std::unique_ptr<PendingCommit> commit;
    Status error;      // a frame could not be made
    uint64_t seq = 0;  // the chunk's
  };
  struct Stream {
    std::string name;
    std::unique_ptr<BatchBuilder> builder;
    int hash_log = 0;  // BatchBuilder's, for this stream's builders (the workers' too)
  };
  Result<std::vector<StreamBatch>> TakeBatches();
  void CommitOutput(PendingCommit& c);
  Status FirstError();
  Chunk Hand(Chunk chunk);
  void HandPending();
  void Drain();
  void RunCollector();
  void Collect(Output& output);
  int StreamSlot(const std::string& name, int zstd_level, bool tokens = false);
  std::unique_ptr<Node> Build(const std::string& transform, const TransformTopology& t, int zstd_level, bool tokens,
                              int depth);

  std::string source_;
  std::string host_;
  std::string host_member_;    // the event records' `"host":...,`
  JsonRecordEncoder encoder_;  // AddLogLine's, without transforms
  Logger log_;
  bool direct_ = true;
  bool ordered_ = false;         // a transform downstream needs the records in order: one worker
  BatchBuilder* own_ = nullptr;  // in streams_; null when no sink takes the source itself
  uint64_t records_in_ = 0;
  Counter* unreadable_ = nullptr;
  Counter* events_total_ = nullptr;

  // Every stream's batch; a stream's slot is its index. Touched by the
  // collect thread (or the caller while the pipeline is drained).
  std::vector<Stream> streams_;
  int own_slot_ = -1;
  int events_slot_ = -1;
  // The transforms' checkpoints the collect thread gathered from outputs
  // since the last commit.
  std::vector<CheckpointUpdate> checkpoints_;

  // The pipeline (transforms only).
  std::vector<std::unique_ptr<Worker>> workers_;
  // Chunks in flight, from Hand until the collect thread took their output:
  // a bound on the memory they hold (a few MiB) and on how far a worker can
  // get ahead of a slower one while the collect thread waits for its turn.
  static constexpr int kWindow = 8;
  Permits window_{kWindow};
  // The workers take whichever chunk is next, so one that a slow record or
  // the scheduler held up does not leave the other idle while the source
  // waits on its queue (as dealing chunks in turn did: perf sched showed
  // each worker asleep a third of the time).
  StageQueue<Chunk> chunks_{kWindow};
  StageQueue<Output> outputs_{kWindow};  // never full: the window bounds them
  uint64_t next_seq_ = 0;                // the caller's
  Chunk pending_;                        // the caller's: lines not handed over yet
  uint64_t pending_bytes_ = 0;           // the caller's: bytes of the lines added since the last commit
  std::mutex error_mu_;
  Status error_;  // under error_mu_: the first commit that failed
  std::thread collect_thread_;
};

}  // namespace sluice
