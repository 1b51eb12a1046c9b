#include "agent/sinks/dead_letters.h"

#include <set>

#include "core/util/durable_file.h"

namespace sluice {

DeadLetters::DeadLetters(std::string sink, std::filesystem::path dir, const SinkContext& ctx)
    : sink_(std::move(sink)),
      dir_(dir.empty() ? ctx.data_dir / "dead-letter" / sink_ : std::move(dir)),
      log_(ctx.log),
      own_metrics_(ctx.metrics == nullptr ? std::make_unique<MetricsRegistry>() : nullptr),
      records_((ctx.metrics != nullptr ? *ctx.metrics : *own_metrics_)
                   .GetCounter("sluice_sink_dead_letter_records_total",
                               "records that can never be delivered, written to the dead-letter directory",
                               {{"sink", sink_}})) {}

Status DeadLetters::Write(const BatchInfo& b, size_t first_record, std::string_view lines, size_t count,
                          std::string_view why) {
  const std::filesystem::path dir = dir_ / b.source;
  if (Status s = CreateDirectoriesDurable(dir, true); !s.ok()) return s;
  const std::filesystem::path path = dir / (b.id + "-" + std::to_string(first_record) + ".jsonl");
  Result<AtomicFile> f = AtomicFile::Create(path, true);
  if (!f.ok()) return f.status();
  if (Status s = f->Append(lines); !s.ok()) return s;
  if (Status s = f->Commit(); !s.ok()) return s;
  records_.Inc(count);
  log_->warn("sink {}: {} records of batch {} {}: written to {}", sink_, count, b.id, why, path.string());
  return Status::Ok();
}

std::vector<bool>& DeliveredRecords::Of(const std::string& id, size_t records) {
  std::vector<bool>& v = by_batch_[id];
  if (v.size() != records) v.assign(records, false);
  return v;
}

void DeliveredRecords::Forget(std::span<const BatchInfo> batches) {
  for (const BatchInfo& b : batches) by_batch_.erase(b.id);
}

void DeliveredRecords::KeepOnly(std::span<const BatchInfo> pending) {
  std::set<std::string_view> keep;
  for (const BatchInfo& b : pending) keep.insert(b.id);
  std::erase_if(by_batch_, [&](const auto& e) { return keep.count(e.first) == 0; });
}

}  // namespace sluice
