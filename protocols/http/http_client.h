// An HTTP/1.1 client over one libcurl easy handle. It owns that handle and so
// its connection cache: consecutive requests to the same host reuse one TCP
// (or TLS) connection. Not thread-safe: one Client per thread, or a pool.
//
// Invariants: a transport failure (refused, reset, timed out, stalled) is a
// kUnavailable Status, never a Response; any HTTP status, 5xx included, is a
// Response for the caller to judge. Request bodies are sent as given, with
// no `Expect: 100-continue` round trip and no Content-Type the caller did
// not name.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sluice::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";  // HEAD sends no body and reads none
  std::string url;             // complete and already percent-encoded
  Headers headers;
  std::string_view body;  // must outlive Perform
  // When set, a 2xx response's body goes here chunk by chunk instead of into
  // Response::body; an error it returns aborts the transfer with that error.
  std::function<Status(std::string_view)> on_body;
};

struct Response {
  long status = 0;
  Headers headers;  // names lower-cased, in arrival order (the final response's only)
  std::string body;

  // The first header named `name` (lower-case), or nullptr.
  const std::string* Header(std::string_view name) const;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer that moves less than 1 byte/s for this long is dropped as stalled.
  std::chrono::seconds stall_timeout{60};
  std::string ca_file;  // extra CA bundle ("" = the system's)
  // Every request is abandoned after this long (0 = no limit besides the
  // stall timeout): for short local calls such as the EC2 metadata service.
  std::chrono::milliseconds total_timeout{0};
  // A client certificate and its private key (PEM files) for mutual TLS, as
  // AWS IoT's credentials provider requires ("" = none).
  std::string client_cert;
  std::string client_key;
  // false: never through a proxy, whatever http_proxy/HTTPS_PROXY say (for
  // link-local services such as the EC2 metadata service).
  bool use_proxy = true;
};

class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<Response> Perform(const Request& request);

  struct State;  // the curl handle and one request's progress (opaque; the callbacks reach it)

 private:
  ClientOptions options_;
  std::unique_ptr<State> state_;
};

// "https://host:port/path?q" -> "host:port" as the Host header carries it
// (the port only when the URL names one); "" for a URL without "://".
std::string HostOf(std::string_view url);

}  // namespace sluice::http
