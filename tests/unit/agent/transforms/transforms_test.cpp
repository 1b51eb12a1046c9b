// The transforms through a StreamWriter built from a real configuration: what
// each stream receives for given source records.
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "agent/agent_config.h"
#include "agent/record/json_record.h"
#include "agent/transforms/stream_writer.h"
#include "agent/transforms/tokenize/hmac_tokenizer.h"
#include "protocols/mqtt/mqtt_topic.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/agent/buffer/buffer_test_util.h"

using namespace sluice;

namespace {

constexpr int64_t kTs = 1'700'000'000'000;

// An agent configuration with the tail source "app" or the MQTT source
// "sensors", the given transforms, and a lake sink taking `inputs`.
AgentConfig TransformsConfig(const std::string& transforms, const std::string& inputs, const std::string& source) {
  const std::string toml = (source == "app" ? R"(
[sources.app]
type = "tail"
paths = ["/var/log/app.log"]
)"
                                            : R"(
[sources.sensors]
type = "mqtt"
url = "mqtt://127.0.0.1:1883"
topics = ["plant/#"]
)") + transforms + R"(
[sinks.lake]
type = "lake"
path = "/tmp/lake"
inputs = )" + inputs + "\n";
  return ParseAgentConfig(ConfigDocument::Parse(toml, "agent.toml"));
}

class Pipeline {
 public:
  // workers: the StreamWriter's transform threads (0: as many as it picks for this machine's cores).
  // fuse: tailed JSON lines may take the fused path (TransformTopology::fuse_json_lines).
  Pipeline(const std::string& transforms, const std::string& inputs, const std::string& source = "app", int workers = 0,
           bool fuse = true)
      : config_(TransformsConfig(transforms, inputs, source)) {
    std::set<std::string, std::less<>> stored;
    for (const SinkSpec& s : config_.sinks) stored.insert(s.inputs.begin(), s.inputs.end());
    Result<TransformTopology> t = BuildTransformTopology(config_.transforms, std::move(stored), "edge-1", &metrics_,
                                                         test::QuietLogger(), nullptr);
    REQUIRE(t.ok());
    topology_ = std::make_unique<TransformTopology>(std::move(t).value());
    topology_->workers = workers;
    topology_->fuse_json_lines = fuse;
    writer_ = std::make_unique<StreamWriter>(source, topology_.get(), test::QuietLogger());
  }

  // A line as the tail source hands it over.
  void Line(std::string_view line, int64_t ts = kTs, std::string_view path = "/var/log/app.log") {
    if (writer_->direct()) {
      encoder_.AppendLogLine(writer_->staging(), ts, "app", "edge-1", path, line);
      writer_->EndRecord(ts);
    } else {
      writer_->AddLogLine(ts, path, line);
    }
  }
  void Mqtt(std::string_view topic, std::string_view payload, int64_t ts = kTs) {
    std::string rec;
    MqttRecordFields f;
    f.topic = topic;
    f.payload = payload;
    f.qos = 1;
    encoder_.AppendMqttMessage(rec, ts, "sensors", "edge-1", f);
    writer_->Add(ts, rec);
  }

  // stream -> its records as stored.
  std::map<std::string, std::vector<std::string>> FinishLines() {
    Result<std::vector<StreamBatch>> batches = writer_->Finish();
    REQUIRE(batches.ok());
    std::map<std::string, std::vector<std::string>> out;
    for (const StreamBatch& b : batches.value()) {
      for (std::string& line : test::DecodeLines(b.batch.zstd)) out[b.stream].push_back(std::move(line));
    }
    return out;
  }

  // stream -> its records, parsed.
  std::map<std::string, std::vector<nlohmann::json>> Finish() {
    Result<std::vector<StreamBatch>> batches = writer_->Finish();
    REQUIRE(batches.ok());
    std::map<std::string, std::vector<nlohmann::json>> out;
    for (const StreamBatch& b : batches.value()) {
      for (const std::string& line : test::DecodeLines(b.batch.zstd))
        out[b.stream].push_back(nlohmann::json::parse(line));
    }
    return out;
  }

  StreamWriter& writer() { return *writer_; }
  void Restore(const std::string& source, const std::map<std::string, std::string>& checkpoints) {
    for (auto& [name, f] : topology_->factories) f->Restore(source, checkpoints);
  }
  double Counter(const std::string& name, const Labels& labels) {
    return static_cast<double>(metrics_.GetCounter(name, "", labels).value());
  }

 private:
  AgentConfig config_;
  MetricsRegistry metrics_;
  std::unique_ptr<TransformTopology> topology_;
  std::unique_ptr<StreamWriter> writer_;
  JsonRecordEncoder encoder_;
};

