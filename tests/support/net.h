// Loopback networking for tests that start servers: a free port to give a
// server, waiting until it listens, and a minimal HTTP/1.0 GET (enough for
// /metrics and /healthz; no TLS, no keep-alive, no redirects).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace sluice::test {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read
// back, closed). Another process may take it before the server binds; a test
// that starts a server on it should tolerate a retry.
uint16_t FreePort();

// True once something accepts TCP connections on 127.0.0.1:port, false if
// nothing did within `timeout`.
bool WaitForPort(uint16_t port, std::chrono::milliseconds timeout);

struct HttpResponse {
  int status = 0;
  std::string body;
};
// GET http://127.0.0.1:port<path>; nullopt when the connection fails or the
// answer is not HTTP. Each call is one connection bounded by `timeout`.
std::optional<HttpResponse> HttpGet(uint16_t port, const std::string& path,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace sluice::test
