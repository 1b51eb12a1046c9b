// The transforms in a running agent: what lands in the lake for each stream,
// exactly once across a kill -9, with tokens an independent tool computes
// the same; schema drift and gap events from a scripted MQTT publisher.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

#include "agent/record/json_record.h"
#include "core/util/wall_clock.h"
#include "tests/support/agent_fixture.h"
#include "tests/support/lake_reader.h"
#include "tests/support/mosquitto.h"
#include "tests/support/mqtt_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kTokenKey = "k3y-for-the-transforms-test-0123456789";

// HMAC-SHA-256 as OpenSSL's command line computes it.
std::string OpensslHmac(const std::filesystem::path& dir, const std::string& value) {
  WriteFile(dir / "value", value);
  ProcessOptions p;
  p.program = "openssl";
  p.args = {"dgst", "-sha256", "-hmac", std::string(kTokenKey), "-r", (dir / "value").string()};
  p.log_dir = dir;
  const RunResult r = RunToCompletion(p, 30s);
  INFO(r.Describe());
  REQUIRE(r.status.Exited(0));
  return r.out.substr(0, r.out.find(' '));
}

std::string TransformsLine(uint64_t n) {
  // Every 97th line is not JSON: it must arrive unparsed, not be lost.
  if (n % 97 == 0) return "plain text line " + std::to_string(n);
  return R"({"n":)" + std::to_string(n) + R"(,"user":"user-)" + std::to_string(n % 50) +
         R"(@example.com","level":"info","msg":"request served"})";
}

}  // namespace

TEST_CASE("transforms: parse and tokenize before the buffer, every stream exactly once through a kill -9",
          "[integration][transforms]") {
  TempDir dir("sluice-transforms");
  WriteFile(dir / "key", std::string(kTokenKey) + "\n");
  AgentOptions o;
  o.transforms_toml = R"(
[transforms.parsed]
type = "parse"
inputs = ["app"]
format = "json"

[transforms.tokens]
type = "tokenize"
inputs = ["parsed"]
fields = ["fields.user"]
key_file = )" + TomlString((dir / "key").string()) +
                      R"(
