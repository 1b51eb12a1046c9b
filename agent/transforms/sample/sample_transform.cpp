#include "agent/transforms/sample/sample_transform.h"

#include <atomic>

#include "agent/transforms/transform_options.h"

namespace sluice {
namespace {

class SampleTransform final : public Transform {
 public:
  SampleTransform(uint64_t rate, std::atomic<uint64_t>& seen) : rate_(rate), seen_(seen) {}
  // The first record of every `rate` is kept.
  bool Apply(TransformRecord&, TransformOutput&) override {
    return seen_.fetch_add(1, std::memory_order_relaxed) % rate_ == 0;
  }

 private:
  uint64_t rate_;
  std::atomic<uint64_t>& seen_;
};

class SampleFactory final : public TransformFactory {
 public:
  SampleFactory(const SampleConfig& config, const TransformContext&) : rate_(config.rate) {}
  std::unique_ptr<Transform> NewInstance() override { return std::make_unique<SampleTransform>(rate_, seen_); }

 private:
  uint64_t rate_;
  std::atomic<uint64_t> seen_{0};
};

}  // namespace

SampleConfig ParseSampleConfig(TableReader& r) {
  SampleConfig c;
  c.rate = static_cast<uint64_t>(r.Int("rate", 10, 1, 1'000'000'000, "keep 1 record in this many"));
  return c;
}

TransformBuilder MakeSampleTransform(SampleConfig config) { return FactoryBuilder<SampleFactory>(config); }

}  // namespace sluice