void WriteFileForTest(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("transforms: HMAC tokens match RFC 4231's test vector", "[unit][transforms]") {
  Result<HmacTokenizer> t = HmacTokenizer::Create("Jefe");
  REQUIRE(t.ok());
  std::string out;
  REQUIRE(t->AppendToken("what do ya want for nothing?", out));
  CHECK(out == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // The key's state is reused: the same value twice gives the same token.
  std::string again;
  REQUIRE(t->AppendToken("what do ya want for nothing?", again));
  CHECK(again == out);
  // Test case 6: a key longer than SHA-256's block is hashed first.
  Result<HmacTokenizer> long_key = HmacTokenizer::Create(std::string(131, '\xaa'));
  REQUIRE(long_key.ok());
  std::string six;
  REQUIRE(long_key->AppendToken("Test Using Larger Than Block-Size Key - Hash Key First", six));
  CHECK(six == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// Every length across SHA-256's block boundaries (a value of 55 bytes or less
// is padded within one block), for keys shorter than, as long as and longer
// than a block, against OpenSSL's one-shot HMAC().
TEST_CASE("transforms: HMAC tokens equal OpenSSL's HMAC for values of every length to 200 bytes", "[unit][transforms]") {
  for (const std::string& key : {std::string("k"), std::string(64, 'K'), std::string(100, '\x01')}) {
    Result<HmacTokenizer> t = HmacTokenizer::Create(key);
    REQUIRE(t.ok());
    for (size_t len = 0; len <= 200; ++len) {
      std::string value;
      for (size_t i = 0; i < len; ++i) value += static_cast<char>((i * 131 + len) & 0xff);
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int md_len = 0;
      REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                   reinterpret_cast<const unsigned char*>(value.data()), value.size(), md, &md_len) != nullptr);
      std::string expected;
      for (unsigned int i = 0; i < md_len; ++i) expected += fmt::format("{:02x}", md[i]);
      std::string got = "prefix:";
      REQUIRE(t->AppendToken(value, got));
      INFO("key of " << key.size() << " bytes, value of " << len);
      CHECK(got == "prefix:" + expected);
    }
  }
}

TEST_CASE("transforms: without transforms the writer is the source's own stream", "[unit][transforms]") {
  Pipeline p("", R"(["app"])");
  CHECK(p.writer().direct());
  p.Line("plain");
  auto out = p.Finish();
  REQUIRE(out.size() == 1);
  CHECK(out["app"].at(0)["msg"] == "plain");
}

TEST_CASE("transforms: parse json keeps fields, and a line that fails stays as it was, counted", "[unit][transforms]") {
  Pipeline p(R"(
[transforms.parsed]
type = "parse"
inputs = ["app"]
format = "json"
)",
             R"(["parsed"])");
  CHECK_FALSE(p.writer().direct());
  p.Line(R"({"level":"info","user":"ann","n":3,"nested":{"a":[1,2]}})");
  p.Line(R"({"level":"info", broken)");
  p.Line(R"([1,2,3])");  // valid JSON, not an object
  p.Line("\xff\xfe not utf-8");
  p.Line(std::string(2 << 20, 'y'));
  auto out = p.Finish();
  CHECK(out.count("app") == 0);  // no sink takes the source itself
  const auto& recs = out["parsed"];
  REQUIRE(recs.size() == 5);
  CHECK(recs[0]["fields"] == nlohmann::json::parse(R"({"level":"info","user":"ann","n":3,"nested":{"a":[1,2]}})"));
  CHECK_FALSE(recs[0].contains("msg"));
  CHECK(recs[0]["source"] == "app");
  CHECK(recs[0]["path"] == "/var/log/app.log");
  CHECK(recs[1]["msg"] == R"({"level":"info", broken)");
  CHECK_FALSE(recs[1].contains("fields"));
  CHECK(recs[2]["msg"] == "[1,2,3]");
  CHECK(recs[3]["msg"].contains("base64"));
  CHECK(recs[4]["msg"].get<std::string>().size() == (2u << 20));
  CHECK(p.Counter("sluice_transform_parse_failures_total", {{"transform", "parsed"}}) == 4);
}

TEST_CASE("transforms: a log line's record is the encoder's, byte for byte, in every stream that keeps it whole",
          "[unit][transforms]") {
  // The transforms see a log line's envelope without the source encoding it
  // (StreamWriter::AddLogLine); a record they pass unchanged (here: lines
  // parse cannot read) must still be exactly what the encoder writes, as the
  // source's own stream is.
  Pipeline p(R"(
[transforms.parsed]
type = "parse"
inputs = ["app"]
format = "json"
)",
             R"(["app", "parsed"])");
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"plain text", "/var/log/app.log"},
      {"quotes \" and \\ backslashes, \t tab, \x01 control, \u00e9 \xc3\xa9", "/var/log/app.log"},
      {"first line\n  continued (multiline)", "/var/log/other.log"},
      {"\xff\xfe not utf-8", "/var/log/other.log"},
      {"", "/var/log/\xff-not-utf8-name.log"},
      {R"({"broken": )", "/var/log/app.log"},
  };
  std::string expected;
  JsonRecordEncoder encoder;
  int64_t ts = kTs;
  for (const auto& [line, path] : lines) {
    encoder.AppendLogLine(expected, ts, "app", "edge-1", path, line);
    p.Line(line, ts, path);
    ts += 1001;  // a new timestamp for every record
  }
  Result<std::vector<StreamBatch>> batches = p.writer().Finish();
  REQUIRE(batches.ok());
  std::map<std::string, std::string> text;
  for (const StreamBatch& b : batches.value()) {
    for (const std::string& line : test::DecodeLines(b.batch.zstd)) text[b.stream] += line + "\n";
  }
  CHECK(text["app"] == expected);
  CHECK(text["parsed"] == expected);
}

