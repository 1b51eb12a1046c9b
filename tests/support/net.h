// Loopback networking for tests that start servers: a free port to give a
// server, waiting until it listens, and a minimal HTTP/1.0 client (enough for
// /metrics and /healthz; no TLS, no keep-alive, no redirects).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tests/support/process.h"

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
  std::string headers;  // the header lines, "Name: value\r\n" each (without the status line)
  std::string body;
  // The value of header `name` (case-insensitive), "" if absent.
  std::string Header(std::string_view name) const;
};
// GET http://127.0.0.1:port<path>; nullopt when the connection fails or the
// answer is not HTTP. Each call is one connection bounded by `timeout`.
std::optional<HttpResponse> HttpGet(uint16_t port, const std::string& path,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));
// The same on `host`, a numeric IPv4 or IPv6 address ("127.0.0.1", "::1").
std::optional<HttpResponse> HttpGet(const std::string& host, uint16_t port, const std::string& path,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Sends `request` verbatim to 127.0.0.1:port and reads the answer until the
// server closes (for requests HttpGet cannot make: other methods, bad syntax).
std::optional<HttpResponse> HttpExchange(uint16_t port, const std::string& request,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Bytes the kernel holds on the TCP connections between process `client`
// and the server listening on 127.0.0.1:`port`, in the client-to-server
// direction: what the client wrote that the server's side has not yet
// acknowledged (the client socket's send queue) plus what arrived there and
// the server has not yet read (the server socket's receive queue). From
// /proc/net/tcp{,6} and /proc/<client>/fd, so it works on a stopped
// (SIGSTOP) client. 0 once the server read everything a stopped client
// wrote, and when the client has no such connection. Throws
// std::runtime_error when /proc cannot be read.
uint64_t TcpBytesToServer(pid_t client, uint16_t port);

// Starts a server that prints the port it bound (a match of `listening`,
// whose first group is the port) and waits until that port accepts
// connections; the process goes into `slot`. Throws std::runtime_error with
// what it printed when it exits or says nothing within 20 s (the slot is
// then empty).
uint16_t StartServerReportingPort(std::optional<Process>& slot, ProcessOptions options, const std::string& listening);

}  // namespace sluice::test
