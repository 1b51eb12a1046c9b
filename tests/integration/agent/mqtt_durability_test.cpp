// The MQTT source's promise (agent/sources/mqtt/DESIGN.md): a QoS 1 message
// is acknowledged only after it is committed, so kill -9 of the agent at any
// moment, and restarts of the broker, lose nothing; and a full buffer stops
// the acknowledgements (the broker holds the messages) until space frees.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <thread>

#include "tests/support/agent_fixture.h"
#include "tests/support/mosquitto.h"
#include "tests/support/mqtt_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

AgentOptions MqttAgent(const Mosquitto& broker, const std::string& extra = "") {
  AgentOptions o;
  o.source_toml = "type = \"mqtt\"\nurl = " + TomlString(broker.url()) +
                  "\ntopics = [\"n/#\"]\nqos = 1\nclient_id = \"sluice-durability-test\"\nreconnect.initial = "
                  "\"50ms\"\nreconnect.max = \"500ms\"\nkeepalive = \"5s\"\n" +
                  extra;
  o.batch_max_age = "200ms";
  return o;
}

// The sequence numbers ("seq <n>") in the lake: distinct ones, and how many
// records there were in all (duplicates are allowed: at least once).
struct SeqAudit {
  std::set<uint64_t> seen;
  size_t records = 0;
  std::vector<std::string> problems;
};

SeqAudit AuditLake(const std::filesystem::path& lake) {
  SeqAudit a;
  const LakeContents c = ReadLake(lake);
  a.problems = c.problems;
  for (const LakeRecord& r : c.records) {
    ++a.records;
    if (r.msg.rfind("seq ", 0) != 0) {
      a.problems.push_back("unexpected payload: " + r.msg);
      continue;
    }
    a.seen.insert(std::strtoull(r.msg.c_str() + 4, nullptr, 10));
  }
  return a;
}

std::string Missing(const SeqAudit& a, uint64_t n) {
  std::string out;
  size_t shown = 0;
  for (uint64_t i = 1; i <= n && shown < 20; ++i) {
    if (!a.seen.count(i)) {
      out += std::to_string(i) + " ";
      ++shown;
    }
  }
  return out;
}

// Waits until every one of 1..n is in the lake (or the timeout), then audits.
SeqAudit WaitForAll(AgentUnderTest& agent, uint64_t n, std::chrono::milliseconds timeout) {
  SeqAudit a;
  WaitUntil(timeout, [&] {
    a = AuditLake(agent.lake());
    return a.seen.size() >= n;
  });
  return a;
}

}  // namespace

