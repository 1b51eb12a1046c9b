#include "core/metrics/http_server.h"

#include <atomic>
#include <chrono>

#include <catch2/catch.hpp>

// Debian's libcpp-httplib is compiled with these (see `pkg-config --cflags
// cpp-httplib`); the class layouts in the header depend on them, so a client
// compiled without them does not match the library it links against.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>

namespace sluice {

TEST_CASE("metrics: the server serves /metrics and /healthz", "[unit]") {
  MetricsRegistry reg;
  reg.GetCounter("sluice_records_in_total", "Records read.", {{"source", "app"}}).Inc(42);
  std::atomic<bool> healthy{true};
  auto server = MetricsServer::Start("127.0.0.1:0", reg, [&] {
    return healthy ? Health{true, R"({"status":"ok","sinks":1})"} : Health{false, R"({"status":"sink down"})"};
  });
  REQUIRE(server.ok());
  const int port = (*server)->port();
  REQUIRE(port > 0);

  httplib::Client client("127.0.0.1", port);
  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->get_header_value("Content-Type") == "text/plain; version=0.0.4");
  CHECK(metrics->body == reg.RenderPrometheus());
  CHECK_THAT(metrics->body, Catch::Contains("sluice_records_in_total{source=\"app\"} 42\n"));

  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == R"({"status":"ok","sinks":1})");
  CHECK(health->get_header_value("Content-Type") == "application/json");

  healthy = false;
  health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);
  CHECK(health->body == R"({"status":"sink down"})");

  auto missing = client.Get("/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("metrics: /healthz without details still answers JSON", "[unit]") {
  MetricsRegistry reg;
  auto server = MetricsServer::Start("localhost:0", reg, nullptr);
  REQUIRE(server.ok());
  httplib::Client client("127.0.0.1", (*server)->port());
  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == R"({"status":"ok"})");
}

TEST_CASE("metrics: a malformed address is rejected by name", "[unit]") {
  MetricsRegistry reg;
  const auto error = [&](const std::string& address) {
    auto r = MetricsServer::Start(address, reg, nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    return r.status().message();
  };
  const std::string expected = R"( (expected host:port, e.g. "127.0.0.1:9181"))";
  CHECK(error("localhost") == "metrics address \"localhost\": no port" + expected);
  CHECK(error("127.0.0.1:") == "metrics address \"127.0.0.1:\": no port" + expected);
  CHECK(error(":9181") == "metrics address \":9181\": no host" + expected);
  CHECK(error("127.0.0.1:http") ==
        "metrics address \"127.0.0.1:http\": the port must be a number from 0 to 65535" + expected);
  CHECK(error("127.0.0.1:65536") ==
        "metrics address \"127.0.0.1:65536\": the port must be a number from 0 to 65535" + expected);
  CHECK(error("127.0.0.1:-1") ==
        "metrics address \"127.0.0.1:-1\": the port must be a number from 0 to 65535" + expected);
  CHECK(error("::1:9181") == "metrics address \"::1:9181\": an IPv6 host must be in brackets" + expected);
}

TEST_CASE("metrics: an address in use is unavailable, naming it and why", "[unit]") {
  MetricsRegistry reg;
  auto first = MetricsServer::Start("127.0.0.1:0", reg, nullptr);
  REQUIRE(first.ok());
  const std::string address = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsServer::Start(address, reg, nullptr);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == ErrorCode::kUnavailable);
  CHECK(second.status().message() == "cannot listen for metrics on " + address + ": Address already in use");
}

TEST_CASE("metrics: an address that is not local cannot be bound", "[unit]") {
  MetricsRegistry reg;
  // TEST-NET-1 (RFC 5737) is never assigned to this machine.
  auto r = MetricsServer::Start("192.0.2.1:0", reg, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kUnavailable);
  CHECK(r.status().message() == "cannot listen for metrics on 192.0.2.1:0: Cannot assign requested address");
}

TEST_CASE("metrics: the server stops promptly when destroyed", "[unit]") {
  MetricsRegistry reg;
  {
    auto server = MetricsServer::Start("127.0.0.1:0", reg, nullptr);
    REQUIRE(server.ok());
    httplib::Client client("127.0.0.1", (*server)->port());
    client.set_keep_alive(true);  // a scraper that would like to keep its connection
    for (int i = 0; i < 3; ++i) {
      auto res = client.Get("/metrics");
      REQUIRE(res);
      CHECK(res->status == 200);
    }
    const auto start = std::chrono::steady_clock::now();
    server->reset();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
  }
  for (int i = 0; i < 20; ++i) {
    auto server = MetricsServer::Start("127.0.0.1:0", reg, nullptr);
    REQUIRE(server.ok());
  }
  auto server = MetricsServer::Start("[::1]:0", reg, nullptr);
  if (server.ok()) {  // IPv6 loopback may be disabled in a container
    httplib::Client client("::1", (*server)->port());
    auto res = client.Get("/metrics");
    REQUIRE(res);
    CHECK(res->status == 200);
  }
}

}  // namespace sluice
