// The mosquitto fixture and the test publisher, checked against mosquitto's
// own clients: password auth on the plain listener, mutual TLS with the
// generated certificates (and refusal of a certificate from another CA), MQTT 5
// properties, a persistent session's queued QoS 1 messages across a broker
// restart (more than mosquitto's default queue limit of 1000), and
// PublishNumbered carrying on across a restart.
//
// Subscriptions are made deterministic with persistent sessions: a first
// `mosquitto_sub -c -i ID -q 1 -E` creates the session and exits once the
// subscription is acknowledged; what is published afterwards is queued for it
// and received by the next `mosquitto_sub -c -i ID` with the same id. No sleep
// guesses when a subscriber is ready.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/mosquitto.h"
#include "tests/support/mqtt_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// Runs mosquitto_sub to completion (it is given -W, so this bound is slack).
RunResult Sub(std::vector<std::string> args) {
  ProcessOptions o;
  o.program = "mosquitto_sub";
  o.args = std::move(args);
  return RunToCompletion(std::move(o), 30s);
}

std::vector<std::string> Args(std::initializer_list<std::string> a) { return a; }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> SeqLines(uint64_t first, uint64_t last) {
  std::vector<std::string> v;
  for (uint64_t n = first; n <= last; ++n) v.push_back(SeqPayload(n));
  return v;
}

// The numbers n of "seq n" lines in `text`, each once.
std::set<uint64_t> SeqNumbers(const std::string& text) {
  std::set<uint64_t> seen;
  for (const auto& line : Lines(text)) {
    if (line.rfind("seq ", 0) == 0) seen.insert(std::stoull(line.substr(4)));
  }
  return seen;
}

}  // namespace

TEST_CASE("mosquitto fixture: password on the plain listener, mutual TLS on the other",
          "[integration][mqtt][support]") {
  TempDir dir("sluice-mosquitto");
  MosquittoOptions mo;
  mo.tls = true;
  mo.password = true;
  Mosquitto broker(dir.path(), mo);
  REQUIRE(broker.port() != 0);
  REQUIRE(broker.tls_port() != 0);
  REQUIRE(broker.tls_port() != broker.port());

  const auto plain = Args({"-h", "127.0.0.1", "-p", std::to_string(broker.port())});
  const auto login = Args({"-u", broker.username(), "-P", broker.user_password()});
  const auto tls =
      Args({"-h", "localhost", "-p", std::to_string(broker.tls_port()), "--cafile", broker.ca_cert().string()});
  const auto client_cert = Args({"--cert", broker.client_cert().string(), "--key", broker.client_key().string()});

  SECTION("anonymous clients are refused on the plain listener") {
    const RunResult anon = Sub(Concat(plain, {"-t", "t/anon", "-E", "-W", "5"}));
    INFO(anon.Describe());
    CHECK_FALSE(anon.status.Exited(0));
    CHECK(anon.err.find("not authorised") != std::string::npos);
    MqttClientOptions po;
    po.port = broker.port();
    CHECK_THROWS_AS(MqttTestPublisher(po), MqttError);
    po.username = broker.username();
    po.password = "wrong";
    CHECK_THROWS_AS(MqttTestPublisher(po), MqttError);
  }

  SECTION("with the password, QoS 1 and 2 messages go through") {
    const auto session = Args({"-c", "-i", "sub-plain", "-q", "1", "-t", "t/plain"});
    const RunResult made = Sub(Concat(Concat(plain, login), Concat(session, {"-E", "-W", "5"})));
    REQUIRE(made.status.Exited(0));
    MqttClientOptions po;
    po.port = broker.port();
    po.username = broker.username();
    po.password = broker.user_password();
    MqttTestPublisher pub(po);
    pub.Publish("t/plain", "hello", 1);
    const NumberedPublishReport report = pub.PublishNumbered("t/plain", 1, 5);
    CHECK(report.messages == 5);
    CHECK(report.reconnects == 0);
    // QoS 2 past mosquitto's 20 unreleased messages per client: the
    // publisher's QoS 2 window keeps below it, so nothing is resent.
    NumberedPublishOptions qos2;
    qos2.qos = 2;
    const NumberedPublishReport report2 = pub.PublishNumbered("t/plain", 6, 105, qos2);
    CHECK(report2.messages == 100);
    CHECK(report2.reconnects == 0);
    const RunResult got = Sub(Concat(Concat(plain, login), Concat(session, {"-C", "106", "-W", "10"})));
    INFO(got.Describe() << "\nbroker log:\n" << broker.log());
    REQUIRE(got.status.Exited(0));
    CHECK(Lines(got.out) == Concat({"hello"}, SeqLines(1, 105)));
  }

  SECTION("mutual TLS with the client certificate; its CN is the username") {
    const auto session = Args({"-c", "-i", "sub-tls", "-q", "1", "-t", "t/tls", "-F", "%t %p"});
    const RunResult made = Sub(Concat(Concat(tls, client_cert), Concat(session, {"-E", "-W", "5"})));
    INFO(made.Describe());
    REQUIRE(made.status.Exited(0));
    MqttClientOptions po;
    po.port = broker.port();
    po.username = broker.username();
    po.password = broker.user_password();
    MqttTestPublisher pub(po);
    pub.PublishNumbered("t/tls", 1, 3);
    const RunResult got = Sub(Concat(Concat(tls, client_cert), Concat(session, {"-C", "3", "-W", "10"})));
    INFO(got.Describe() << "\nbroker log:\n" << broker.log());
    REQUIRE(got.status.Exited(0));
    CHECK(Lines(got.out) == std::vector<std::string>{"t/tls seq 1", "t/tls seq 2", "t/tls seq 3"});
    CHECK(broker.log().find(std::string("u'") + Mosquitto::kClientIdentity + "'") != std::string::npos);
  }

  SECTION("TLS without a client certificate, with another CA's, or plain MQTT on the TLS port: refused") {
    const RunResult no_cert = Sub(Concat(tls, {"-t", "t/x", "-E", "-W", "5"}));
    INFO(no_cert.Describe());
    CHECK_FALSE(no_cert.status.Exited(0));

    const RunResult other = Sub(Concat(tls, {"--cert", broker.other_client_cert().string(), "--key",
                                           broker.other_client_key().string(), "-t", "t/x", "-E", "-W", "5"}));
    INFO(other.Describe() << "\nbroker log:\n" << broker.log());
    CHECK_FALSE(other.status.Exited(0));
    CHECK(broker.log().find("certificate verify failed") != std::string::npos);

    // The other way round: a client that trusts only the other CA refuses
    // the broker's certificate.
    const RunResult wrong_ca = Sub({"-h", "localhost", "-p", std::to_string(broker.tls_port()), "--cafile",
                                    broker.other_ca_cert().string(), "--cert", broker.client_cert().string(), "--key",
                                    broker.client_key().string(), "-t", "t/x", "-E", "-W", "5"});
    INFO(wrong_ca.Describe());
    CHECK_FALSE(wrong_ca.status.Exited(0));

    const RunResult plain_on_tls =
        Sub({"-h", "127.0.0.1", "-p", std::to_string(broker.tls_port()), "-t", "t/x", "-E", "-W", "1"});
    INFO(plain_on_tls.Describe());
    CHECK_FALSE(plain_on_tls.status.Exited(0));

    // A client that connects by address verifies too: the certificate carries
    // IP:127.0.0.1.
    const RunResult by_ip =
        Sub(Concat({"-h", "127.0.0.1", "-p", std::to_string(broker.tls_port()), "--cafile", broker.ca_cert().string()},
                 Concat(client_cert, {"-t", "t/x", "-E", "-W", "5"})));
    INFO(by_ip.Describe());
    CHECK(by_ip.status.Exited(0));
  }
}

