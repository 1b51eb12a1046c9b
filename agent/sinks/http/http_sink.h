// The HTTP sink: POSTs records to a URL, a request of up to `max_records`
// records and `max_request_size` bytes (before compression; a single larger
// record goes alone) in one of the formats of http_body.h, compressed with
// gzip or zstd when asked, with headers and Bearer/Basic/Splunk
// authorization whose secret is read from a file at each delivery.
//
// What an answer means (Deliver is Ok only when every record is accepted or
// dead-lettered):
//   2xx                   stored (for elasticsearch, item by item: the 429 and
//                         5xx items are sent again, the other 4xx items are
//                         dead-lettered, a 409 on a `create` with our _id is
//                         a record already stored)
//   408 429 5xx 3xx       nothing stored: the delivery fails and the runner
//   401 403, no answer    retries with backoff, waiting at least what a
//                         Retry-After asked (seconds or an HTTP-date)
//   413 (several records) the request is split in halves, each sent again
//   other 4xx             refused: the request's records go to the dead-letter
//                         directory (<dead_letter>/<source>/<batch id>-<first
//                         record>.jsonl), counted, the answer logged (truncated)
// 401 and 403 are retried, not dead-lettered: an expired or rotated token is
// fixed by rewriting token_file, and must not cost the records meanwhile.
//
// Within one run, the records already accepted are remembered by batch id
// and index, so a delivery retried after a later request failed sends only
// the rest. A request whose answer never came (reset, timeout) is sent again:
// this sink is at-least-once; for elasticsearch with document_ids the
// destination drops the copies.
#pragma once

#include <memory>
#include <string>

#include "agent/sinks/http/http_sink_config.h"
#include "agent/sinks/sink.h"

namespace sluice {

std::unique_ptr<Sink> MakeHttpSink(std::string name, HttpSinkConfig config, BatchPolicy policy,
                                   const SinkContext& context);

}  // namespace sluice