prefix = "u_"
)";
  o.sink_inputs = {"app", "tokens"};
  AgentUnderTest agent(dir / "agent", o);

  constexpr uint64_t kLines = 20000;
  std::string all;
  for (uint64_t n = 1; n <= kLines / 2; ++n) all += TransformsLine(n) + "\n";
  WriteFile(agent.logs() / "app.log", all);
  agent.Start();
  // kill -9 once records are flowing, at a random moment.
  std::mt19937_64 rng(TestSeed("transforms kill"));
  LakeLineCounter lake_lines(agent.lake());
  REQUIRE(WaitUntil(
      30s, [&] { return lake_lines.Count() > 0; }, 5ms));
  std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
  agent.Kill9();
  all.clear();
  for (uint64_t n = kLines / 2 + 1; n <= kLines; ++n) all += TransformsLine(n) + "\n";
  AppendFile(agent.logs() / "app.log", all);
  agent.Start();
  const bool done = WaitUntil(60s, [&] { return lake_lines.Count() >= 2 * kLines; });
  const double parse_failures = agent.Metric("sluice_transform_parse_failures_total", {{"transform", "parsed"}});
  INFO(agent.StderrTail());
  REQUIRE(agent.Stop(30s).has_value());
  CHECK(done);

  const LakeContents raw = ReadLake(agent.lake(), "app");
  const LakeContents tokens = ReadLake(agent.lake(), "tokens");
  CHECK(raw.problems.empty());
  CHECK(tokens.problems.empty());
  // The source's own stream: every line once, untouched.
  std::map<uint64_t, int> raw_seen, token_seen;
  for (const LakeRecord& r : raw.records) {
    if (r.msg.rfind("plain text line ", 0) == 0) {
      raw_seen[std::stoull(r.msg.substr(16))]++;
    } else {
      raw_seen[nlohmann::json::parse(r.msg).at("n").get<uint64_t>()]++;
    }
  }
  // The tokenized stream: parsed fields with the user tokenized, the
  // unparsable lines as they were, every line once.
  std::map<std::string, std::string> token_of;
  uint64_t unparsed = 0;
  for (const LakeRecord& r : tokens.records) {
    CHECK(r.source == "app");
    if (!r.record.contains("fields")) {
      REQUIRE(r.msg.rfind("plain text line ", 0) == 0);
      token_seen[std::stoull(r.msg.substr(16))]++;
      ++unparsed;
      continue;
    }
    const nlohmann::json& f = r.record.at("fields");
    CHECK_FALSE(r.record.contains("msg"));
    const uint64_t n = f.at("n").get<uint64_t>();
    token_seen[n]++;
    CHECK(f.at("level") == "info");
    const std::string user = "user-" + std::to_string(n % 50) + "@example.com";
    const std::string token = f.at("user").get<std::string>();
    CHECK(token.rfind("u_", 0) == 0);
    CHECK(token.find("example.com") == std::string::npos);
    if (token_of.count(user) != 0) {
      CHECK(token_of[user] == token);  // the same value, the same token
    }
    token_of[user] = token;
  }
  uint64_t missing = 0, twice = 0;
  for (uint64_t n = 1; n <= kLines; ++n) {
    for (auto* seen : {&raw_seen, &token_seen}) {
      const int c = seen->count(n) ? seen->at(n) : 0;
      if (c == 0) ++missing;
      if (c > 1) ++twice;
    }
  }
  CHECK(missing == 0);
  CHECK(twice == 0);
  CHECK(raw_seen.size() == kLines);
  CHECK(token_seen.size() == kLines);
  CHECK(unparsed == kLines / 97);
  // Counted since the restart only (metrics are per process): at least those after it.
  CHECK(parse_failures >= static_cast<double>((kLines / 2) / 97));
  // The tokens are HMAC-SHA-256 as openssl computes it.
  REQUIRE(token_of.size() == 50);
  for (const std::string user : {"user-0@example.com", "user-7@example.com", "user-49@example.com"}) {
    CHECK(token_of.at(user) == "u_" + OpensslHmac(dir.path(), user));
  }
}

