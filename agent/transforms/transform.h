// A transform changes, drops or observes records between a source and the
// buffer ([transforms.NAME] with `inputs`). Transforms run in the pipeline of
// the source whose records they see (StreamWriter), before the buffer: what a
// transform outputs is stored as a stream of its own, in the same transaction
// as the source's checkpoint, so a crash never loses or repeats a transformed
// record.
//
// Each of a source's transform workers gets its own Transform instances
// (TransformFactory::NewInstance), so scratch state (parsers, regex match
// blocks) needs no lock. State that spans instances (sample counts, throttle
// buckets, schema fingerprints, gap clocks) lives in the factory and locks
// itself: the workers of one source run at once, on chunks of its records.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/record/json_record.h"  // AppendJsonText, for events
#include "agent/transforms/json_doc.h"
#include "core/log/log.h"
#include "core/metrics/metrics.h"
#include "core/status.h"

namespace sluice {

// The stream every transform's events go to; sinks take it like any input.
inline constexpr std::string_view kEventsStream = "_events";

// A record as transforms see it: the record's JSON line under edit (see
// DESIGN.md's record format: ts, source, host, path or topic, msg or payload).
struct TransformRecord {
  int64_t ts_ms = 0;
  std::string_view source;  // the source that read it
  JsonDoc doc;
};

// The record's file path (tail) or MQTT topic; empty when it has neither.
std::string RecordOrigin(const TransformRecord& record);

// What a transform can produce besides the record.
class TransformOutput {
 public:
  virtual ~TransformOutput() = default;
  // Appends one event record to _events. `fields_json` is the event's own
  // members as JSON object members without braces (`"event":"gap",...`).
  virtual void Event(int64_t ts_ms, std::string_view fields_json) = 0;
  // A checkpoint of the source's, committed with the batch this record is in.
  virtual void Checkpoint(std::string key, std::optional<std::string> value) = 0;
};

// Tokens for a record's fields without a document: what tokenize offers the
// worker's fused path for tailed JSON lines (fused_json_line.h).
class FieldTokens {
 public:
  virtual ~FieldTokens() = default;
  // The fields, in the order Apply tokenizes them.
  virtual const std::vector<JsonPath>& fields() const = 0;
  // Appends the JSON string that replaces `value` (a string's unescaped
  // bytes, a number's or bool's text) in `fields()[field]`, exactly what Apply
  // would set; false when it cannot be made (Apply then counts the failure).
  virtual bool AppendToken(size_t field, std::string_view value, std::string& out) = 0;
  // Counts `n` field values tokenized, as Apply counts them.
  virtual void Tokenized(uint64_t n) = 0;
};

class Transform {
 public:
  virtual ~Transform() = default;
  // Returns false to drop the record here (sample, throttle, or a record a
  // privacy transform cannot read).
  virtual bool Apply(TransformRecord& record, TransformOutput& out) = 0;
  // After each batch of records the pipeline hands over: counters the
  // instance counted per record (CounterShare) reach the registry here.
  virtual void Flush() {}

  // What the worker's fused path for tailed JSON lines asks of the transforms
  // of a chain (fused_json_line.h). A parse of a tailed record's msg as JSON
  // into a top-level key other than the envelope's, the msg removed, names
  // that key; tokenize offers its tokens. Every other transform (and parse or
  // tokenize set up otherwise) says nothing, and records take the general path.
  virtual const std::string* JsonLineTarget() const { return nullptr; }
  virtual FieldTokens* TopLevelTokens() { return nullptr; }
};

class Buffer;

struct TransformContext {
  std::string name;  // [transforms.NAME]
  MetricsRegistry* metrics = nullptr;
  Logger log;
  std::string host;  // the agent's host, for event records
  // For events no record carries (a gap noticed by a timer), committed to
  // _events directly; null in tests without a buffer. events_stored: a sink takes _events.
  Buffer* buffer = nullptr;
  bool events_stored = false;
};

// One per [transforms.NAME] per agent run.
class TransformFactory {
 public:
  virtual ~TransformFactory() = default;
  virtual std::unique_ptr<Transform> NewInstance() = 0;
  // True when the transform compares each record with the ones before it
  // (schema shapes, gap clocks, rate buckets): a source's records then go
  // through one worker, in order. The others (parse, redact, tokenize,
  // sample) let chunks of records run on several workers at once.
  virtual bool ordered() const { return false; }
  // True when the transform puts random-looking text in its records (tokens):
  // its stream, and the streams of transforms after it, are compressed with
  // settings measured for such text (stream_writer.cpp, StreamSlot).
  virtual bool writes_tokens() const { return false; }
  // Called once at start for each source feeding this transform, with that
  // source's checkpoints (e.g. schema fingerprints saved by Checkpoint).
  virtual void Restore(std::string_view /*source*/, const std::map<std::string, std::string>& /*checkpoints*/) {}
};

// Makes a transform's factory when the agent starts (reading its key files
// and such again); an error stops the start.
using TransformBuilder = std::function<Result<std::unique_ptr<TransformFactory>>(const TransformContext&)>;

// One [transforms.NAME] as the configuration reads it.
struct TransformSpec {
  std::string name;
  std::string type;
  std::vector<std::string> inputs;  // sources or transforms
  TransformBuilder build;
};

}  // namespace sluice