TEST_CASE("mqtt source: kill -9 at random moments loses no QoS 1 message", "[integration][mqtt][kill]") {
  constexpr int kKills = 20;
  constexpr uint64_t kMessages = 20000;
  const uint64_t seed = TestSeed("mqtt kill test");
  INFO("seed " << seed << " (rerun with SLUICE_TEST_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> delay_ms(50, 700);

  TempDir dir("sluice-mqtt-kill");
  std::filesystem::create_directories(dir / "broker");
  Mosquitto broker(dir / "broker");
  AgentUnderTest agent(dir / "agent", MqttAgent(broker));
  agent.Start();
  REQUIRE(WaitUntil(20s, [&] { return agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 1; }));

  // The publisher runs throughout; while the agent is down the broker queues
  // for its persistent session, so the kills land while live messages and
  // redelivered backlog are both being committed.
  std::atomic<bool> published{false};
  std::string publish_error;
  NumberedPublishReport report;
  std::thread publisher([&] {
    try {
      MqttTestPublisher pub(broker.port());
      NumberedPublishOptions po;
      po.deadline = 120s;
      // Spread over the kills: about 4000 messages/s.
      for (uint64_t first = 1; first <= kMessages; first += 400) {
        report = pub.PublishNumbered("n/seq", first, std::min(kMessages, first + 399), po);
        std::this_thread::sleep_for(100ms);
      }
    } catch (const std::exception& e) {
      publish_error = e.what();
    }
    published = true;
  });

  for (int k = 0; k < kKills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    agent.Kill9();
    agent.Start();
  }
  publisher.join();
  INFO(publish_error);
  REQUIRE(publish_error.empty());

  const SeqAudit a = WaitForAll(agent, kMessages, 120s);
  INFO(agent.StderrTail());
  INFO("missing (first 20): " << Missing(a, kMessages));
  CHECK(a.problems.empty());
  CHECK(a.seen.size() == kMessages);
  CHECK(*a.seen.begin() == 1);
  CHECK(*a.seen.rbegin() == kMessages);
  std::fprintf(stderr, "mqtt kill test: %zu records for %llu messages (%zu duplicates after %d kills)\n", a.records,
               static_cast<unsigned long long>(kMessages), a.records - a.seen.size(), kKills);
  const auto st = agent.Stop();
  REQUIRE(st);
  CHECK(st->Exited(0));
}

TEST_CASE("mqtt source: broker restarts with persistence lose no QoS 1 message", "[integration][mqtt]") {
  constexpr int kRestarts = 5;
  constexpr uint64_t kMessages = 6000;
  TempDir dir("sluice-mqtt-restart");
  std::filesystem::create_directories(dir / "broker");
  MosquittoOptions bo;
  bo.persistence = true;
  Mosquitto broker(dir / "broker", bo);
  AgentUnderTest agent(dir / "agent", MqttAgent(broker));
  agent.Start();
  REQUIRE(WaitUntil(20s, [&] { return agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 1; }));

  std::atomic<bool> done{false};
  std::string publish_error;
  std::thread publisher([&] {
    try {
      MqttTestPublisher pub(broker.port());
      NumberedPublishOptions po;
      po.deadline = 120s;
      for (uint64_t first = 1; first <= kMessages; first += 200) {
        pub.PublishNumbered("n/seq", first, std::min(kMessages, first + 199), po);
        std::this_thread::sleep_for(50ms);
      }
    } catch (const std::exception& e) {
      publish_error = e.what();
    }
    done = true;
  });
  for (int k = 0; k < kRestarts && !done; ++k) {
    std::this_thread::sleep_for(600ms);
    broker.Stop();  // SIGTERM: mosquitto saves sessions and queued messages
    std::this_thread::sleep_for(300ms);
    broker.Start();
  }
  publisher.join();
  INFO(publish_error);
  REQUIRE(publish_error.empty());
  const SeqAudit a = WaitForAll(agent, kMessages, 60s);
  INFO(agent.StderrTail());
  INFO("missing (first 20): " << Missing(a, kMessages));
  CHECK(a.problems.empty());
  CHECK(a.seen.size() == kMessages);
  CHECK(agent.Metric("sluice_mqtt_reconnects_total", {{"source", "app"}}) >= 1);
  CHECK(agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 1);
  const auto st = agent.Stop();
  REQUIRE(st);
  CHECK(st->Exited(0));
}

TEST_CASE("mqtt source: a full buffer stops acknowledgements until space frees, losing nothing",
          "[integration][mqtt]") {
  constexpr uint64_t kMessages = 3000;
  TempDir dir("sluice-mqtt-full");
  std::filesystem::create_directories(dir / "broker");
  Mosquitto broker(dir / "broker");
  AgentOptions o = MqttAgent(broker, "max_payload = \"4KiB\"\n");
  o.buffer_max = "1MiB";
  AgentUnderTest agent(dir / "agent", o);
  // The lake is unwritable (a file where its directory should be), so nothing
  // leaves the buffer and it fills up.
  std::filesystem::remove_all(agent.lake());
  std::filesystem::create_directories(agent.root());
  WriteFile(agent.lake(), "not a directory");
  agent.Start();
  REQUIRE(WaitUntil(20s, [&] { return agent.Metric("sluice_mqtt_connected", {{"source", "app"}}) == 1; }));

  std::string publish_error;
  std::thread publisher([&] {
    try {
      MqttTestPublisher pub(broker.port());
      NumberedPublishOptions po;
      po.deadline = 60s;
      // Incompressible-ish 2 KiB payloads: 3000 of them do not fit in 1 MiB.
      std::mt19937_64 r(7);
      po.payload = [&](uint64_t n) {
        std::string p = "seq " + std::to_string(n) + " ";
        while (p.size() < 2048) p += static_cast<char>('a' + r() % 26);
        return p;
      };
      pub.PublishNumbered("n/seq", 1, kMessages, po);
    } catch (const std::exception& e) {
      publish_error = e.what();
    }
  });
  publisher.join();  // the broker takes them all: it queues what the agent does
                     // not acknowledge
  REQUIRE(publish_error.empty());

  // The buffer stays at its cap: the source waits instead of acknowledging.
  const auto stuck_at = [&] { return agent.Metric("sluice_source_records_total", {{"source", "app"}}); };
  // (Folding staged records into compressed batches frees some space at
  // first, so wait until the count stops moving.)
  double before = -1;
  const bool stalled = WaitUntil(60s, [&] {
    const double now = stuck_at();
    const bool same = now == before;
    before = now;
    if (!same) std::this_thread::sleep_for(1500ms);
    return same;
  });
  INFO(agent.StderrTail());
  REQUIRE(stalled);
  CHECK(before < kMessages);  // no progress while full
  CHECK(agent.Metric("sluice_buffer_bytes") > 0.8 * 1024 * 1024);
  CHECK(agent.Metric("sluice_buffer_bytes") <= 1024 * 1024);

  // Space frees (the lake becomes writable): everything arrives.
  std::filesystem::remove(agent.lake());
  const SeqAudit a = WaitForAll(agent, kMessages, 90s);
  INFO(agent.StderrTail());
  INFO("missing (first 20): " << Missing(a, kMessages));
  CHECK(a.seen.size() == kMessages);
  const auto st = agent.Stop();
  REQUIRE(st);
  CHECK(st->Exited(0));
}

}  // namespace sluice::test
