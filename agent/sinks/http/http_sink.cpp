#include "agent/sinks/http/http_sink.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "agent/sinks/batch_encoding.h"
#include "agent/sinks/dead_letters.h"
#include "agent/sinks/entry_shipper.h"
#include "agent/sinks/http/bulk_response.h"
#include "agent/sinks/http/http_body.h"
#include "core/util/secret_file.h"
#include "core/util/utf8.h"
#include "protocols/http/http_client.h"
#include "protocols/http/retry_after.h"

namespace sluice {
namespace {

// How much of a refusal's answer goes into the log.
constexpr size_t kLoggedAnswerBytes = 512;

// A record in a request: where it comes from, and its stored line for the
// dead-letter directory.
struct HttpRecord {
  size_t batch = 0;  // index into the delivery's batches
  size_t index = 0;  // line within the batch
  std::string line;
};

enum class HttpVerdict { kStored, kRetry, kRefused };

HttpVerdict Judge(long status) {
  if (status >= 200 && status < 300) return HttpVerdict::kStored;
  if (status < 400 || status >= 500 || status == 408 || status == 429 || status == 401 || status == 403) {
    return HttpVerdict::kRetry;
  }
  return HttpVerdict::kRefused;
}

std::string Truncated(std::string_view answer) {
  if (answer.size() <= kLoggedAnswerBytes) return std::string(answer);
  return fmt::format("{}... ({} bytes)", answer.substr(0, kLoggedAnswerBytes), answer.size());
}

http::ClientOptions ClientOptionsOf(const HttpSinkConfig& c) {
  http::ClientOptions o;
  o.connect_timeout = std::min<std::chrono::milliseconds>(c.timeout, std::chrono::seconds(10));
  o.total_timeout = c.timeout;
  o.ca_file = c.ca_file;
  return o;
}

class HttpSink final : public Sink {
 public:
  HttpSink(std::string name, HttpSinkConfig config, BatchPolicy policy, const SinkContext& ctx)
      : name_(std::move(name)),
        config_(std::move(config)),
        policy_(policy),
        format_(config_),
        client_(ClientOptionsOf(config_)),
        log_(ctx.log),
        own_metrics_(ctx.metrics == nullptr ? std::make_unique<MetricsRegistry>() : nullptr),
        metrics_(ctx.metrics != nullptr ? *ctx.metrics : *own_metrics_),
        dead_letters_(name_, config_.dead_letter, ctx),
        wire_bytes_(metrics_.GetCounter("sluice_http_request_bytes_total", "request body bytes sent (compressed)",
                                        {{"sink", name_}})),
        retried_(metrics_.GetCounter("sluice_http_retried_records_total",
                                     "records of failed requests or _bulk items, to be sent again", {{"sink", name_}})),
        duplicates_(metrics_.GetCounter("sluice_http_bulk_duplicates_total",
                                        "_bulk create items answered 409 for our _id: already stored",
                                        {{"sink", name_}})) {}

  const std::string& name() const override { return name_; }
  BatchPolicy policy() const override { return policy_; }
  std::chrono::milliseconds retry_after() const override { return retry_after_; }

  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) override {
    retry_after_ = {};
    item_failure_ = Status::Ok();
    stored_.KeepOnly(batches);
    Result<http::Headers> headers = RequestHeaders();
    if (!headers.ok()) return headers.status();

    std::vector<std::string> pieces;
    std::vector<HttpRecord> records;
    uint64_t bytes = 0;
    auto flush = [&]() -> Status {
      if (records.empty()) return Status::Ok();
      Status s = Send(batches, pieces, records, headers.value());
      pieces.clear();
      records.clear();
      bytes = 0;
      return s;
    };
    for (size_t bi = 0; bi < batches.size(); ++bi) {
      const BatchInfo& b = batches[bi];
      Result<std::string> plain = LoadPlainBatch(load, b);
      if (!plain.ok()) return plain.status();
      const std::vector<std::string_view> lines = SplitLines(plain.value());
      std::vector<bool>& stored = stored_.Of(b.id, lines.size());
      std::vector<HttpRecord> unsendable;
      Status why_unsendable;
      for (size_t i = 0; i < lines.size(); ++i) {
        if (stored[i]) continue;
        Result<std::string> piece = format_.Encode(lines[i], b, i);
        if (!piece.ok()) {
          why_unsendable = piece.status();
          unsendable.push_back({bi, i, std::string(lines[i])});
          continue;
        }
        // A record that does not fit ends the request; one larger than the limit goes alone.
        auto grows = [&] {
          return piece.value().size() + format_.Overhead(records.size() + 1) - format_.Overhead(records.size());
        };
        if (!records.empty() && (records.size() >= static_cast<size_t>(config_.max_records) ||
                                 bytes + grows() > config_.max_request_bytes)) {
          if (Status s = flush(); !s.ok()) return s;
        }
        bytes += grows();
        pieces.push_back(std::move(piece.value()));
        records.push_back({bi, i, std::string(lines[i])});
      }
      if (!unsendable.empty()) {
        if (Status s = DeadLetter(batches, unsendable,
                                  "cannot be sent as " + format_.content_type() + ": " + why_unsendable.message());
            !s.ok()) {
          return s;
        }
      }
    }
    if (Status s = flush(); !s.ok()) return s;
    if (!item_failure_.ok()) return item_failure_;
    stored_.Forget(batches);
    return Status::Ok();
  }