TEST_CASE("transforms: parse then tokenize, with the raw stream kept next to them", "[unit][transforms]") {
  test::TempDir dir;
  { std::ofstream(dir / "key") << "0123456789abcdef0123456789abcdef\n"; }
  Pipeline p(R"(
[transforms.parsed]
type = "parse"
inputs = ["app"]
[transforms.tokens]
type = "tokenize"
inputs = ["parsed"]
fields = ["fields.user", "fields.id", "fields.missing", "fields.nothing"]
key_file = ")" + (dir / "key").string() +
                 R"("
prefix = "tok_"
)",
             R"(["app", "tokens"])");
  p.Line(R"({"user":"ann@example.com","id":42,"nothing":null,"keep":"x"})");
  p.Line(R"({"user":"ann@example.com"})");
  auto out = p.Finish();
  REQUIRE(out["app"].size() == 2);
  CHECK(out["app"][0].contains("msg"));  // the source's own stream is untouched
  CHECK(out.count("parsed") == 0);       // no sink takes the intermediate stream
  const auto& t = out["tokens"];
  REQUIRE(t.size() == 2);
  Result<HmacTokenizer> h = HmacTokenizer::Create("0123456789abcdef0123456789abcdef");
  REQUIRE(h.ok());
  std::string user = "tok_", id = "tok_";
  REQUIRE(h->AppendToken("ann@example.com", user));
  REQUIRE(h->AppendToken("42", id));
  CHECK(t[0]["fields"]["user"] == user);
  CHECK(t[0]["fields"]["id"] == id);
  CHECK(t[0]["fields"]["nothing"].is_null());
  CHECK(t[0]["fields"]["keep"] == "x");
  CHECK_FALSE(t[0]["fields"].contains("missing"));
  CHECK(t[1]["fields"]["user"] == user);  // the same value, the same token
}

// The tokens of values that recur, that outgrow the cache (16 values of 40 in
// turn) and that are too long for it, with the cache and without: every one
// equals the HMAC computed afresh.
TEST_CASE("transforms: tokenize's cache never changes a token", "[unit][transforms]") {
  test::TempDir dir;
  { std::ofstream(dir / "key") << "0123456789abcdef0123456789abcdef\n"; }
  Result<HmacTokenizer> h = HmacTokenizer::Create("0123456789abcdef0123456789abcdef");
  REQUIRE(h.ok());
  for (const char* cache : {"16", "0", "8192"}) {
    INFO("cache = " << cache);
    Pipeline p(R"(
[transforms.parsed]
type = "parse"
inputs = ["app"]
[transforms.tokens]
type = "tokenize"
inputs = ["parsed"]
fields = ["fields.user", "fields.n"]
cache = )" + std::string(cache) + R"(
key_file = ")" + (dir / "key").string() + "\"\n",
               R"(["tokens"])", "app", 2);
    std::vector<std::pair<std::string, std::string>> sent;
    for (int i = 0; i < 600; ++i) {
      std::string user = "user-" + std::to_string(i % 40) + "@example.com";
      if (i % 7 == 0) user += std::string(70, 'z');  // longer than the cache keeps
      const std::string n = std::to_string(i % 3 == 0 ? i : i % 5);
      p.Line(R"({"user":")" + user + R"(","n":)" + n + "}");
      sent.emplace_back(user, n);
    }
    auto out = p.Finish();
    const auto& t = out["tokens"];
    REQUIRE(t.size() == sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
      std::string user, n;
      REQUIRE(h->AppendToken(sent[i].first, user));
      REQUIRE(h->AppendToken(sent[i].second, n));
      INFO("record " << i);
      CHECK(t[i]["fields"]["user"] == user);
      CHECK(t[i]["fields"]["n"] == n);
    }
    CHECK(p.Counter("sluice_transform_tokenized_fields_total", {{"transform", "tokens"}}) == 1200);
  }
}

namespace {

// A JSON line as partners' applications write them, and as they should not:
// members of every type under keys the tokenize transform names (repeated,
// escaped), spaces and tabs anywhere JSON allows them, and now and then a
// line that is not a JSON object at all.
std::string RandomLogLine(std::mt19937& rng) {
  const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const auto ws = [&] {
    static const char* const kSpaces[] = {"", "", "", " ", "  ", "\t", " \t "};
    return std::string(kSpaces[pick(7)]);
  };
  static const char* const kKeys[] = {"user", "ip", "n", "level", "msg", "\"us\\u0065r\"", "ip ", "User", "fields"};
  static const char* const kValues[] = {
      R"("user-17@example.com")", R"("10.1.2.3")",   R"("")",         "42",         "-0.5e3",     "1.0",
      "true",                     "false",           "null",          R"({"a":1})", "[1, \"x\"]", R"("caf\u00e9 \"q\"")",
      "\"caf\xc3\xa9\"",          R"("tab\there")", R"("a\/b\\c")", "{}",         "[]",         R"("line\nbreak")"};
  switch (pick(40)) {
    case 0: return "";
    case 1: return "{}";
    case 2: return R"([{"user":"a"}])";
    case 3: return R"("just a string")";
    case 4: return "17";
    case 5: return R"({"user":"cut)";               // not JSON
    case 6: return "{\"user\":\"bad \xff byte\"}";  // not UTF-8
    case 7: return "{\"user\":\"x\",\r\"ip\":\"y\"}";  // a carriage return between members
    case 8: return "plain text, not JSON";
    default: break;
  }
  std::string line = ws() + "{" + ws();
  const size_t members = pick(7);
  for (size_t m = 0; m < members; ++m) {
    if (m > 0) line += ws() + "," + ws();
    const std::string key = kKeys[pick(9)];
    line += (key.front() == '"' ? key : "\"" + key + "\"") + ws() + ":" + ws();
    line += pick(12) == 0 ? "\"" + std::string(300 + pick(200), 'v') + "\"" : std::string(kValues[pick(18)]);
  }
  return line + ws() + "}" + ws();
}

}  // namespace