TEST_CASE("mosquitto fixture: MQTT 5 publish with user properties and content type", "[integration][mqtt][support]") {
  TempDir dir("sluice-mosquitto");
  Mosquitto broker(dir.path());
  // MQTT 5 sessions end at disconnect unless given an expiry (-x).
  const auto session = Args({"-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-V", "5", "-c", "-x", "300", "-i",
                             "sub-v5", "-q", "1", "-t", "t/v5", "-F", "%C|%P|%p"});
  REQUIRE(Sub(Concat(session, {"-E", "-W", "5"})).status.Exited(0));
  MqttPublishProperties props;
  props.content_type = "text/plain";
  props.user_properties = {{"device", "d-17"}, {"site", "north"}};
  {
    MqttClientOptions po;
    po.port = broker.port();
    po.version = MqttVersion::kV5;
    MqttTestPublisher pub(po);
    pub.Publish("t/v5", "with properties", 1, false, props);
    pub.Publish("t/v5", "without", 1);
  }
  const RunResult got = Sub(Concat(session, {"-C", "2", "-W", "10"}));
  INFO(got.Describe() << "\nbroker log:\n" << broker.log());
  REQUIRE(got.status.Exited(0));
  const std::vector<std::string> lines = Lines(got.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("text/plain|") == 0);
  CHECK(lines[0].find("device:d-17") != std::string::npos);
  CHECK(lines[0].find("site:north") != std::string::npos);
  CHECK(lines[0].find("|with properties") != std::string::npos);
  CHECK(lines[1] == "||without");

  // Properties on a 3.1.1 connection are a mistake in the test, not silently
  // dropped.
  MqttTestPublisher v3(broker.port());
  CHECK_THROWS_AS(v3.Publish("t/v5", "x", 1, false, props), std::invalid_argument);
}

