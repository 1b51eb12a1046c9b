#include "agent/transforms/redact/redact_transform.h"

#include "core/util/utf8.h"

namespace sluice {
namespace {

class RedactTransform final : public Transform {
 public:
  RedactTransform(const RedactConfig& config, Counter* redacted) : config_(config), redacted_(redacted) {
    mask_json_ = "\"";
    AppendJsonEscaped(mask_json_, config_.mask);
    mask_json_ += '"';
  }

  bool Apply(TransformRecord& r, TransformOutput&) override {
    for (const JsonPath& path : config_.fields) {
      const bool done = config_.remove ? r.doc.Remove(path) : (r.doc.Has(path) && r.doc.Set(path, mask_json_));
      if (done && redacted_ != nullptr) redacted_->Inc();
    }
    return true;
  }

 private:
  const RedactConfig config_;
  Counter* redacted_;
  std::string mask_json_;
};

class RedactFactory final : public TransformFactory {
 public:
  RedactFactory(RedactConfig config, const TransformContext& ctx) : config_(std::move(config)) {
    if (ctx.metrics != nullptr) {
      redacted_ = &ctx.metrics->GetCounter("sluice_transform_redacted_total", "Fields and matches redacted",
                                           {{"transform", ctx.name}});
    }
  }
  std::unique_ptr<Transform> NewInstance() override { return std::make_unique<RedactTransform>(config_, redacted_); }

 private:
  RedactConfig config_;
  Counter* redacted_ = nullptr;
};

}  // namespace

RedactConfig ParseRedactConfig(TableReader& r) {
  RedactConfig c;
  for (const std::string& f : r.Strings("fields", {}, "fields removed or masked, e.g. \"fields.password\"")) {
    Result<JsonPath> p = ParseJsonPath(f);
    if (!p.ok()) r.Fail("fields", p.status().message());
    if (p->size() == 1 && (p->front() == "ts" || p->front() == "source" || p->front() == "host")) {
      r.Fail("fields", "\"" + f + "\" is part of every record's envelope and cannot be redacted");
    }
    c.fields.push_back(std::move(p).value());
  }
  const std::string mode = r.Enum("mode", "remove", {"remove", "mask"}, "what happens to a named field");
  c.remove = mode == "remove";
  c.mask = r.String("mask", "[REDACTED]", "the text that replaces a masked field");
  if (!IsValidUtf8(c.mask)) r.Fail("mask", "must be valid UTF-8");
  if (c.fields.empty()) r.Fail("fields", "name at least one field to redact");
  return c;
}

TransformBuilder MakeRedactTransform(RedactConfig config) {
  return [config](const TransformContext& ctx) -> Result<std::unique_ptr<TransformFactory>> {
    return std::unique_ptr<TransformFactory>(std::make_unique<RedactFactory>(config, ctx));
  };
}

}  // namespace sluice