// The fused path (fused_json_line.h) must write, for every line, the bytes
// the general path writes, count what it counts, and leave it the lines it
// declines; both pipelines get the same random lines.
TEST_CASE("transforms: the fused path for tailed JSON lines writes what the general path writes",
          "[unit][transforms]") {
  test::TempDir dir;
  { std::ofstream(dir / "key") << "0123456789abcdef0123456789abcdef\n"; }
  for (const std::string fields : {R"(["fields.user", "fields.ip", "fields.n"])", R"(["fields.ip"])"}) {
    INFO("fields = " << fields);
    const std::string transforms = R"(
[transforms.parsed]
type = "parse"
inputs = ["app"]
format = "json"
[transforms.tokens]
type = "tokenize"
inputs = ["parsed"]
prefix = "tok_"
cache = 4
fields = )" + fields + R"(
key_file = ")" + (dir / "key").string() + "\"\n";
    Pipeline fused(transforms, R"(["tokens"])", "app", 2, /*fuse=*/true);
    Pipeline general(transforms, R"(["tokens"])", "app", 2, /*fuse=*/false);
    std::mt19937 rng(20261124);
    std::vector<std::string> lines;
    for (int i = 0; i < 4000; ++i) lines.push_back(RandomLogLine(rng));
    // A line of 70,000 members, whose index is given back before the next line.
    std::string huge = R"({"user":"u")";
    for (int k = 0; k < 70'000; ++k) huge += ",\"k" + std::to_string(k) + "\":" + std::to_string(k);
    lines[100] = huge + R"(,"ip":"10.0.0.1"})";
    for (size_t i = 0; i < lines.size(); ++i) {
      // Two files: the envelope's path changes now and then.
      const std::string path = i % 500 < 250 ? "/var/log/app.log" : "/var/log/\"other\".log";
      fused.Line(lines[i], kTs + static_cast<int64_t>(i / 3), path);
      general.Line(lines[i], kTs + static_cast<int64_t>(i / 3), path);
    }
    auto a = fused.FinishLines();
    auto b = general.FinishLines();
    REQUIRE(a["tokens"].size() == lines.size());
    REQUIRE(b["tokens"].size() == lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      INFO("line " << i << ": " << lines[i]);
      REQUIRE(a["tokens"][i] == b["tokens"][i]);
    }
    // Most lines took the fused path, not all; none did with it turned off.
    CHECK(fused.writer().fused_records() > lines.size() / 2);
    CHECK(fused.writer().fused_records() < lines.size());
    CHECK(general.writer().fused_records() == 0);
    for (const char* counter : {"sluice_transform_records_in_total", "sluice_transform_records_out_total"}) {
      for (const char* t : {"parsed", "tokens"}) {
        INFO(counter << " " << t);
        CHECK(fused.Counter(counter, {{"transform", t}}) == general.Counter(counter, {{"transform", t}}));
        CHECK(fused.Counter(counter, {{"transform", t}}) == static_cast<double>(lines.size()));
      }
    }
    CHECK(fused.Counter("sluice_transform_tokenized_fields_total", {{"transform", "tokens"}}) ==
          general.Counter("sluice_transform_tokenized_fields_total", {{"transform", "tokens"}}));
    CHECK(fused.Counter("sluice_transform_parse_failures_total", {{"transform", "parsed"}}) ==
          general.Counter("sluice_transform_parse_failures_total", {{"transform", "parsed"}}));
    CHECK(general.Counter("sluice_transform_parse_failures_total", {{"transform", "parsed"}}) > 0);
  }
}

// Chains the fused path does not fit take the general path, whole.
TEST_CASE("transforms: the fused path is taken only by the chain it fits", "[unit][transforms]") {
  test::TempDir dir;
  { std::ofstream(dir / "key") << "0123456789abcdef0123456789abcdef\n"; }
  const std::string key = "key_file = \"" + (dir / "key").string() + "\"\n";
  const std::string parse = "[transforms.parsed]\ntype = \"parse\"\ninputs = [\"app\"]\n";
  const std::string tokenize = "[transforms.tokens]\ntype = \"tokenize\"\ninputs = [\"parsed\"]\n" + key;
  struct Case {
    std::string transforms, inputs;
    bool fused;
  };
  for (const Case& c : std::vector<Case>{
           {parse + tokenize + "fields = [\"fields.user\"]\n", R"(["tokens"])", true},
           {parse + "target = \"doc\"\n" + tokenize + "fields = [\"doc.user\"]\n", R"(["tokens"])", true},
           // A member of a member, a key twice, a field outside the parsed object.
           {parse + tokenize + "fields = [\"fields.user.name\"]\n", R"(["tokens"])", false},
           {parse + tokenize + "fields = [\"fields.user\", \"fields.user\"]\n", R"(["tokens"])", false},
           {parse + tokenize + "fields = [\"fields.user\", \"path\"]\n", R"(["tokens"])", false},
           // The parsed stream stored too; the original kept; another format; the line's own key.
           {parse + tokenize + "fields = [\"fields.user\"]\n", R"(["parsed", "tokens"])", false},
           {parse + "keep_original = true\n" + tokenize + "fields = [\"fields.user\"]\n", R"(["tokens"])", false},
           {parse + "format = \"logfmt\"\n" + tokenize + "fields = [\"fields.user\"]\n", R"(["tokens"])", false},
           {parse + "target = \"msg\"\n" + tokenize + "fields = [\"msg.user\"]\n", R"(["tokens"])", false},
       }) {
    INFO(c.transforms << "inputs = " << c.inputs);
    Pipeline p(c.transforms, c.inputs, "app", 1);
    p.Line(R"({"user":"ann","n":1})");
    p.Line(R"({"user":"bob","n":2})");
    auto out = p.FinishLines();
    CHECK(out["tokens"].size() == 2);
    CHECK(p.writer().fused_records() == (c.fused ? 2U : 0U));
  }
}

TEST_CASE("transforms: redact removes or masks named fields of MQTT payloads", "[unit][transforms]") {
  Pipeline p(R"(
[transforms.gone]
type = "redact"
inputs = ["sensors"]
fields = ["payload.owner", "payload.geo.lat"]
[transforms.masked]
type = "redact"
inputs = ["sensors"]
fields = ["payload.owner"]
mode = "mask"
mask = "***"
)",
             R"(["gone", "masked"])", "sensors");
  p.Mqtt("plant/1/temp", R"({"c":21.5,"owner":"bob","geo":{"lat":1.5,"lon":2}})");
  p.Mqtt("plant/1/temp", R"({"c":22})");
  auto out = p.Finish();
  REQUIRE(out["gone"].size() == 2);
  CHECK(out["gone"][0]["payload"] == nlohmann::json::parse(R"({"c":21.5,"geo":{"lon":2}})"));
  CHECK(out["gone"][0]["topic"] == "plant/1/temp");
  CHECK(out["gone"][1]["payload"] == nlohmann::json::parse(R"({"c":22})"));
  CHECK(out["masked"][0]["payload"]["owner"] == "***");
  CHECK_FALSE(out["masked"][1]["payload"].contains("owner"));
  CHECK(p.Counter("sluice_transform_redacted_total", {{"transform", "gone"}}) == 2);
}