 private:
  // Content-Type, Content-Encoding, the configured headers and Authorization
  // (the secret read now, so a rotated one is used from the next delivery).
  Result<http::Headers> RequestHeaders() const {
    http::Headers h = config_.headers;
    h.emplace_back("Content-Type", format_.content_type());
    if (config_.compression == ObjectCompression::kGzip) h.emplace_back("Content-Encoding", "gzip");
    if (config_.compression == ObjectCompression::kZstd) h.emplace_back("Content-Encoding", "zstd");
    if (config_.token_file) {
      Result<std::string> token = ReadSecretLine(*config_.token_file, "token_file");
      if (!token.ok()) return token.status();
      const char* scheme = config_.format == HttpFormat::kSplunkHec ? "Splunk " : "Bearer ";
      h.emplace_back("Authorization", scheme + token.value());
    } else if (config_.user) {
      Result<std::string> password = ReadSecretLine(*config_.password_file, "password_file");
      if (!password.ok()) return password.status();
      h.emplace_back("Authorization", "Basic " + Base64(*config_.user + ":" + password.value()));
    }
    return h;
  }

  // One request of `records` (their `pieces`), and what its answer means for them.
  Status Send(std::span<const BatchInfo> batches, std::span<const std::string> pieces,
              std::span<const HttpRecord> records, const http::Headers& headers) {
    Result<std::string> wire = CompressBytes(format_.Assemble(pieces), config_.compression);
    if (!wire.ok()) return wire.status();
    http::Request request;
    request.method = "POST";
    request.url = config_.url;
    request.headers = headers;
    request.body = wire.value();
    Result<http::Response> r = client_.Perform(request);
    wire_bytes_.Inc(wire.value().size());
    if (!r.ok()) {
      Requests("error").Inc();
      retried_.Inc(records.size());
      return r.status();
    }
    const long status = r.value().status;
    Requests(std::to_string(status)).Inc();
    switch (Judge(status)) {
      case HttpVerdict::kStored:
        if (config_.format == HttpFormat::kElasticsearch) return OnBulkAnswer(batches, records, r.value().body);
        for (const HttpRecord& rec : records) stored_.Mark(batches[rec.batch].id, rec.index);
        return Status::Ok();
      case HttpVerdict::kRetry: {
        retried_.Inc(records.size());
        std::string asked;
        if (const std::string* value = r.value().Header("retry-after")) {
          if (auto wait = http::ParseRetryAfter(*value, std::chrono::system_clock::now())) {
            retry_after_ = std::max(retry_after_, *wait);
            asked = fmt::format(" (Retry-After: {})", *value);
          }
        }
        return Status::Unavailable(
            fmt::format("HTTP {} from {}{}: {}", status, config_.url, asked, Truncated(r.value().body)));
      }
      case HttpVerdict::kRefused:
        break;
    }
    if (status == 413 && records.size() > 1) {
      // Too large for this server: halves, each judged on its own.
      const size_t half = records.size() / 2;
      log_->warn("HTTP 413 from {} for {} records: sending them in two requests (lower max_request_size)", config_.url,
                 records.size());
      if (Status s = Send(batches, pieces.first(half), records.first(half), headers); !s.ok()) return s;
      return Send(batches, pieces.subspan(half), records.subspan(half), headers);
    }
    return DeadLetter(batches, records,
                      fmt::format("HTTP {} from {}: {}", status, config_.url, Truncated(r.value().body)));
  }

