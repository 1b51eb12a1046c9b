#include "agent/transforms/tokenize/tokenize_transform.h"

#include "agent/transforms/tokenize/hmac_tokenizer.h"
#include "agent/transforms/transform_options.h"
#include "core/util/secret_file.h"
#include "core/util/utf8.h"

namespace sluice {
namespace {

class TokenizeTransform final : public Transform, public FieldTokens {
 public:
  TokenizeTransform(const TokenizeConfig& config, std::shared_ptr<const std::string> key, Counter* tokenized,
                    Counter* failed)
      : config_(config), key_(std::move(key)), tokenized_(tokenized), failed_(failed) {}

  bool Apply(TransformRecord& r, TransformOutput&) override {
    for (size_t i = 0; i < config_.fields.size(); ++i) {
      const JsonPath& path = config_.fields[i];
      std::optional<JsonValue> v = r.doc.Find(path);
      if (!v || v->type == JsonType::kNull) continue;
      token_.clear();
      if (!AppendToken(i, v->text, token_)) {
        if (failed_ != nullptr) failed_->Inc();
        return false;
      }
      r.doc.Set(path, token_);
      tokenized_.Inc();
    }
    return true;
  }

  void Flush() override { tokenized_.Flush(); }

  FieldTokens* TopLevelTokens() override { return this; }
  const std::vector<JsonPath>& fields() const override { return config_.fields; }
  void Tokenized(uint64_t n) override { tokenized_.Inc(n); }

  bool AppendToken(size_t field, std::string_view value, std::string& out) override {
    if (!tokenizer_) {
      // Made on first use, on the thread that uses it. It fails only if
      // OpenSSL has no HMAC: then no record passes with its value.
      Result<HmacTokenizer> t = HmacTokenizer::Create(*key_);
      if (!t.ok()) return false;
      tokenizer_.emplace(std::move(t).value());
      caches_.reserve(config_.fields.size());
      for (size_t i = 0; i < config_.fields.size(); ++i) caches_.emplace_back(config_.cache);
    }
    // A field's own cache: fields differ in how often their values recur.
    TokenCache& cache = caches_[field];
    const TokenDigest* digest = cache.Find(value);
    if (digest == nullptr) {
      if (!tokenizer_->Digest(value, computed_)) return false;
      cache.Remember(computed_);
      digest = &computed_;
    }
    out += '"';
    AppendJsonEscaped(out, config_.prefix);
    HmacTokenizer::AppendHex(*digest, out);
    out += '"';
    return true;
  }

 private:
  const TokenizeConfig config_;
  std::shared_ptr<const std::string> key_;
  std::optional<HmacTokenizer> tokenizer_;
  std::vector<TokenCache> caches_;  // one per field, made with the tokenizer
  TokenDigest computed_{};
  CounterShare tokenized_;  // for every field of every record: a share, not the shared counter
  Counter* failed_;
  std::string token_;
};

class TokenizeFactory final : public TransformFactory {
 public:
  TokenizeFactory(TokenizeConfig config, std::string key, const TransformContext& ctx)
      : config_(std::move(config)), key_(std::make_shared<const std::string>(std::move(key))) {
    if (ctx.metrics != nullptr) {
      tokenized_ = &ctx.metrics->GetCounter("sluice_transform_tokenized_fields_total", "Field values tokenized",
                                            {{"transform", ctx.name}});
      failed_ = &ctx.metrics->GetCounter("sluice_transform_failed_records_total",
                                         "Records a transform dropped because it could not do its work on them",
                                         {{"transform", ctx.name}});
    }
  }
  std::unique_ptr<Transform> NewInstance() override {
    return std::make_unique<TokenizeTransform>(config_, key_, tokenized_, failed_);
  }
  bool writes_tokens() const override { return true; }

 private:
  TokenizeConfig config_;
  std::shared_ptr<const std::string> key_;
  Counter* tokenized_ = nullptr;
  Counter* failed_ = nullptr;
};

}  // namespace

TokenizeConfig ParseTokenizeConfig(TableReader& r) {
  TokenizeConfig c;
  if (!r.Has("fields")) r.Fail("fields", "name the fields to tokenize, e.g. [\"fields.user\"]");
  c.fields =
      FieldPaths(r, "fields", {}, "the fields replaced by tokens, e.g. \"fields.user\"", /*refuse_envelope=*/true);
  if (c.fields.empty()) r.Fail("fields", "name at least one field");
  c.key_file = r.RequiredString("key_file", "file whose first line is the HMAC key (at least 16 bytes)");
  r.RequireReadable("key_file", c.key_file);
  Result<std::string> key = ReadSecretLine(c.key_file, "key_file");
  if (!key.ok()) r.Fail("key_file", key.status().message());
  if (key->size() < 16) {
    r.Fail("key_file", "the key in " + c.key_file + " is " + std::to_string(key->size()) +
                           " bytes; use at least 16 (e.g. openssl rand -hex 32)");
  }
  c.prefix = r.String("prefix", "", "text put before each token, e.g. \"tok_\"");
  c.cache = static_cast<size_t>(r.Int("cache", static_cast<int64_t>(c.cache), 0, 1 << 20,
                                      "distinct values per field and worker whose tokens are remembered "
                                      "(about 136 bytes each); 0 computes every token"));
  if (!IsValidUtf8(c.prefix)) r.Fail("prefix", "must be valid UTF-8");
  return c;
}

TransformBuilder MakeTokenizeTransform(TokenizeConfig config) {
  return [config](const TransformContext& ctx) -> Result<std::unique_ptr<TransformFactory>> {
    // Read again at start: the key is never kept in the configuration.
    Result<std::string> key = ReadSecretLine(config.key_file, "key_file");
    if (!key.ok()) return Status(key.status().code(), "transform " + ctx.name + ": " + key.status().message());
    return std::unique_ptr<TransformFactory>(std::make_unique<TokenizeFactory>(config, std::move(key).value(), ctx));
  };
}

}  // namespace sluice