TEST_CASE("transforms: sample keeps 1 in N and throttle R per second per key, by arrival time", "[unit][transforms]") {
  Pipeline p(R"(
[transforms.one_in_4]
type = "sample"
inputs = ["sensors"]
rate = 4
[transforms.slow]
type = "throttle"
inputs = ["sensors"]
rate = 2
burst = 3
)",
             R"(["one_in_4", "slow"])", "sensors");
  // 20 records per topic within one second, then 1 s later 20 more.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 20; ++i) {
      p.Mqtt("a", "1", kTs + round * 1000 + i);
      p.Mqtt("b", "1", kTs + round * 1000 + i);
    }
  }
  auto out = p.Finish();
  CHECK(out["one_in_4"].size() == 80 / 4);
  // Per key: the burst of 3 at once, then 2 tokens after one second.
  std::map<std::string, int> per_topic;
  for (const auto& r : out["slow"]) per_topic[r["topic"]]++;
  CHECK(per_topic["a"] == 5);
  CHECK(per_topic["b"] == 5);
  CHECK(p.Counter("sluice_transform_records_in_total", {{"transform", "slow"}}) == 80);
  CHECK(p.Counter("sluice_transform_records_out_total", {{"transform", "slow"}}) == 10);
}

TEST_CASE("transforms: schema drift writes one event per change, quiet on the first shape and on key order",
          "[unit][transforms]") {
  Pipeline p(R"(
[transforms.drift]
type = "schema"
inputs = ["sensors"]
topics = ["plant/+/temp"]
)",
             R"(["_events"])", "sensors");
  p.Mqtt("plant/1/temp", R"({"c":21.5,"unit":"C"})");
  p.Mqtt("plant/2/temp", R"({"unit":"C","c":22})");                          // same filter, same shape in another order
  p.Mqtt("plant/1/temp", R"({"c":"21.5","unit":"C","battery":{"v":3.1}})");  // type change, two added
  p.Mqtt("plant/1/temp", R"({"c":"21.5","battery":{"v":3.1}})");             // unit vanished
  p.Mqtt("plant/1/hum", R"({"h":40})");                                      // another key: first shape
  p.Mqtt("plant/1/hum", R"(not json)");                                      // no structure: not watched
  std::vector<CheckpointUpdate> cps = p.writer().TakeCheckpoints();
  auto out = p.Finish();
  const auto& ev = out["_events"];
  REQUIRE(ev.size() == 2);
  CHECK(ev[0]["event"] == "schema_change");
  CHECK(ev[0]["transform"] == "drift");
  CHECK(ev[0]["source"] == "sensors");
  CHECK(ev[0]["host"] == "edge-1");
  CHECK(ev[0]["filter"] == "plant/+/temp");
  CHECK(ev[0]["origin"] == "plant/1/temp");
  CHECK(ev[0]["changed"] == nlohmann::json::parse(R"([{"field":"c","from":"number","to":"string"}])"));
  CHECK(ev[0]["added"] ==
        nlohmann::json::parse(R"([{"field":"battery","type":"object"},{"field":"battery.v","type":"number"}])"));
  CHECK(ev[0]["removed"].empty());
  CHECK(ev[1]["removed"] == nlohmann::json::parse(R"([{"field":"unit","type":"string"}])"));
  CHECK(p.Counter("sluice_transform_schema_changes_total", {{"transform", "drift"}, {"change", "added"}}) == 2);
  CHECK(p.Counter("sluice_transform_schema_changes_total", {{"transform", "drift"}, {"change", "type"}}) == 1);
  CHECK(p.Counter("sluice_transform_schema_changes_total", {{"transform", "drift"}, {"change", "removed"}}) == 1);
  // The shapes go with the source's checkpoint: one key per filter, the last shape.
  std::map<std::string, std::string> saved;
  for (const auto& u : cps) saved[u.key] = u.value.value_or("");
  CHECK(saved.size() == 2);
  CHECK(saved["schema/drift/plant/+/temp"] == "battery\tobject\nbattery.v\tnumber\nc\tstring\n");
  CHECK(saved["schema/drift/"] == "h\tnumber\n");
}