TEST_CASE("mosquitto fixture: a restart keeps a persistent session's queued QoS 1 messages",
          "[integration][mqtt][support]") {
  TempDir dir("sluice-mosquitto");
  MosquittoOptions mo;
  mo.persistence = true;
  Mosquitto broker(dir.path(), mo);
  const uint16_t port = broker.port();
  const auto session =
      Args({"-h", "127.0.0.1", "-p", std::to_string(port), "-c", "-i", "keeper", "-q", "1", "-t", "t/keep"});
  REQUIRE(Sub(Concat(session, {"-E", "-W", "5"})).status.Exited(0));

  // More than mosquitto's default max_queued_messages (1000), which the
  // fixture lifts: with the default the last 500 would be dropped silently.
  constexpr uint64_t kMessages = 1500;
  {
    MqttTestPublisher pub(port);
    REQUIRE(pub.PublishNumbered("t/keep", 1, kMessages).messages == kMessages);
  }
  const ExitStatus stopped = broker.Stop();
  CHECK(stopped.Exited(0));
  CHECK_FALSE(broker.Running());
  CHECK(std::filesystem::exists(dir.path() / "mosquitto.db"));
  broker.Start();
  CHECK(broker.Running());
  CHECK(broker.port() == port);

  const RunResult got = Sub(Concat(session, {"-C", std::to_string(kMessages), "-W", "10"}));
  INFO(got.Describe() << "\nbroker log:\n" << broker.log());
  REQUIRE(got.status.Exited(0));
  CHECK(Lines(got.out) == SeqLines(1, kMessages));

  // SIGKILL, then up again on the same port: the fixture's other way down.
  broker.Kill9();
  CHECK_FALSE(broker.Running());
  broker.Start();
  MqttTestPublisher after(port);
  after.Publish("t/after-kill", "up again", 1);
}

TEST_CASE("MqttTestPublisher: PublishNumbered resends across a broker restart until all are acknowledged",
          "[integration][mqtt][support]") {
  TempDir dir("sluice-mosquitto");
  MosquittoOptions mo;
  mo.persistence = true;
  Mosquitto broker(dir.path(), mo);
  const auto session = Args(
      {"-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-c", "-i", "counter", "-q", "1", "-t", "t/numbered"});
  REQUIRE(Sub(Concat(session, {"-E", "-W", "5"})).status.Exited(0));

  // The payload function runs just before each publish: at kStopAt it holds
  // the publisher until the broker is down, so the restart lands mid-series
  // with messages in flight (deterministically, not by timing).
  constexpr uint64_t kMessages = 3000;
  constexpr uint64_t kStopAt = 1200;
  std::atomic<bool> reached{false};
  std::atomic<bool> broker_down{false};
  NumberedPublishOptions no;
  no.deadline = 30s;
  no.payload = [&](uint64_t n) {
    if (n == kStopAt && !reached.exchange(true)) {
      while (!broker_down.load()) std::this_thread::sleep_for(1ms);
    }
    return SeqPayload(n);
  };
  MqttTestPublisher pub(broker.port());
  NumberedPublishReport report;
  std::string error;
  std::thread publisher([&] {
    try {
      report = pub.PublishNumbered("t/numbered", 1, kMessages, no);
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  const bool held = WaitUntil(
      20s, [&] { return reached.load(); }, 1ms);
  if (held) {
    CHECK(broker.Stop().Exited(0));
  }
  broker_down = true;
  std::this_thread::sleep_for(300ms);  // the publisher fails to reconnect meanwhile
  if (!broker.Running()) broker.Start();
  publisher.join();
  REQUIRE(held);
  INFO("publisher error: " << error << "\nbroker log:\n" << broker.log());
  REQUIRE(error.empty());
  INFO("last error before the resend: " << report.last_error);
  CHECK(report.messages == kMessages);
  CHECK(report.reconnects >= 1);
  CHECK(report.sends >= kMessages);
  CHECK_FALSE(report.last_error.empty());

  // Every number reached the subscriber's session at least once (a message
  // whose PUBACK the restart cut off is sent twice): read until all are seen.
  ProcessOptions so;
  so.program = "mosquitto_sub";
  so.args = Concat(session, {"-W", "20"});
  so.log_dir = dir.path();
  so.name = "sub-numbered";
  Process sub(std::move(so));
  const bool all = WaitUntil(
      20s, [&] { return SeqNumbers(sub.ReadStdout()).size() == kMessages; }, 20ms);
  sub.Stop(SIGTERM, 5s);
  const std::set<uint64_t> seen = SeqNumbers(sub.ReadStdout());
  INFO("distinct numbers received: " << seen.size() << "; subscriber stderr: " << sub.ReadStderr());
  CHECK(all);
  CHECK(*seen.begin() == 1);
  CHECK(*seen.rbegin() == kMessages);
}

}  // namespace sluice::test
