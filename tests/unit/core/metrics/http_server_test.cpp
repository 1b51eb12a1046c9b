#include "core/metrics/http_server.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/support/net.h"

namespace sluice {

using test::HttpExchange;
using test::HttpGet;

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

  auto metrics = HttpGet(port, "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->Header("Content-Type") == "text/plain; version=0.0.4");
  CHECK(metrics->body == reg.RenderPrometheus());
  CHECK_THAT(metrics->body, Catch::Contains("sluice_records_in_total{source=\"app\"} 42\n"));

  auto health = HttpGet(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == R"({"status":"ok","sinks":1})");
  CHECK(health->Header("Content-Type") == "application/json");

  healthy = false;
  health = HttpGet(port, "/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);
  CHECK(health->body == R"({"status":"sink down"})");
  CHECK(health->Header("Content-Type") == "application/json");

  auto missing = HttpGet(port, "/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);

  // A query string is ignored; every answer closes its connection.
  auto query = HttpGet(port, "/metrics?name[]=x");
  REQUIRE(query);
  CHECK(query->status == 200);
  CHECK(query->Header("Connection") == "close");
  CHECK(query->Header("Content-Length") == std::to_string(query->body.size()));
}

TEST_CASE("metrics: the server answers HEAD, refuses other methods and bad requests", "[unit]") {
  MetricsRegistry reg;
  reg.GetCounter("sluice_records_in_total", "Records read.", {}).Inc(1);
  auto server = MetricsServer::Start("127.0.0.1:0", reg, nullptr);
  REQUIRE(server.ok());
  const uint16_t port = static_cast<uint16_t>((*server)->port());

  auto head = HttpExchange(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  CHECK(head->Header("Content-Length") == std::to_string(reg.RenderPrometheus().size()));

  auto post = HttpExchange(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(post);
  CHECK(post->status == 405);
  CHECK(post->Header("Allow") == "GET, HEAD");

  for (const std::string bad : {"GET\r\n\r\n", "GET /metrics\r\n\r\n", "GET metrics HTTP/1.0\r\n\r\n",
                                "GET /metrics FTP/1.0\r\n\r\n", " /metrics HTTP/1.0\r\n\r\n"}) {
    auto r = HttpExchange(port, bad);
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  auto huge = HttpExchange(port, "GET /metrics HTTP/1.0\r\nX-Pad: " + std::string(10000, 'a') + "\r\n\r\n");
  REQUIRE(huge);
  CHECK(huge->status == 400);

  // The server is still healthy after all that.
  auto ok = HttpGet(port, "/healthz");
  REQUIRE(ok);
  CHECK(ok->status == 200);
}

TEST_CASE("metrics: /healthz without details still answers JSON", "[unit]") {
  MetricsRegistry reg;
  auto server = MetricsServer::Start("localhost:0", reg, nullptr);
  REQUIRE(server.ok());
  auto health = HttpGet(static_cast<uint16_t>((*server)->port()), "/healthz");
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
    const uint16_t port = static_cast<uint16_t>((*server)->port());
    for (int i = 0; i < 3; ++i) {
      auto res = HttpGet(port, "/metrics");
      REQUIRE(res);
      CHECK(res->status == 200);
    }
    // A client that connects and never sends its request: the server is
    // waiting on it when it is destroyed, and must not wait out its timeout.
    const int idle = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(idle >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(idle, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the server accept it
    const auto start = std::chrono::steady_clock::now();
    server->reset();
    // Not a speed measurement: the bound is what separates "stopped at once"
    // from "waited out the 2 s client timeout", with room for a loaded machine.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
    ::close(idle);
  }
  for (int i = 0; i < 20; ++i) {
    auto server = MetricsServer::Start("127.0.0.1:0", reg, nullptr);
    REQUIRE(server.ok());
  }
  auto server = MetricsServer::Start("[::1]:0", reg, nullptr);
  if (server.ok()) {  // IPv6 loopback may be disabled in a container
    auto res = HttpGet("::1", static_cast<uint16_t>((*server)->port()), "/metrics");
    REQUIRE(res);
    CHECK(res->status == 200);
  }
}

}  // namespace sluice
