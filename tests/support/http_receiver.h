// A local HTTP server for the HTTP sink's tests: cpp-httplib on 127.0.0.1 at
// a port it picks. Every POST is logged (headers, the body as sent and
// decoded, the answer given) and answered as the test's responder says: a
// status with headers and a body, after a delay, or with the connection cut
// after the answer's headers, so the client never learns the outcome.
// Pause() stops listening (connections are refused) and Resume() listens
// again on the same port: a destination that goes away and comes back.
//
// Thread-safe: the server's threads log and the test reads. The responder
// runs on the server's threads, one call per request.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace httplib {
class Server;
}

namespace sluice::test {

struct ReceivedRequest {
  uint64_t n = 0;                            // 1-based, in arrival order
  std::chrono::steady_clock::time_point at;  // arrival (the body read)
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  uint64_t wire_bytes = 0;                                   // the body as sent (Content-Length; compressed if it was)
  std::string body;                                          // decoded: gzip (by cpp-httplib) and zstd (here) undone
  // The answer.
  int status = 0;
  bool cut = false;  // the connection was cut after the headers: the client saw no answer

  // The first header named `name` (lower-case), "" when absent.
  std::string Header(std::string_view name) const;
  // The body's lines (without their newlines).
  std::vector<std::string> Lines() const;
};

struct HttpReply {
  int status = 200;
  std::string body = "{}";
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};  // before answering
  bool cut = false;                    // cut the connection after the headers
};

using HttpResponder = std::function<HttpReply(const ReceivedRequest&)>;

class HttpReceiver {
 public:
  // `responder` empty: every request is answered 200.
  explicit HttpReceiver(HttpResponder responder = {});
  ~HttpReceiver();
  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;

  uint16_t port() const { return port_; }
  std::string url(std::string_view path = "/ingest") const;

  void SetResponder(HttpResponder responder);
  // Every request so far, in arrival order.
  std::vector<ReceivedRequest> Requests() const;
  size_t RequestCount() const;

  void Pause();
  void Resume();

 private:
  void Listen(bool any_port);
  void Handle(const void* request, void* response);  // httplib::Request, httplib::Response

  mutable std::mutex mu_;
  HttpResponder responder_;
  std::vector<ReceivedRequest> requests_;
  uint64_t arrivals_ = 0;
  uint16_t port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace sluice::test
