#include "agent/transforms/parse/parse_transform.h"

#include "agent/transforms/parse/csv_parser.h"
#include "agent/transforms/parse/logfmt_parser.h"
#include "agent/transforms/parse/regex_line_parser.h"
#include "agent/transforms/transform_options.h"

namespace sluice {
namespace {

const JsonPath kMsgPath{"msg"};
const JsonPath kPayloadPath{"payload"};

class LogfmtTextParser final : public TextParser {
 public:
  bool Parse(std::string_view text, std::string& out) override { return parser_.Parse(text, out); }

 private:
  LogfmtParser parser_;
};

class CsvTextParser final : public TextParser {
 public:
  explicit CsvTextParser(CsvParser parser) : parser_(std::move(parser)) {}
  bool Parse(std::string_view text, std::string& out) override { return parser_.Parse(text, out); }

 private:
  CsvParser parser_;
};

class RegexTextParser final : public TextParser {
 public:
  RegexTextParser(RegexLineParser parser, Counter* limit_hits) : parser_(std::move(parser)), limit_hits_(limit_hits) {}
  bool Parse(std::string_view text, std::string& out) override {
    if (parser_.Parse(text, out)) return true;
    if (parser_.limit_hit() && limit_hits_ != nullptr) limit_hits_->Inc();
    return false;
  }

 private:
  RegexLineParser parser_;
  Counter* limit_hits_;
};

// A format's parser (none for json), one per thread. The options were checked when the
// configuration was read, so this cannot fail then; if it does anyway, every
// text counts as not parsed (and is kept).
std::unique_ptr<TextParser> MakeTextParser(const ParseConfig& c, Counter* limit_hits) {
  if (c.format == "logfmt") return std::make_unique<LogfmtTextParser>();
  if (c.format == "csv") {
    if (Result<CsvParser> p = CsvParser::Create({c.columns, c.delimiter}); p.ok()) {
      return std::make_unique<CsvTextParser>(std::move(p).value());
    }
    return nullptr;
  }
  if (c.format == "regex") {
    if (Result<RegexLineParser> p = RegexLineParser::Create(c.pattern); p.ok()) {
      return std::make_unique<RegexTextParser>(std::move(p).value(), limit_hits);
    }
    return nullptr;
  }
  return nullptr;  // json: JsonDoc::SetParsed
}

class ParseTransform final : public Transform {
 public:
  ParseTransform(const ParseConfig& config, Counter* failures, Counter* limit_hits)
      : config_(config), target_{config.target}, failures_(failures), parser_(MakeTextParser(config, limit_hits)) {}

  const std::string* JsonLineTarget() const override {
    const bool envelope_key = config_.target == "msg" || config_.target == "path";
    return config_.format == "json" && !config_.field && !config_.keep_original && !envelope_key ? &config_.target
                                                                                                  : nullptr;
  }

  bool Apply(TransformRecord& r, TransformOutput&) override {
    const JsonPath* field = config_.field ? &*config_.field : nullptr;
    std::optional<JsonValue> text;
    if (field != nullptr) {
      text = r.doc.Find(*field);
    } else {
      field = &kMsgPath;
      text = r.doc.Find(kMsgPath);
      if (!text) {
        field = &kPayloadPath;
        text = r.doc.Find(kPayloadPath);
      }
    }
    if (!text) return true;
    if (text->type != JsonType::kString) {
      // A JSON payload is structured already: nothing to parse. A line or a
      // named field that is not text (not UTF-8: {"base64":...}) failed.
      if (field != &kPayloadPath && failures_ != nullptr) failures_->Inc();
      return true;
    }
    bool parsed = false;
    if (config_.format == "json") {
      // Parsed once, in the record's own pool: the fields are read from that
      // parse by the transforms after this one.
      parsed = r.doc.SetParsed(target_, text->text, /*object_only=*/true);
    } else {
      out_.clear();
      parsed = parser_ != nullptr && parser_->Parse(text->text, out_) && r.doc.Set(target_, out_);
    }
    if (!parsed) {
      if (failures_ != nullptr) failures_->Inc();
      return true;
    }
    if (!config_.keep_original && *field != target_) r.doc.Remove(*field);
    return true;
  }

 private:
  const ParseConfig config_;
  JsonPath target_;
  Counter* failures_;
  std::unique_ptr<TextParser> parser_;
  std::string out_;
};

class ParseFactory final : public TransformFactory {
 public:
  ParseFactory(ParseConfig config, const TransformContext& ctx) : config_(std::move(config)) {
    if (ctx.metrics != nullptr) {
      failures_ = &ctx.metrics->GetCounter("sluice_transform_parse_failures_total",
                                           "Texts that did not parse, kept unparsed", {{"transform", ctx.name}});
      limit_hits_ = &ctx.metrics->GetCounter("sluice_transform_regex_limit_hits_total",
                                             "Texts a regular expression gave up on at PCRE2's match limit",
                                             {{"transform", ctx.name}});
    }
  }
  std::unique_ptr<Transform> NewInstance() override {
    return std::make_unique<ParseTransform>(config_, failures_, limit_hits_);
  }

 private:
  ParseConfig config_;
  Counter* failures_ = nullptr;
  Counter* limit_hits_ = nullptr;
};

}  // namespace

ParseConfig ParseParseConfig(TableReader& r) {
  ParseConfig c;
  c.format = r.Enum("format", "json", {"json", "logfmt", "regex", "csv"}, "how the text is read");
  if (c.format == "regex") {
    c.pattern = r.RequiredString("pattern", "a PCRE2 regular expression whose named groups are the fields");
    if (Result<RegexLineParser> p = RegexLineParser::Create(c.pattern); !p.ok())
      r.Fail("pattern", p.status().message());
  }
  if (c.format == "csv") {
    c.columns = r.RequiredStrings("columns", "the fields' names, in the order of the columns");
    c.delimiter = r.String("delimiter", ",", "the byte between fields (\"\\t\" for TSV)");
    if (Result<CsvParser> p = CsvParser::Create({c.columns, c.delimiter}); !p.ok()) {
      const std::string& m = p.status().message();
      r.Fail(m.find("delimiter") != std::string::npos ? "delimiter" : "columns", m);
    }
  }
  c.field = OptionalFieldPath(r, "field", "the text to parse (default: msg, else payload)");
  c.target = r.String("target", "fields", "the top-level key that receives the parsed fields");
  if (c.target.empty() || c.target.find('.') != std::string::npos) {
    r.Fail("target", "must be one top-level key (no dots), e.g. \"fields\"");
  }
  if (c.target == "ts" || c.target == "source" || c.target == "host") {
    r.Fail("target", "\"" + c.target + "\" is part of every record's envelope; choose another key");
  }
  c.keep_original = r.Bool("keep_original", false, "keep the parsed text next to the fields");
  return c;
}

TransformBuilder MakeParseTransform(ParseConfig config) { return FactoryBuilder<ParseFactory>(std::move(config)); }

}  // namespace sluice
