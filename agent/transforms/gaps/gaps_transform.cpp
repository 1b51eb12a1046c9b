#include "agent/transforms/gaps/gaps_transform.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>

#include "agent/buffer/batch_builder.h"
#include "agent/buffer/buffer.h"
#include "agent/record/json_record.h"
#include "agent/transforms/transform_options.h"
#include "core/util/thread_name.h"
#include "core/util/utf8.h"
#include "core/util/wall_clock.h"
#include "protocols/mqtt/mqtt_topic.h"

namespace sluice {
namespace {

struct GapClock {
  std::string source;
  std::string key;
  int64_t last_ms = 0;
  bool open = false;
};

class GapsState {
 public:
  GapsState(const GapsConfig& config, const TransformContext& ctx) : config_(config), ctx_(ctx) {
    if (ctx.metrics != nullptr) {
      gaps_ = &ctx.metrics->GetCounter("sluice_transform_gaps_total", "Keys that went silent for expect_every",
                                       {{"transform", ctx.name}});
      open_ = &ctx.metrics->GetGauge("sluice_transform_gaps_open", "Keys silent now", {{"transform", ctx.name}});
      untracked_ = &ctx.metrics->GetCounter("sluice_transform_gaps_untracked_records_total",
                                            "Records of keys beyond max_keys, not watched", {{"transform", ctx.name}});
    }
    host_member_ = R"("host":)";
    AppendJsonText(host_member_, ctx.host);
    const auto tick =
        std::clamp(config_.expect_every / 4, std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
    watcher_ = std::jthread([this, tick](std::stop_token stop) { Watch(stop, tick); });
  }

  ~GapsState() {
    watcher_.request_stop();
    cv_.notify_all();
  }

  void Seen(const TransformRecord& r, const std::string& key, TransformOutput& out) {
    std::string event;
    {
      std::lock_guard lock(mu_);
      const std::string id = std::string(r.source) + '\0' + key;
      auto it = clocks_.find(id);
      if (it == clocks_.end()) {
        if (clocks_.size() >= config_.max_keys) {
          if (untracked_ != nullptr) untracked_->Inc();
          return;
        }
        it = clocks_.emplace(id, GapClock{std::string(r.source), key, r.ts_ms, false}).first;
      }
      GapClock& c = it->second;
      if (c.open) {
        c.open = false;
        if (open_ != nullptr) open_->Add(-1);
        event = Members("gap_ended", c);
        event += R"(,"resumed":")" + FormatTimestampMs(r.ts_ms) + R"(","duration_ms":)" +
                 std::to_string(std::max<int64_t>(0, r.ts_ms - c.last_ms));
      }
      c.last_ms = std::max(c.last_ms, r.ts_ms);
    }
    if (!event.empty()) out.Event(r.ts_ms, event);
  }

 private:
  std::string Members(std::string_view kind, const GapClock& c) const {
    std::string e = R"("event":")" + std::string(kind) + R"(","transform":)";
    AppendJsonText(e, ctx_.name);
    e += R"(,"source":)";
    AppendJsonText(e, c.source);
    e += R"(,"key":)";
    AppendJsonText(e, c.key);
    e += R"(,"last_seen":")" + FormatTimestampMs(c.last_ms) + R"(","expect_every_ms":)" +
         std::to_string(config_.expect_every.count());
    return e;
  }

  void Watch(std::stop_token stop, std::chrono::milliseconds tick) {
    SetThreadName("gaps:" + ctx_.name);
    std::vector<std::pair<int64_t, std::string>> pending;  // events not yet committed
    std::mutex sleep_mu;
    for (;;) {
      {
        std::unique_lock lock(sleep_mu);
        cv_.wait_for(lock, stop, tick, [] { return false; });
      }
      if (stop.stop_requested()) return;
      const int64_t now = WallClockMs();
      {
        std::lock_guard lock(mu_);
        for (auto& [id, c] : clocks_) {
          if (c.open || now - c.last_ms < config_.expect_every.count()) continue;
          c.open = true;
          if (gaps_ != nullptr) gaps_->Inc();
          if (open_ != nullptr) open_->Add(1);
          pending.emplace_back(now, Members("gap_started", c));
        }
      }
      if (pending.empty()) continue;
      if (ctx_.buffer == nullptr || !ctx_.events_stored) {
        pending.clear();  // counted; no sink takes _events
        continue;
      }
      BatchBuilder builder;
      for (const auto& [ts, members] : pending) {
        std::string& s = builder.staging();
        s += R"({"ts":")" + FormatTimestampMs(ts) + "\",";
        s += host_member_;
        s += ',';
        s += members;
        s += "}\n";
        builder.EndRecord(ts);
      }
      Result<EncodedBatch> batch = builder.Finish();
      if (!batch.ok()) continue;  // kept in pending; tried again at the next tick
      const StreamBatch one[] = {{std::string(kEventsStream), std::move(batch).value()}};
      Status s = ctx_.buffer->Commit(ctx_.name, one, {}, stop);
      if (s.ok()) {
        pending.clear();
      } else if (s.code() != ErrorCode::kCancelled) {
        ctx_.log->warn("storing {} gap events failed, trying again: {}", pending.size(), s.ToString());
      }
    }
  }

  const GapsConfig config_;
  const TransformContext ctx_;
  Counter* gaps_ = nullptr;
  Gauge* open_ = nullptr;
  Counter* untracked_ = nullptr;
  std::string host_member_;
  std::mutex mu_;
  std::map<std::string, GapClock> clocks_;  // source \0 key
  std::condition_variable_any cv_;
  std::jthread watcher_;  // last: stops first
};

class GapsTransform final : public Transform {
 public:
  GapsTransform(const GapsConfig& config, GapsState& state) : config_(config), state_(state) {}
  bool Apply(TransformRecord& r, TransformOutput& out) override {
    const std::string origin = RecordOrigin(r);
    if (!config_.topics.empty()) {
      bool match = false;
      for (const std::string& f : config_.topics) match = match || TopicMatchesFilter(f, origin);
      if (!match) return true;
    }
    std::string key = origin;
    if (config_.key) {
      std::optional<JsonValue> v = r.doc.Find(*config_.key);
      if (!v) return true;  // no key: nothing to watch
      key = std::move(v->text);
    }
    state_.Seen(r, key, out);
    return true;
  }

 private:
  const GapsConfig config_;
  GapsState& state_;
};

class GapsFactory final : public TransformFactory {
 public:
  GapsFactory(const GapsConfig& config, const TransformContext& ctx) : config_(config), state_(config, ctx) {}
  std::unique_ptr<Transform> NewInstance() override { return std::make_unique<GapsTransform>(config_, state_); }
  bool ordered() const override { return true; }

 private:
  GapsConfig config_;
  GapsState state_;
};

}  // namespace

GapsConfig ParseGapsConfig(TableReader& r) {
  GapsConfig c;
  c.expect_every = r.Duration("expect_every", "10s", "a key silent this long is a gap", std::chrono::milliseconds(100));
  c.key = OptionalFieldPath(r, "key", "the field whose value is the key (default: topic or path)");
  c.topics = TopicFilters(r, "MQTT topic filters to watch (default: every record)");
  c.max_keys = static_cast<uint64_t>(r.Int("max_keys", 100'000, 1, 100'000'000, "keys watched at most"));
  return c;
}

TransformBuilder MakeGapsTransform(GapsConfig config) { return FactoryBuilder<GapsFactory>(std::move(config)); }

}  // namespace sluice