TEST_CASE("transforms: a restored shape is not reported again after a restart", "[unit][transforms]") {
  const std::string transforms = R"(
[transforms.drift]
type = "schema"
inputs = ["sensors"]
)";
  std::map<std::string, std::string> saved;
  {
    Pipeline p(transforms, R"(["_events"])", "sensors");
    p.Mqtt("t", R"({"a":1})");
    p.Mqtt("t", R"({"a":1,"b":2})");
    for (const auto& u : p.writer().TakeCheckpoints()) saved[u.key] = *u.value;
    CHECK(p.Finish()["_events"].size() == 1);
  }
  Pipeline again(transforms, R"(["_events"])", "sensors");
  again.Restore("sensors", saved);
  again.Mqtt("t", R"({"a":1,"b":2})");  // the shape it had: nothing to report
  again.Mqtt("t", R"({"a":1})");        // b vanished since
  auto out = again.Finish();
  REQUIRE(out["_events"].size() == 1);
  CHECK(out["_events"][0]["removed"] == nlohmann::json::parse(R"([{"field":"b","type":"number"}])"));
}

TEST_CASE("transforms: configuration errors name the transform and the problem", "[unit][transforms]") {
  const auto error_of = [](const std::string& transforms, const std::string& inputs) -> std::string {
    try {
      TransformsConfig(transforms, inputs, "app");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  CHECK_THAT(error_of("[transforms.a]\ntype = \"parse\"\ninputs = [\"nope\"]\n", R"(["a"])"),
             Catch::Contains("transforms.a.inputs") && Catch::Contains("no source or transform named \"nope\""));
  CHECK_THAT(error_of("[transforms.a]\ntype = \"parse\"\ninputs = [\"app\", \"b\"]\n"
                      "[transforms.b]\ntype = \"sample\"\ninputs = [\"a\"]\n",
                      R"(["b"])"),
             Catch::Contains("cycle") && Catch::Contains("a -> b -> a"));
  CHECK_THAT(error_of("[transforms.a]\ntype = \"parse\"\ninputs = [\"app\"]\n", R"(["app"])"),
             Catch::Contains("transform \"a\" is not in the inputs of any sink or transform"));
  CHECK_THAT(error_of("[transforms.app]\ntype = \"parse\"\ninputs = [\"app\"]\n", R"(["app"])"),
             Catch::Contains("already a source's name"));
  CHECK_THAT(error_of("[transforms.d]\ntype = \"schema\"\ninputs = [\"app\"]\n", R"(["app"])"),
             Catch::Contains("no sink takes \"_events\""));
  CHECK_THAT(error_of("[transforms.a]\ntype = \"nope\"\ninputs = [\"app\"]\n", R"(["a"])"),
             Catch::Contains("unknown transform type \"nope\""));
  CHECK_THAT(error_of("[transforms.t]\ntype = \"tokenize\"\ninputs = [\"app\"]\nfields = [\"msg\"]\n"
                      "key_file = \"/nonexistent/key\"\n",
                      R"(["t"])"),
             Catch::Contains("transforms.t.key_file"));
  CHECK_THAT(error_of("[transforms.t]\ntype = \"tokenize\"\ninputs = [\"app\"]\nfields = [\"fields..x\"]\n"
                      "key_file = \"/etc/hostname\"\n",
                      R"(["t"])"),
             Catch::Contains("not a field path"));
  CHECK_THAT(error_of("[transforms.g]\ntype = \"gaps\"\ninputs = [\"app\"]\ntopics = [\"a/#/b\"]\n", R"(["_events"])"),
             Catch::Contains("transforms.g.topics"));
  CHECK_THAT(error_of("", R"(["app", "_events"])"), Catch::Contains("there is none"));
  test::TempDir keys;
  WriteFileForTest(keys / "short", "short\n");
  CHECK_THAT(error_of("[transforms.t]\ntype = \"tokenize\"\ninputs = [\"app\"]\nfields = [\"msg\"]\nkey_file = \"" +
                          (keys / "short").string() + "\"\n",
                      R"(["t"])"),
             Catch::Contains("transforms.t.key_file") && Catch::Contains("use at least 16"));
  WriteFileForTest(keys / "good", "0123456789abcdef0123456789abcdef\n");
  CHECK_THAT(error_of("[transforms.t]\ntype = \"tokenize\"\ninputs = [\"app\"]\nfields = [\"fields.user\"]\nkey_file = \"" +
                          (keys / "good").string() + "\"\ncache = -1\n",
                      R"(["t"])"),
             Catch::Contains("transforms.t.cache"));
  CHECK_THAT(error_of("[transforms.s]\ntype = \"throttle\"\ninputs = [\"app\"]\nrate = 0\n", R"(["s"])"),
             Catch::Contains("transforms.s.rate"));
  CHECK_THAT(error_of("[transforms.r]\ntype = \"parse\"\ninputs = [\"app\"]\nformat = \"regex\"\npattern = \"(a\"\n",
                      R"(["r"])"),
             Catch::Contains("transforms.r.pattern"));
  CHECK_THAT(error_of("[transforms.c]\ntype = \"parse\"\ninputs = [\"app\"]\nformat = \"csv\"\n", R"(["c"])"),
             Catch::Contains("missing required key 'columns'"));
  CHECK_THAT(error_of("[transforms.x]\ntype = \"redact\"\ninputs = [\"app\"]\npatterns = [\"[\"]\n", R"(["x"])"),
             Catch::Contains("transforms.x.patterns"));
  CHECK_THAT(error_of("[transforms.x]\ntype = \"redact\"\ninputs = [\"app\"]\n", R"(["x"])"),
             Catch::Contains("name fields or patterns"));
  CHECK(error_of("[transforms.d]\ntype = \"schema\"\ninputs = [\"app\"]\n", R"(["app", "_events"])").empty());
}

TEST_CASE("transforms: MQTT topic filters match as the broker does", "[unit][transforms]") {
  CHECK(TopicMatchesFilter("plant/+/temp", "plant/1/temp"));
  CHECK_FALSE(TopicMatchesFilter("plant/+/temp", "plant/1/2/temp"));
  CHECK_FALSE(TopicMatchesFilter("plant/+/temp", "plant/1/hum"));
  CHECK(TopicMatchesFilter("plant/#", "plant"));
  CHECK(TopicMatchesFilter("plant/#", "plant/a/b"));
  CHECK(TopicMatchesFilter("#", "a/b"));
  CHECK_FALSE(TopicMatchesFilter("#", "$SYS/x"));
  CHECK_FALSE(TopicMatchesFilter("+/x", "$aws/x"));
  CHECK(TopicMatchesFilter("$aws/+", "$aws/x"));
  CHECK(TopicMatchesFilter("a/+", "a/"));
  CHECK_FALSE(TopicMatchesFilter("a/+", "a"));
  CHECK(TopicMatchesFilter("a//b", "a//b"));
  CHECK_FALSE(TopicMatchesFilter("a/b", "a/b/c"));
  CHECK_FALSE(TopicMatchesFilter("a/b/c", "a/b"));
}

TEST_CASE("transforms: parse logfmt, csv and regex lines into fields", "[unit][transforms]") {
  Pipeline p(R"(
[transforms.kv]
type = "parse"
inputs = ["app"]
format = "logfmt"
[transforms.cols]
type = "parse"
inputs = ["app"]
format = "csv"
columns = ["user", "action", "ms"]
keep_original = true
[transforms.re]
type = "parse"
inputs = ["app"]
format = "regex"
pattern = '^(?<level>[A-Z]+) (?<user>\S+) (?<rest>.*)$'
target = "parsed"
)",
             R"(["kv", "cols", "re"])");
  p.Line(R"(level=info user=ann msg="hello there" debug)");
  p.Line("ann,login,12");
  p.Line("INFO bob logged in");
  auto out = p.Finish();
  CHECK(out["kv"][0]["fields"] ==
        nlohmann::json::parse(R"({"level":"info","user":"ann","msg":"hello there","debug":true})"));
  CHECK(out["kv"][1]["fields"] == nlohmann::json::parse(R"({"ann,login,12":true})"));
  CHECK(out["kv"][2]["fields"] == nlohmann::json::parse(R"({"INFO":true,"bob":true,"logged":true,"in":true})"));
  CHECK(out["cols"][1]["fields"] == nlohmann::json::parse(R"({"user":"ann","action":"login","ms":"12"})"));
  CHECK(out["cols"][1]["msg"] == "ann,login,12");                                    // keep_original
  CHECK(out["cols"][0]["msg"] == R"(level=info user=ann msg="hello there" debug)");  // 1 field, not 3
  CHECK_FALSE(out["cols"][0].contains("fields"));
  CHECK(out["re"][2]["parsed"] == nlohmann::json::parse(R"({"level":"INFO","user":"bob","rest":"logged in"})"));
  CHECK_FALSE(out["re"][1].contains("parsed"));
  CHECK(p.Counter("sluice_transform_parse_failures_total", {{"transform", "re"}}) == 2);
  CHECK(p.Counter("sluice_transform_parse_failures_total", {{"transform", "cols"}}) == 2);
}

TEST_CASE("transforms: redact patterns in messages, payloads and parsed fields", "[unit][transforms]") {
  Pipeline p(R"(
[transforms.parsed]
type = "parse"
inputs = ["app"]
keep_original = true
[transforms.clean]
type = "redact"
inputs = ["parsed"]
patterns = ["email", "ipv4", "card", 'secret-\d+']
)",
             R"(["clean"])");
  p.Line(R"({"user":"ann@example.com","note":"paid with 4111 1111 1111 1111 from 10.1.2.3","n":4111111111111111})");
  p.Line("order 4111 1111 1111 1112 by bob@example.org, token secret-42");
  p.Line("nothing to hide");
  auto out = p.Finish();
  const auto& r = out["clean"];
  REQUIRE(r.size() == 3);
  CHECK(r[0]["fields"]["user"] == "[REDACTED:email]");
  CHECK(r[0]["fields"]["note"] == "paid with [REDACTED:card] from [REDACTED:ipv4]");
  CHECK(r[0]["fields"]["n"] == 4111111111111111);  // a number is not text
  CHECK(r[0]["msg"].get<std::string>().find("ann@example.com") == std::string::npos);
  // Luhn: ...1112 is not a card number.
  CHECK(r[1]["msg"] == "order 4111 1111 1111 1112 by [REDACTED:email], token [REDACTED:regex]");
  CHECK(r[2]["msg"] == "nothing to hide");
  CHECK(p.Counter("sluice_transform_redacted_total", {{"transform", "clean"}}) == 4);
}

