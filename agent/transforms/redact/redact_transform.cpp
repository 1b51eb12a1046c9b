#include "agent/transforms/redact/redact_transform.h"

#include "agent/transforms/redact/text_redactor.h"
#include "agent/transforms/transform_options.h"
#include "core/util/utf8.h"

namespace sluice {
namespace {

class RedactTransform final : public Transform {
 public:
  RedactTransform(const RedactConfig& config, Counter* redacted, Counter* limit_hits)
      : config_(config), redacted_(redacted), limit_hits_(limit_hits) {
    mask_json_ = "\"";
    AppendJsonEscaped(mask_json_, config_.mask);
    mask_json_ += '"';
    if (!config_.patterns.empty()) {
      TextRedactorOptions o;
      o.mask = config_.pattern_mask;
      // Checked when the configuration was read; should it fail here anyway,
      // Apply drops every record rather than pass one unredacted.
      if (Result<TextRedactor> t = TextRedactor::Create(config_.patterns, o); t.ok()) {
        redactor_.emplace(std::move(t).value());
      }
    }
  }

  bool Apply(TransformRecord& r, TransformOutput&) override {
    for (const JsonPath& path : config_.fields) {
      const bool done = config_.remove ? r.doc.Remove(path) : (r.doc.Has(path) && r.doc.Set(path, mask_json_));
      if (done && redacted_ != nullptr) redacted_->Inc();
    }
    if (config_.patterns.empty()) return true;
    if (!redactor_) return false;
    edits_.clear();
    for (const JsonPath& under : config_.in) {
      r.doc.ForEachString(under, [&](const JsonPath& path, std::string_view value) {
        const uint64_t limits_before = redactor_->limit_hits();
        text_.clear();
        const bool changed = redactor_->Redact(value, text_);
        if (redactor_->limit_hits() != limits_before) {
          // The search gave up on this string: what it did not search may
          // hold what must not leave, so none of it does.
          if (limit_hits_ != nullptr) limit_hits_->Inc();
          edits_.emplace_back(path, mask_json_);
          return;
        }
        if (!changed) return;
        std::string json = "\"";
        AppendJsonEscaped(json, text_);
        json += '"';
        edits_.emplace_back(path, std::move(json));
      });
    }
    for (auto& [path, json] : edits_) {
      if (r.doc.Set(path, std::move(json)) && redacted_ != nullptr) redacted_->Inc();
    }
    return true;
  }

 private:
  const RedactConfig config_;
  Counter* redacted_;
  Counter* limit_hits_;
  std::string mask_json_;
  std::optional<TextRedactor> redactor_;
  std::string text_;
  std::vector<std::pair<JsonPath, std::string>> edits_;
};

class RedactFactory final : public TransformFactory {
 public:
  RedactFactory(RedactConfig config, const TransformContext& ctx) : config_(std::move(config)) {
    if (ctx.metrics != nullptr) {
      redacted_ = &ctx.metrics->GetCounter("sluice_transform_redacted_total",
                                           "Fields removed or masked, and strings whose matches were masked",
                                           {{"transform", ctx.name}});
      limit_hits_ = &ctx.metrics->GetCounter(
          "sluice_transform_regex_limit_hits_total",
          "Strings a regular expression gave up on at PCRE2's match limit (redact masks them whole)",
          {{"transform", ctx.name}});
    }
  }
  std::unique_ptr<Transform> NewInstance() override {
    return std::make_unique<RedactTransform>(config_, redacted_, limit_hits_);
  }

 private:
  RedactConfig config_;
  Counter* redacted_ = nullptr;
  Counter* limit_hits_ = nullptr;
};

}  // namespace

RedactConfig ParseRedactConfig(TableReader& r) {
  RedactConfig c;
  c.fields =
      FieldPaths(r, "fields", {}, "fields removed or masked, e.g. \"fields.password\"", /*refuse_envelope=*/true);
  const std::string mode = r.Enum("mode", "remove", {"remove", "mask"}, "what happens to a named field");
  c.remove = mode == "remove";
  const std::optional<std::string> mask =
      r.OptionalString("mask", "replaces a masked field, and each match (default: [REDACTED], [REDACTED:<pattern>])");
  if (mask) {
    if (!IsValidUtf8(*mask)) r.Fail("mask", "must be valid UTF-8");
    c.mask = *mask;
    c.pattern_mask = *mask;
  }
  c.patterns = r.Strings("patterns", {}, "\"email\", \"ipv4\", \"ipv6\", \"card\", or a regular expression");
  if (!c.patterns.empty()) {
    if (Result<TextRedactor> t = TextRedactor::Create(c.patterns); !t.ok()) r.Fail("patterns", t.status().message());
  }
  c.in = FieldPaths(r, "in", {"msg", "payload", "fields"}, "where patterns are searched", /*refuse_envelope=*/false);
  if (c.fields.empty() && c.patterns.empty()) r.Fail("", "name fields or patterns to redact");
  return c;
}

TransformBuilder MakeRedactTransform(RedactConfig config) { return FactoryBuilder<RedactFactory>(std::move(config)); }

}  // namespace sluice
