#include "agent/sinks/entry_shipper.h"

#include <fmt/format.h>

#include <thread>

#include "agent/sinks/batch_encoding.h"
#include "agent/sinks/dead_letter.h"
#include "core/backoff.h"

namespace sluice {

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

Result<std::string> LoadBatchText(const BatchInfo& b, const BatchLoader& load) {
  Result<std::string> frame = load(b);
  if (!frame.ok()) return frame.status();
  Result<std::string> plain = EncodeBatch(frame.value(), ObjectCompression::kNone);
  if (!plain.ok()) return Status(plain.status().code(), b.id + ": " + plain.status().message());
  return plain;
}

EntryShipper::EntryShipper(EntryShipperOptions options, const SinkContext& ctx)
    : options_(std::move(options)),
      log_(ctx.log),
      own_metrics_(ctx.metrics == nullptr ? std::make_unique<MetricsRegistry>() : nullptr),
      metrics_(ctx.metrics != nullptr ? *ctx.metrics : *own_metrics_),
      requests_(
          metrics_.GetCounter(options_.metric_prefix + "_requests_total", "requests sent", {{"sink", options_.sink}})),
      refused_(metrics_.GetCounter(options_.metric_prefix + "_refused_records_total",
                                   "entries an answer refused (throttling, internal errors), each resent",
                                   {{"sink", options_.sink}})),
      dead_(metrics_.GetCounter("sluice_sink_dead_letter_records_total",
                                "records that can never be delivered, written to the dead-letter directory",
                                {{"sink", options_.sink}})) {}

Status EntryShipper::Deliver(std::span<const BatchInfo> batches, const BatchLoader& load, EntryPacker& packer,
                             const EntrySender& send) {
  const EntryLimits& limits = options_.limits;
  std::vector<Entry> request;
  uint64_t request_bytes = 0;
  std::vector<Entry> refused;
  Status last_refusal;
  std::vector<Entry> completed;
  auto flush = [&]() -> Status {
    if (request.empty()) return Status::Ok();
    Status s = Send(batches, request, refused, last_refusal, send);
    request.clear();
    request_bytes = 0;
    return s;
  };
  auto enqueue = [&]() -> Status {
    for (Entry& e : completed) {
      if (request.size() >= limits.max_entries || request_bytes + e.size() > limits.max_request_bytes) {
        if (Status s = flush(); !s.ok()) return s;
      }
      request_bytes += e.size();
      request.push_back(std::move(e));
    }
    completed.clear();
    return Status::Ok();
  };

  for (size_t bi = 0; bi < batches.size(); ++bi) {
    const BatchInfo& b = batches[bi];
    Result<std::string> plain = LoadBatchText(b, load);
    if (!plain.ok()) return plain.status();
    const std::vector<std::string_view> lines = SplitLines(plain.value());
    std::vector<bool>& stored = Stored(b.id, lines.size());
    std::string dead_letters;
    std::vector<size_t> dead;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (stored[i]) continue;
      if (!packer.Add(lines[i], b, RecordRef{bi, i}, completed)) {
        dead_letters.append(lines[i]);
        dead_letters += '\n';
        dead.push_back(i);
        continue;
      }
      if (Status s = enqueue(); !s.ok()) return s;
    }
    if (!dead.empty()) {
      if (Status s = WriteDeadLetters(b, dead_letters, dead.size()); !s.ok()) return s;
      for (size_t i : dead) stored[i] = true;
    }
  }
  packer.Flush(completed);
  if (Status s = enqueue(); !s.ok()) return s;
  if (Status s = flush(); !s.ok()) return s;

  Backoff backoff(options_.retry_initial, options_.retry_max);
  for (int round = 0; round < options_.retry_rounds && !refused.empty(); ++round) {
    std::this_thread::sleep_for(backoff.Next());
    std::vector<Entry> again = std::move(refused);
    refused.clear();
    for (size_t start = 0; start < again.size();) {
      std::vector<Entry> chunk;
      uint64_t bytes = 0;
      while (start < again.size() && chunk.size() < limits.max_entries &&
             bytes + again[start].size() <= limits.max_request_bytes) {
        bytes += again[start].size();
        chunk.push_back(std::move(again[start++]));
      }
      if (Status s = Send(batches, chunk, refused, last_refusal, send); !s.ok()) return s;
    }
  }
  if (!refused.empty()) {
    return Status::Unavailable(fmt::format("{} entries still refused by {} after {} retries; last: {}", refused.size(),
                                           options_.target, options_.retry_rounds, last_refusal.message()));
  }
  for (const BatchInfo& b : batches) stored_.erase(b.id);
  return Status::Ok();
}

std::vector<bool>& EntryShipper::Stored(const std::string& batch_id, size_t records) {
  std::vector<bool>& v = stored_[batch_id];
  if (v.size() != records) v.assign(records, false);
  return v;
}

Status EntryShipper::Send(std::span<const BatchInfo> batches, std::vector<Entry>& entries, std::vector<Entry>& refused,
                          Status& last_refusal, const EntrySender& send) {
  requests_.Inc();
  Result<std::vector<EntryOutcome>> r = send(entries);
  if (!r.ok()) return r.status();
  if (r.value().size() != entries.size()) {
    return Status::Io(fmt::format("{}: {} results for {} entries", options_.target, r.value().size(), entries.size()));
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const EntryOutcome& e = r.value()[i];
    if (e.ok()) {
      for (const RecordRef& ref : entries[i].records) stored_[batches[ref.batch].id][ref.index] = true;
    } else {
      refused_.Inc();
      last_refusal = Status::Unavailable(e.error_code + ": " + e.error_message);
      refused.push_back(std::move(entries[i]));
    }
  }
  return Status::Ok();
}

Status EntryShipper::WriteDeadLetters(const BatchInfo& b, const std::string& lines, size_t count) {
  Result<std::filesystem::path> path = sluice::WriteDeadLetters(options_.dead_letter, b, lines);
  if (!path.ok()) return path.status();
  dead_.Inc(count);
  log_->warn("{} records of batch {} exceed the largest entry {} takes ({} bytes): written to {}", count, b.id,
             options_.target, options_.limits.max_entry_bytes, path->string());
  return Status::Ok();
}

}  // namespace sluice