TEST_CASE("transforms: schema drift and gap events from a scripted MQTT publisher", "[integration][transforms][mqtt]") {
  TempDir dir("sluice-transforms-mqtt");
  Mosquitto broker(dir / "broker");
  AgentOptions o;
  o.source_toml = "type = \"mqtt\"\nurl = " + TomlString(broker.url()) +
                  "\ntopics = [\"plant/#\"]\nqos = 1\ncommit_interval = \"100ms\"\n";
  o.batch_max_age = "200ms";
  o.transforms_toml = R"(
[transforms.drift]
type = "schema"
inputs = ["app"]
topics = ["plant/+/temp", "plant/+/hum"]

[transforms.silence]
type = "gaps"
inputs = ["app"]
expect_every = "1s"
)";
  o.sink_inputs = {"app", "_events"};
  AgentUnderTest agent(dir / "agent", o);
  agent.Start();
  REQUIRE(WaitUntil(20s, [&] { return agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 1; }));

  MqttTestPublisher pub(broker.port());
  // Two sensors report every 100 ms; plant/1/temp's payload changes shape
  // once; plant/2/hum falls silent for ~2.5 s and comes back.
  const auto tick = [&](int i, bool hum) {
    pub.Publish("plant/1/temp", i < 10 ? R"({"c":21.5,"unit":"C"})" : R"({"c":"21.5","unit":"C","battery":3.1})");
    if (hum) pub.Publish("plant/2/hum", R"({"h":40})");
    std::this_thread::sleep_for(100ms);
  };
  for (int i = 0; i < 15; ++i) tick(i, true);
  const auto silent_from = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - silent_from < 2500ms) tick(20, false);
  for (int i = 0; i < 5; ++i) tick(20, true);
  // After this every sensor falls silent, which makes gaps of its own.
  const std::string published_until = FormatTimestampMs(WallClockMs());

  const auto events = [&] { return ReadLake(agent.lake(), "_events"); };
  const bool got = WaitUntil(20s, [&] {
    int ended = 0;
    for (const LakeRecord& r : events().records) ended += r.record.value("event", "") == "gap_ended";
    return ended >= 1;
  });
  const double gaps = agent.Metric("sluice_transform_gaps_total", {{"transform", "silence"}});
  const double type_changes =
      agent.Metric("sluice_transform_schema_changes_total", {{"transform", "drift"}, {"change", "type"}});
  INFO(agent.StderrTail());
  REQUIRE(agent.Stop(30s).has_value());
  CHECK(got);

  const LakeContents lake = events();
  CHECK(lake.problems.empty());
  std::vector<nlohmann::json> drift, started, ended;
  for (const LakeRecord& r : lake.records) {
    const std::string kind = r.record.value("event", "");
    if (kind == "schema_change") drift.push_back(r.record);
    if (kind == "gap_started" && r.record.at("ts").get<std::string>() < published_until) started.push_back(r.record);
    if (kind == "gap_ended") ended.push_back(r.record);
  }
  REQUIRE(drift.size() == 1);
  CHECK(drift[0]["origin"] == "plant/1/temp");
  CHECK(drift[0]["filter"] == "plant/+/temp");
  CHECK(drift[0]["changed"] == nlohmann::json::parse(R"([{"field":"c","from":"number","to":"string"}])"));
  CHECK(drift[0]["added"] == nlohmann::json::parse(R"([{"field":"battery","type":"number"}])"));
  CHECK(type_changes == 1);
  // While publishing, only the silent sensor had a gap, once, and its end
  // says how long it was.
  REQUIRE(started.size() == 1);
  CHECK(started[0]["key"] == "plant/2/hum");
  CHECK(started[0]["expect_every_ms"] == 1000);
  REQUIRE(ended.size() == 1);
  CHECK(ended[0]["key"] == "plant/2/hum");
  CHECK(ended[0]["duration_ms"].get<int64_t>() >= 2000);
  CHECK(gaps >= 1);
  // The records themselves still arrive in the source's own stream.
  CHECK(ReadLake(agent.lake(), "app").records.size() >= 15 + 15 + 25);
}

TEST_CASE("transforms: agent check lists the data flow and refuses a cycle", "[integration][transforms]") {
  TempDir dir("sluice-transforms-check");
  AgentOptions o;
  o.transforms_toml = "[transforms.one]\ntype = \"sample\"\ninputs = [\"app\"]\nrate = 2\n";
  o.sink_inputs = {"one"};
  AgentUnderTest agent(dir / "agent", o);
  ProcessOptions p;
  p.program = SLUICE_BINARY;
  p.args = {"agent", "--config", agent.config_path().string(), "check"};
  p.log_dir = dir.path();
  RunResult r = RunToCompletion(p, 30s);
  INFO(r.Describe());
  CHECK(r.status.Exited(0));
  CHECK_THAT(r.out, Catch::Contains("1 transforms") && Catch::Contains("#   transform one (sample) <- app") &&
                        Catch::Contains("#   sink lake (lake) <- one") && Catch::Contains("[transforms.one]") &&
                        Catch::Contains("rate = 2"));

  o.transforms_toml += "[transforms.two]\ntype = \"sample\"\ninputs = [\"one\"]\n";
  o.transforms_toml.replace(o.transforms_toml.find("inputs = [\"app\"]"), 16, "inputs = [\"app\", \"two\"]");
  AgentUnderTest cyclic(dir / "cyclic", o);
  p.args = {"agent", "--config", cyclic.config_path().string(), "check"};
  r = RunToCompletion(p, 30s);
  INFO(r.Describe());
  CHECK(r.status.Exited(2));
  CHECK_THAT(r.err, Catch::Contains("cycle") && Catch::Contains("one -> two -> one"));
}

}  // namespace sluice::test