TEST_CASE("transforms: chunks dealt to several workers come back in the source's order, commits between them",
          "[unit][transforms]") {
  // More workers than this machine may have cores: the chunks (1,024 lines)
  // and the commits are dealt to them in turn and must come back in order.
  test::TempDir dir;
  { std::ofstream(dir / "key") << "0123456789abcdef0123456789abcdef\n"; }
  Pipeline p(R"(
[transforms.parsed]
type = "parse"
inputs = ["app"]
format = "json"
[transforms.tokens]
type = "tokenize"
inputs = ["parsed"]
fields = ["fields.user"]
key_file = ")" + (dir / "key").string() +
                 "\"\n",
             R"(["app", "tokens"])", "app", 3);
  REQUIRE(p.writer().workers() == 3);
  std::vector<std::map<std::string, std::vector<nlohmann::json>>> made;  // per commit; read after Flush
  const auto commit = [&](std::vector<StreamBatch> batches, std::vector<CheckpointUpdate>) {
    auto& m = made.emplace_back();
    for (const StreamBatch& b : batches) {
      for (const std::string& line : test::DecodeLines(b.batch.zstd))
        m[b.stream].push_back(nlohmann::json::parse(line));
    }
    return Status::Ok();
  };
  const std::vector<int> sizes = {5000, 1, 0, 2500};
  int n = 0;
  for (int size : sizes) {
    for (int i = 0; i < size; ++i, ++n)
      p.Line(R"({"user":"u)" + std::to_string(n % 7) + R"(","n":)" + std::to_string(n) + "}");
    REQUIRE(p.writer().Commit({}, commit).ok());
  }
  REQUIRE(p.writer().Flush().ok());
  REQUIRE(made.size() == sizes.size());
  n = 0;
  for (size_t c = 0; c < sizes.size(); ++c) {
    INFO("commit " << c);
    const auto& m = made[c];
    if (sizes[c] == 0) {
      CHECK(m.empty());
      continue;
    }
    REQUIRE(m.at("app").size() == static_cast<size_t>(sizes[c]));
    REQUIRE(m.at("tokens").size() == static_cast<size_t>(sizes[c]));
    for (int i = 0; i < sizes[c]; ++i, ++n) {
      const nlohmann::json& t = m.at("tokens")[static_cast<size_t>(i)];
      CHECK(t["fields"]["n"] == n);
      CHECK(t["fields"]["user"].get<std::string>().size() == 64);
      CHECK(m.at("app")[static_cast<size_t>(i)]["msg"].get<std::string>().find(R"("n":)" + std::to_string(n) + "}") !=
            std::string::npos);
    }
  }
}

