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
// Not thread-safe: it belongs to its source's thread (the MQTT source locks
// around it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/buffer/batch_builder.h"
#include "agent/buffer/buffer.h"
#include "agent/transforms/transform.h"
#include "core/log/log.h"
#include "core/metrics/metrics.h"

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
  // Uncompressed bytes held across all streams.
  uint64_t raw_bytes() const;

  // One batch per stream that holds records; the writer is empty after.
  Result<std::vector<StreamBatch>> Finish();
  // Checkpoint updates transforms asked for since the last call.
  std::vector<CheckpointUpdate> TakeCheckpoints();

 private:
  struct Node;
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
};

}  // namespace sluice
