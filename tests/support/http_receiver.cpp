#include "tests/support/http_receiver.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "tests/support/compress.h"

namespace sluice::test {

std::string ReceivedRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

std::vector<std::string> ReceivedRequest::Lines() const {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < body.size()) {
    size_t nl = body.find('\n', start);
    if (nl == std::string::npos) nl = body.size();
    out.push_back(body.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

HttpReceiver::HttpReceiver(HttpResponder responder) : responder_(std::move(responder)) { Listen(true); }

HttpReceiver::~HttpReceiver() { Pause(); }

std::string HttpReceiver::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void HttpReceiver::SetResponder(HttpResponder responder) {
  std::lock_guard lock(mu_);
  responder_ = std::move(responder);
}

std::vector<ReceivedRequest> HttpReceiver::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t HttpReceiver::RequestCount() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

void HttpReceiver::Pause() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void HttpReceiver::Resume() {
  if (!server_) Listen(false);
}

void HttpReceiver::Listen(bool any_port) {
  server_ = std::make_unique<httplib::Server>();
  server_->set_keep_alive_max_count(100000);
  server_->set_tcp_nodelay(true);      // else Nagle and delayed ACKs stall each answer ~40 ms
  server_->set_keep_alive_timeout(1);  // Pause waits this long for an idle kept-alive connection to end
  server_->set_read_timeout(30, 0);
  server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) { Handle(&req, &res); });
  if (any_port) {
    const int port = server_->bind_to_any_port("127.0.0.1");
    if (port <= 0) throw std::runtime_error("HttpReceiver: cannot bind 127.0.0.1");
    port_ = static_cast<uint16_t>(port);
  } else {
    // The port was ours a moment ago; SO_REUSEADDR lets it be bound again at once.
    bool bound = false;
    for (int attempt = 0; attempt < 50 && !bound; ++attempt) {
      bound = server_->bind_to_port("127.0.0.1", port_);
      if (!bound) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!bound) throw std::runtime_error("HttpReceiver: cannot bind port " + std::to_string(port_) + " again");
  }
  httplib::Server* server = server_.get();
  thread_ = std::thread([server] { server->listen_after_bind(); });
  // bind_to_port already listens: connections wait in the backlog until the thread accepts them.
}

void HttpReceiver::Handle(const void* request, void* response) {
  const auto& req = *static_cast<const httplib::Request*>(request);
  auto& res = *static_cast<httplib::Response*>(response);
  ReceivedRequest r;
  r.at = std::chrono::steady_clock::now();
  r.path = req.path;
  for (const auto& [name, value] : req.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    r.headers.emplace_back(lower, value);
  }
  r.wire_bytes = req.has_header("Content-Length") ? std::stoull(req.get_header_value("Content-Length")) : 0;
  r.body = req.get_header_value("Content-Encoding") == "zstd" ? UnzstdBytes(req.body) : req.body;
  HttpResponder responder;
  {
    std::lock_guard lock(mu_);
    r.n = ++arrivals_;
    responder = responder_;
  }
  const HttpReply reply = responder ? responder(r) : HttpReply{};
  r.status = reply.status;
  r.cut = reply.cut;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
  }
  if (reply.delay.count() > 0) std::this_thread::sleep_for(reply.delay);
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  if (reply.cut) {
    // Headers announcing a body that never comes: the provider fails, and
    // cpp-httplib closes the connection.
    res.set_content_provider(reply.body.size() + 1, reply.content_type,
                             [](size_t, size_t, httplib::DataSink&) { return false; });
    return;
  }
  res.set_content(reply.body, reply.content_type);
}

}  // namespace sluice::test