TEST_CASE("transforms: commits through the pipeline arrive in order with what came before each", "[unit][transforms]") {
  // schema compares each record with the last: one worker takes them all, in
  // order, however many there could be.
  Pipeline p(R"(
[transforms.parsed]
type = "parse"
inputs = ["app"]
format = "json"
[transforms.drift]
type = "schema"
inputs = ["parsed"]
)",
             R"(["app", "parsed", "_events"])", "app", 3);
  REQUIRE(p.writer().workers() == 1);
  struct Made {
    std::map<std::string, std::vector<nlohmann::json>> streams;
    std::vector<CheckpointUpdate> updates;
  };
  std::vector<Made> made;  // written by the pipeline's thread, read after Flush
  const auto commit = [&](std::vector<StreamBatch> batches, std::vector<CheckpointUpdate> updates) {
    Made m;
    for (const StreamBatch& b : batches) {
      for (const std::string& line : test::DecodeLines(b.batch.zstd))
        m.streams[b.stream].push_back(nlohmann::json::parse(line));
    }
    m.updates = std::move(updates);
    made.push_back(std::move(m));
    return Status::Ok();
  };
  // Three commits of 3,000 lines each (several chunks), the shape changing in the second.
  int n = 0;
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 3000; ++i, ++n) {
      p.Line(c == 1 && i == 10 ? R"({"n":)" + std::to_string(n) + R"(,"new":true})"
                               : R"({"n":)" + std::to_string(n) + "}");
    }
    REQUIRE(p.writer().Commit({{"file/1", std::to_string(n)}}, commit).ok());
  }
  REQUIRE(p.writer().Flush().ok());
  REQUIRE(made.size() == 3);
  n = 0;
  for (int c = 0; c < 3; ++c) {
    INFO("commit " << c);
    const Made& m = made[static_cast<size_t>(c)];
    REQUIRE(m.streams.at("app").size() == 3000);
    REQUIRE(m.streams.at("parsed").size() == 3000);
    for (int i = 0; i < 3000; ++i, ++n) CHECK(m.streams.at("parsed")[static_cast<size_t>(i)]["fields"]["n"] == n);
    // The source's checkpoint, then the schema's shape when it was new or changed.
    REQUIRE_FALSE(m.updates.empty());
    CHECK(m.updates[0].key == "file/1");
    CHECK(m.updates[0].value == std::to_string(n));
    CHECK((m.updates.size() > 1) == (c != 2));
    // Changes only: "new" added, then gone again, both in the second commit.
    CHECK(m.streams.contains("_events") == (c == 1));
    if (c == 1) CHECK(m.streams.at("_events").size() == 2);
  }
}
