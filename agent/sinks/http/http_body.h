// How records become request bodies, one format each (DESIGN.md's record is
// the stored JSON line; `encoding = "raw"` sends the bytes as read instead):
//   ndjson         record "\n" record "\n" ...                 application/x-ndjson
//   json_array     "[" record "," record "]"                   application/json
//   elasticsearch  action "\n" record "\n" ... (the _bulk API)  application/x-ndjson
//                  action: {"create":{"_index":"<index>","_id":"<batch id>-<n>"}}
//   splunk_hec     {"event":...,"time":...,"host":...,"source":...} "\n" ...  application/json
//                  event: the record's JSON object, or with raw its bytes as a
//                  string; time: the record's ts in epoch seconds (ms precision)
// A record is encoded once into its piece; a body is its pieces joined, so a
// request can be cut at any record boundary and its size known beforehand.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "agent/buffer/buffer.h"
#include "agent/sinks/http/http_sink_config.h"
#include "core/status.h"

namespace sluice {

class HttpBodyFormat {
 public:
  explicit HttpBodyFormat(const HttpSinkConfig& config);

  // One record's piece of a body (record `index` of batch `batch`). kCorrupt
  // when the record cannot travel in this format (a raw record without msg
  // or payload, raw bytes that are not UTF-8 for splunk_hec).
  Result<std::string> Encode(std::string_view json_line, const BatchInfo& batch, size_t index) const;

  // The bytes a body of `pieces` pieces has besides the pieces themselves.
  size_t Overhead(size_t pieces) const;
  // The body of `pieces`, in order.
  std::string Assemble(std::span<const std::string> pieces) const;

  const std::string& content_type() const { return content_type_; }

 private:
  Result<std::string> SplunkEvent(std::string_view json_line) const;

  HttpFormat format_;
  RecordEncoding encoding_;
  std::string content_type_;
  std::string open_, separator_, close_;  // around and between pieces
  std::string action_;                    // elasticsearch: {"create":{"_index":"x" (closed per record)
  bool document_ids_ = false;
  std::string splunk_fields_;  // splunk_hec: ,"index":...,"sourcetype":... (constant per sink)
};

// Epoch seconds with milliseconds ("1795255200.123") of an RFC 3339 UTC
// timestamp as the record's `ts` has it ("2026-11-21T10:00:00.123Z"); "" when
// `ts` is not one.
std::string EpochSecondsOf(std::string_view ts);

}  // namespace sluice
