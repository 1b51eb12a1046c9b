#include "agent/transforms/throttle/throttle_transform.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

#include "agent/transforms/transform_options.h"

namespace sluice {
namespace {

struct ThrottleBucket {
  double tokens = 0;
  int64_t last_ms = 0;
};

class ThrottleState {
 public:
  explicit ThrottleState(const ThrottleConfig& c)
      : rate_(c.rate), burst_(c.burst > 0 ? c.burst : c.rate), max_keys_(c.max_keys) {}

  bool Take(const std::string& key, int64_t ts_ms) {
    std::lock_guard lock(mu_);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_keys_) Forget(ts_ms);
      it = buckets_.emplace(key, ThrottleBucket{burst_, ts_ms}).first;
    }
    ThrottleBucket& b = it->second;
    // A clock stepped back refills nothing.
    const int64_t elapsed = std::max<int64_t>(0, ts_ms - b.last_ms);
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(elapsed) * rate_ / 1000.0);
    b.last_ms = std::max(b.last_ms, ts_ms);
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

 private:
  // Buckets that have refilled are the same as new ones: forget them. If none
  // has, forget them all (a key then starts with a full bucket again).
  void Forget(int64_t now_ms) {
    const double full_after_ms = burst_ / rate_ * 1000.0;
    std::erase_if(buckets_,
                  [&](const auto& kv) { return static_cast<double>(now_ms - kv.second.last_ms) >= full_after_ms; });
    if (buckets_.size() >= max_keys_) buckets_.clear();
  }

  const double rate_;
  const double burst_;
  const uint64_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, ThrottleBucket> buckets_;
};

class ThrottleTransform final : public Transform {
 public:
  ThrottleTransform(const ThrottleConfig& config, ThrottleState& state) : config_(config), state_(state) {}
  bool Apply(TransformRecord& r, TransformOutput&) override {
    std::string key;
    if (config_.key) {
      if (std::optional<JsonValue> v = r.doc.Find(*config_.key)) key = std::move(v->text);
    } else {
      key = RecordOrigin(r);
    }
    return state_.Take(key, r.ts_ms);
  }

 private:
  const ThrottleConfig config_;
  ThrottleState& state_;
};

class ThrottleFactory final : public TransformFactory {
 public:
  ThrottleFactory(const ThrottleConfig& config, const TransformContext&) : config_(config), state_(config) {}
  std::unique_ptr<Transform> NewInstance() override { return std::make_unique<ThrottleTransform>(config_, state_); }
  bool ordered() const override { return true; }

 private:
  ThrottleConfig config_;
  ThrottleState state_;
};

}  // namespace

ThrottleConfig ParseThrottleConfig(TableReader& r) {
  ThrottleConfig c;
  c.rate = static_cast<double>(r.Int("rate", 100, 1, 100'000'000, "records per second per key"));
  c.burst = static_cast<double>(
      r.Int("burst", static_cast<int64_t>(c.rate), 1, 1'000'000'000, "records a key may send at once (default: rate)"));
  c.key = OptionalFieldPath(r, "key", "the field whose value is the key (default: path or topic)");
  c.max_keys = static_cast<uint64_t>(r.Int("max_keys", 100'000, 1, 100'000'000, "keys tracked at most"));
  return c;
}

TransformBuilder MakeThrottleTransform(ThrottleConfig config) {
  return FactoryBuilder<ThrottleFactory>(std::move(config));
}

}  // namespace sluice
