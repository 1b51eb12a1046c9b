// sluice-http-receiver: the endpoint of bench/agent_http.sh. A cpp-httplib
// server on 127.0.0.1 (port 0 = one it picks, printed as "listening
// 127.0.0.1:PORT") that takes POSTed JSON Lines, plain, gzip (undone by
// cpp-httplib) or zstd, counts records (newlines) and body bytes, and
// answers 200. GET /count returns {"requests":N,"records":N,"bytes":N}.
#include <httplib.h>
#include <zstd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  CLI::App app{"counts the records POSTed to it"};
  int port = 0;
  app.add_option("--port", port, "port on 127.0.0.1 (0: any)");
  CLI11_PARSE(app, argc, argv);

  std::atomic<uint64_t> requests{0}, records{0}, bytes{0};
  httplib::Server server;
  server.set_keep_alive_max_count(1'000'000);
  server.set_tcp_nodelay(true);  // else Nagle and delayed ACKs stall each answer ~40 ms
  server.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
    std::string zstd_plain;
    const std::string* body = &req.body;
    if (req.get_header_value("Content-Encoding") == "zstd") {
      const unsigned long long size = ZSTD_getFrameContentSize(req.body.data(), req.body.size());
      if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
        res.status = 400;
        return;
      }
      zstd_plain.resize(size);
      if (ZSTD_isError(ZSTD_decompress(zstd_plain.data(), size, req.body.data(), req.body.size()))) {
        res.status = 400;
        return;
      }
      body = &zstd_plain;
    }
    requests += 1;
    records += static_cast<uint64_t>(std::count(body->begin(), body->end(), '\n'));
    bytes += req.body.size();
    res.set_content("{}", "application/json");
  });
  server.Get("/count", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"requests\":" + std::to_string(requests.load()) + ",\"records\":" +
                        std::to_string(records.load()) + ",\"bytes\":" + std::to_string(bytes.load()) + "}",
                    "application/json");
  });
  const int bound =
      port == 0 ? server.bind_to_any_port("127.0.0.1") : (server.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound <= 0) {
    std::fprintf(stderr, "cannot bind 127.0.0.1:%d\n", port);
    return 1;
  }
  std::printf("listening 127.0.0.1:%d\n", bound);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
