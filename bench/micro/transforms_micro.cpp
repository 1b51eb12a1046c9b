// Micro-benchmarks of the transforms' stages on the record of
// bench/agent_transforms.sh: where a record's time goes between reading its
// JSON, parse(json), tokenize, writing it out and compressing it. The end to
// end figure is bench/agent_transforms.sh's; this says which stage to work on.
//
//   bash scripts/build.sh release sluice-transforms-micro
//   build/release/bench/sluice-transforms-micro
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "agent/buffer/batch_builder.h"
#include "agent/record/json_record.h"
#include "agent/transforms/json_doc.h"
#include "agent/transforms/fused_json_line.h"
#include "agent/transforms/json_index.h"
#include "agent/transforms/tokenize/hmac_tokenizer.h"
#include "agent/transforms/tokenize/token_cache.h"
#include "core/util/utf8.h"

namespace sluice {
namespace {

// The log line of bench/agent_transforms.sh, and the same followed by simdjson's padding.
const std::string kAppLine =
    R"({"ts":"2026-11-22T10:10:31.918Z","level":"info","user":"user-1918@example.com","ip":"10.110.164.0",)"
    R"("path":"/api/v1/items/631918","status":200,"latency_ms":118.8,"msg":"request served"})";
const std::string kPaddedAppLine = kAppLine + std::string(simdjson::SIMDJSON_PADDING, '\0');

std::string Envelope() {
  std::string out;
  JsonRecordEncoder().AppendLogLine(out, 1'700'000'000'000, "app", "edge-1", "/var/log/app.log", kAppLine);
  out.pop_back();  // the newline
  return out;
}

const JsonPath kMsg{"msg"};
const JsonPath kFields{"fields"};
const JsonPath kUser{"fields", "user"};
const JsonPath kIp{"fields", "ip"};

void BM_ParseEnvelope(benchmark::State& state) {
  const std::string line = Envelope();
  JsonParsers parsers;
  for (auto _ : state) {
    parsers.Reset();
    Result<JsonDoc> doc = JsonDoc::Parse(parsers, line);
    benchmark::DoNotOptimize(doc);
  }
}
BENCHMARK(BM_ParseEnvelope);

// parse(json): the msg's text parsed into fields, the msg removed.
void ParseMsg(JsonDoc& doc) {
  const std::optional<JsonValue> msg = doc.Find(kMsg);
  doc.SetParsed(kFields, msg->text, true);
  doc.Remove(kMsg);
}

void BM_ParseEnvelopeAndMsg(benchmark::State& state) {
  const std::string line = Envelope();
  JsonParsers parsers;
  for (auto _ : state) {
    parsers.Reset();
    JsonDoc doc = JsonDoc::Parse(parsers, line).value();
    ParseMsg(doc);
    benchmark::DoNotOptimize(doc);
  }
}
BENCHMARK(BM_ParseEnvelopeAndMsg);

void BM_HmacToken(benchmark::State& state) {
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  std::string out;
  for (auto _ : state) {
    out.clear();
    t.AppendToken("user-1918@example.com", out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_HmacToken);

// As the tokenize transform makes a token with its cache.
void CachedToken(HmacTokenizer& t, TokenCache& cache, std::string_view value, TokenDigest& computed,
                 std::string& out) {
  const TokenDigest* d = cache.Find(value);
  if (d == nullptr) {
    t.Digest(value, computed);
    cache.Remember(computed);
    d = &computed;
  }
  out.clear();
  HmacTokenizer::AppendHex(*d, out);
}

// A token through the tokenize transform's cache: a value seen before (one
// of 5000 users, as in the end-to-end benchmark), and values never seen
// again (every lookup a miss, its digest computed and remembered).
void BM_CachedToken(benchmark::State& state) {
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  TokenCache cache(8192);
  std::vector<std::string> users;
  for (int i = 0; i < 5000; ++i) users.push_back("user-" + std::to_string(i) + "@example.com");
  std::string out;
  TokenDigest computed{};
  size_t i = 0;
  for (auto _ : state) {
    const std::string& value = users[i++ % users.size()];
    CachedToken(t, cache, value, computed, out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_CachedToken);

void BM_CachedTokenAllMisses(benchmark::State& state) {
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  TokenCache cache(8192);
  std::string out;
  std::string value;
  TokenDigest computed{};
  uint64_t n = 0;
  for (auto _ : state) {
    value = "10." + std::to_string(n++);
    CachedToken(t, cache, value, computed, out);
    benchmark::DoNotOptimize(out);
  }
  state.counters["standing_aside"] = cache.standing_aside() ? 1 : 0;
}
BENCHMARK(BM_CachedTokenAllMisses);

// The same values without the cache: the yardstick for the two above.
void BM_UncachedTokenNewValues(benchmark::State& state) {
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  std::string out;
  std::string value;
  uint64_t n = 0;
  for (auto _ : state) {
    value = "10." + std::to_string(n++);
    out.clear();
    t.AppendToken(value, out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_UncachedTokenNewValues);

void Tokenize(JsonDoc& doc, HmacTokenizer& t, std::string& token) {
  for (const JsonPath* path : {&kUser, &kIp}) {
    const std::optional<JsonValue> v = doc.Find(*path);
    token.clear();
    token += '"';
    t.AppendToken(v->text, token);
    token += '"';
    doc.Set(*path, token);
  }
}

void BM_ParseTokenize(benchmark::State& state) {
  const std::string line = Envelope();
  JsonParsers parsers;
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  std::string token;
  for (auto _ : state) {
    parsers.Reset();
    JsonDoc doc = JsonDoc::Parse(parsers, line).value();
    ParseMsg(doc);
    Tokenize(doc, t, token);
    benchmark::DoNotOptimize(doc);
  }
}
BENCHMARK(BM_ParseTokenize);

void BM_ParseTokenizeWrite(benchmark::State& state) {
  const std::string line = Envelope();
  JsonParsers parsers;
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  std::string token;
  std::string out;
  for (auto _ : state) {
    parsers.Reset();
    JsonDoc doc = JsonDoc::Parse(parsers, line).value();
    ParseMsg(doc);
    Tokenize(doc, t, token);
    out.clear();
    doc.Write(out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ParseTokenizeWrite);

const std::string kTailEnvelope = R"({"ts":"","source":"app","host":"edge-1","path":"/var/log/app.log","msg":""})";
const JsonPath kTs{"ts"};

// A tailed line as the worker makes its record (StreamWriter::Worker::ProcessLogLine):
// the envelope's parse is kept across records, the timestamp and the line are set into it.
JsonDoc TailedRecord(JsonParsers& parsers) {
  JsonDoc doc = JsonDoc::ParseKept(parsers, kTailEnvelope).value();
  doc.Set(kTs, "\"2023-11-14T22:13:20.000Z\"");
  doc.SetString(kMsg, kAppLine);
  return doc;
}

// The worker's whole path for a tailed line: the record, parse(json),
// tokenize(user, ip) and the write (BM_ParseTokenizeWrite parses a whole
// envelope instead, as for an MQTT record).
void BM_TailedLineThroughTransforms(benchmark::State& state) {
  JsonParsers parsers;
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  std::string token;
  std::string out;
  for (auto _ : state) {
    parsers.Reset();
    JsonDoc doc = TailedRecord(parsers);
    ParseMsg(doc);
    Tokenize(doc, t, token);
    out.clear();
    doc.Write(out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_TailedLineThroughTransforms);

// Tokens as the tokenize transform makes them without a cache: the HMAC of each value.
class HmacFieldTokens final : public FieldTokens {
 public:
  explicit HmacFieldTokens(HmacTokenizer& t) : t_(t) {}
  const std::vector<JsonPath>& fields() const override { return fields_; }
  bool AppendToken(size_t, std::string_view value, std::string& out) override {
    out += '"';
    const bool made = t_.AppendToken(value, out);
    out += '"';
    return made;
  }
  void Tokenized(uint64_t) override {}

 private:
  HmacTokenizer& t_;
  const std::vector<JsonPath> fields_{kUser, kIp};
};

// The same record through the worker's fused path (fused_json_line.h): the
// same bytes as BM_TailedLineThroughTransforms writes (checked below).
void BM_TailedLineFused(benchmark::State& state) {
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  HmacFieldTokens tokens(t);
  FusedJsonLine fused("fields", tokens);
  const std::string ts = "\"2023-11-14T22:13:20.000Z\"";
  const std::string rest = R"(,"source":"app","host":"edge-1","path":"/var/log/app.log")";
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (!fused.Write(ts, rest, kAppLine, out)) state.SkipWithError("declined");
    benchmark::DoNotOptimize(out);
  }
  JsonParsers parsers;
  std::string token;
  JsonDoc doc = TailedRecord(parsers);
  ParseMsg(doc);
  Tokenize(doc, t, token);
  std::string general;
  doc.Write(general);
  if (out != general) state.SkipWithError("the fused record differs from the general path's");
}
BENCHMARK(BM_TailedLineFused);

// Writes a record made by `make`, then parse(json) and tokenize(user, ip), over and over.
template <class Make>
void WriteTokenized(benchmark::State& state, const Make& make) {
  JsonParsers parsers;
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  std::string token;
  std::string out;
  JsonDoc doc = make(parsers);
  ParseMsg(doc);
  Tokenize(doc, t, token);
  for (auto _ : state) {
    out.clear();
    doc.Write(out);
    benchmark::DoNotOptimize(out);
  }
}

// Only the write of that record.
void BM_TailedLineWrite(benchmark::State& state) { WriteTokenized(state, TailedRecord); }
BENCHMARK(BM_TailedLineWrite);

// The log line parsed by simdjson's DOM parser (as JsonDoc did before its index).
void BM_DomParseLine(benchmark::State& state) {
  simdjson::dom::parser dom;
  for (auto _ : state) {
    simdjson::dom::element root;
    benchmark::DoNotOptimize(dom.parse(kPaddedAppLine.data(), kAppLine.size(), false).get(root));
  }
}
BENCHMARK(BM_DomParseLine);

// Not the agent's path: the least an index from simdjson's On-Demand parser
// (which knows where each value is in the text) would cost. A text must be
// validated as the DOM parser does, and On-Demand validates only what is
// read, so every value is read, with its raw token; no index is made.
simdjson::error_code VisitOnDemand(simdjson::ondemand::value v, size_t& spans) {
  simdjson::ondemand::json_type type;
  if (const auto e = v.type().get(type)) return e;
  spans += v.raw_json_token().size();
  switch (type) {
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object obj;
      if (const auto e = v.get_object().get(obj)) return e;
      for (auto member : obj) {
        simdjson::ondemand::field f;
        if (const auto e = std::move(member).get(f)) return e;
        spans += f.key().raw() != nullptr ? 1 : 0;
        if (const auto e = VisitOnDemand(f.value(), spans)) return e;
      }
      return simdjson::SUCCESS;
    }
    case simdjson::ondemand::json_type::array: {
      simdjson::ondemand::array arr;
      if (const auto e = v.get_array().get(arr)) return e;
      for (auto element : arr) {
        simdjson::ondemand::value x;
        if (const auto e = std::move(element).get(x)) return e;
        if (const auto e = VisitOnDemand(x, spans)) return e;
      }
      return simdjson::SUCCESS;
    }
    case simdjson::ondemand::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case simdjson::ondemand::json_type::number: {
      simdjson::ondemand::number n;
      return v.get_number().get(n);
    }
    case simdjson::ondemand::json_type::boolean: {
      bool b = false;
      return v.get_bool().get(b);
    }
    case simdjson::ondemand::json_type::null: {
      bool is_null = false;
      if (const auto e = v.is_null().get(is_null)) return e;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// The line indexed as JsonDoc indexes it: every value with its place in the text.
void BM_IndexLine(benchmark::State& state) {
  JsonIndexer indexer;
  std::vector<JsonNode> nodes;
  std::string_view error;
  for (auto _ : state) {
    if (!indexer.Index(std::string_view(kPaddedAppLine.data(), kAppLine.size()), nodes, error)) {
      state.SkipWithError("not JSON");
    }
    benchmark::DoNotOptimize(nodes.data());
  }
}
BENCHMARK(BM_IndexLine);

void BM_OnDemandVisitLine(benchmark::State& state) {
  simdjson::ondemand::parser ondemand;
  for (auto _ : state) {
    simdjson::ondemand::document doc;
    simdjson::ondemand::value root;
    size_t spans = 0;
    if (ondemand.iterate(kPaddedAppLine.data(), kAppLine.size(), kPaddedAppLine.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_value().get(root) != simdjson::SUCCESS || VisitOnDemand(root, spans) != simdjson::SUCCESS) {
      state.SkipWithError("not JSON");
    }
    benchmark::DoNotOptimize(spans);
  }
}
BENCHMARK(BM_OnDemandVisitLine);

void BM_WriteEdited(benchmark::State& state) {
  const std::string line = Envelope();
  WriteTokenized(state, [&](JsonParsers& parsers) { return JsonDoc::Parse(parsers, line).value(); });
}
BENCHMARK(BM_WriteEdited);

// Not the agent's path: what a fused parse(json) + tokenize(user, ip) + write
// could cost at best, for the record BM_ParseTokenizeWrite makes through
// JsonDoc. The line is validated by the DOM parser (a line that is not JSON
// stays unparsed), the two values' spans in the line's own text come from
// On-Demand's raw tokens, and the record is the envelope's members, the
// line with the two tokens spliced in, and the closing brace. A yardstick
// for JsonDoc's machinery (bench/README, transforms).
void BM_FusedSpliceLowerBound(benchmark::State& state) {
  const std::string& line = kAppLine;
  const std::string prefix = R"({"ts":"2023-11-14T22:13:20.000Z","source":"app","host":"edge-1",)"
                             R"("path":"/var/log/app.log","fields":)";
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  simdjson::dom::parser dom;
  simdjson::ondemand::parser ondemand;
  std::string padded;
  padded.reserve(line.size() + simdjson::SIMDJSON_PADDING);
  std::string out;
  for (auto _ : state) {
    out.clear();
    simdjson::dom::element root;
    if (dom.parse(line).get(root) != simdjson::SUCCESS) state.SkipWithError("not JSON");
    padded.assign(line);
    simdjson::ondemand::document doc = ondemand.iterate(padded.data(), padded.size(), padded.capacity()).value_unsafe();
    out += prefix;
    size_t copied = 0;
    for (auto field : doc.get_object().value_unsafe()) {
      const std::string_view key = field.unescaped_key().value_unsafe();
      if (key != "user" && key != "ip") continue;
      simdjson::ondemand::value v = field.value().value_unsafe();
      const std::string_view raw = v.raw_json_token();
      const size_t at = static_cast<size_t>(raw.data() - padded.data());
      const std::string_view text = v.get_string().value_unsafe();
      out.append(line, copied, at - copied);
      out += '"';
      t.AppendToken(text, out);
      out += '"';
      copied = at + raw.size();
      while (copied > at && (line[copied - 1] == ' ' || line[copied - 1] == '\t')) --copied;
    }
    out.append(line, copied);
    out += '}';
    benchmark::DoNotOptimize(out);
  }
  // The yardstick must make the record the agent makes: valid JSON with the tokens in place.
  std::string user_token;
  t.AppendToken("user-1918@example.com", user_token);
  simdjson::dom::element made;
  std::string_view user;
  if (dom.parse(out).get(made) != simdjson::SUCCESS || made["fields"]["user"].get(user) != simdjson::SUCCESS ||
      user != user_token) {
    state.SkipWithError("the spliced record is wrong");
  }
}
BENCHMARK(BM_FusedSpliceLowerBound);

void BM_WriteUnedited(benchmark::State& state) {
  const std::string line = Envelope();
  JsonParsers parsers;
  std::string out;
  JsonDoc doc = JsonDoc::Parse(parsers, line).value();
  for (auto _ : state) {
    out.clear();
    doc.Write(out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_WriteUnedited);

// The stored form: each record appended to a zstd batch (level 1, as the agent).
void BM_BatchAppend(benchmark::State& state) {
  std::string line = Envelope();
  line += '\n';
  BatchBuilder b(1);
  int64_t n = 0;
  for (auto _ : state) {
    b.staging() += line;
    b.EndRecord(++n);
    if (b.raw_bytes() > (16 << 20)) benchmark::DoNotOptimize(b.Finish());
  }
}
BENCHMARK(BM_BatchAppend);

// The transformed records as stored: each with its two tokens (random to
// zstd, unlike the rest of a log line).
void BM_BatchAppendTokenized(benchmark::State& state) {
  HmacTokenizer t = HmacTokenizer::Create("0123456789abcdef0123456789abcdef").value();
  std::vector<std::string> lines;
  for (int i = 0; i < 4096; ++i) {
    std::string line = R"({"ts":"2026-11-23T01:43:51.028Z","source":"app","host":"vm","path":"/tmp/app.log",)"
                       R"("fields":{"ts":"2026-11-22T10:06:23.381Z","level":"info","user":")";
    t.AppendToken("user-" + std::to_string(i) + "@example.com", line);
    line += R"(","ip":")";
    t.AppendToken("10.1." + std::to_string(i), line);
    line += R"(","path":"/api/v1/items/)" + std::to_string(i * 7) +
            R"(","status":200,"latency_ms":281.1,"msg":"request served"}})";
    line += '\n';
    lines.push_back(std::move(line));
  }
  BatchBuilder b(1);
  int64_t n = 0;
  for (auto _ : state) {
    b.staging() += lines[static_cast<size_t>(n) % lines.size()];
    b.EndRecord(++n);
    if (b.raw_bytes() > (1 << 20)) benchmark::DoNotOptimize(b.Finish());
  }
}
BENCHMARK(BM_BatchAppendTokenized);

void BM_EncodeEnvelope(benchmark::State& state) {
  JsonRecordEncoder enc;
  std::string out;
  const std::string msg =
      R"({"ts":"2026-11-22T10:10:31.918Z","level":"info","user":"user-1918@example.com","ip":"10.110.164.0",)"
      R"("path":"/api/v1/items/631918","status":200,"latency_ms":118.8,"msg":"request served"})";
  for (auto _ : state) {
    out.clear();
    enc.AppendLogLine(out, 1'700'000'000'000, "app", "edge-1", "/var/log/app.log", msg);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_EncodeEnvelope);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