  // A 2xx _bulk answer: item by item.
  Status OnBulkAnswer(std::span<const BatchInfo> batches, std::span<const HttpRecord> records, std::string_view body) {
    Result<std::vector<BulkItem>> items = ParseBulkResponse(body, records.size());
    if (!items.ok()) {
      retried_.Inc(records.size());
      return items.status();
    }
    std::vector<HttpRecord> refused;
    std::string refusal, failure;
    size_t failed = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const BulkItem* item = items.value().empty() ? nullptr : &items.value()[i];
      const bool ours = config_.document_ids && config_.bulk_action == "create";
      if (item == nullptr || (item->status >= 200 && item->status < 300) || (item->status == 409 && ours)) {
        if (item != nullptr && item->status == 409) duplicates_.Inc();
        stored_.Mark(batches[records[i].batch].id, records[i].index);
      } else if (item->status == 429 || item->status >= 500) {
        if (failed++ == 0) failure = fmt::format("{} {}", item->status, item->error);
      } else {
        if (refused.empty()) refusal = fmt::format("{} {}", item->status, item->error);
        refused.push_back(records[i]);
      }
    }
    if (!refused.empty()) {
      const std::string why = fmt::format("_bulk items refused by {}, the first: {}", config_.url, Truncated(refusal));
      if (Status s = DeadLetter(batches, refused, why); !s.ok()) return s;
    }
    if (failed > 0) {
      retried_.Inc(failed);
      item_failure_ =
          Status::Unavailable(fmt::format("{} of {} _bulk items failed at {}, to be sent again; the first: {}", failed,
                                          records.size(), config_.url, Truncated(failure)));
    }
    return Status::Ok();
  }

  // Writes `records` (in delivery order) to the dead-letter directory, a file
  // per run of records of one batch, named after the batch and its first
  // record, and counts them as delivered.
  Status DeadLetter(std::span<const BatchInfo> batches, std::span<const HttpRecord> records, const std::string& why) {
    for (size_t start = 0; start < records.size();) {
      size_t end = start;
      std::string lines;
      while (end < records.size() && records[end].batch == records[start].batch) {
        lines += records[end].line;
        lines += '\n';
        ++end;
      }
      const BatchInfo& b = batches[records[start].batch];
      if (Status s = dead_letters_.Write(b, records[start].index, lines, end - start, why); !s.ok()) return s;
      for (size_t i = start; i < end; ++i) stored_.Mark(b.id, records[i].index);
      start = end;
    }
    return Status::Ok();
  }

  Counter& Requests(const std::string& code) {
    auto it = requests_.find(code);
    if (it == requests_.end()) {
      it = requests_
               .emplace(code, &metrics_.GetCounter("sluice_http_requests_total",
                                                   "requests sent, by answer status (error: no answer)",
                                                   {{"sink", name_}, {"code", code}}))
               .first;
    }
    return *it->second;
  }

  std::string name_;
  HttpSinkConfig config_;
  BatchPolicy policy_;
  HttpBodyFormat format_;
  http::Client client_;
  Logger log_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  MetricsRegistry& metrics_;
  DeadLetters dead_letters_;
  Counter& wire_bytes_;
  Counter& retried_;
  Counter& duplicates_;
  std::map<std::string, Counter*> requests_;
  // Records accepted (or dead-lettered) so far of batches not yet confirmed.
  DeliveredRecords stored_;
  std::chrono::milliseconds retry_after_{0};  // of the last delivery
  Status item_failure_;                       // _bulk items of the last delivery to send again
};

}  // namespace

std::unique_ptr<Sink> MakeHttpSink(std::string name, HttpSinkConfig config, BatchPolicy policy,
                                   const SinkContext& context) {
  return std::make_unique<HttpSink>(std::move(name), std::move(config), policy, context);
}

}  // namespace sluice
