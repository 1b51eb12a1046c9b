#include "tests/support/imds_server.h"

#include <csignal>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "tests/support/net.h"

namespace sluice::test {

ImdsServer::ImdsServer(std::filesystem::path dir, ImdsServerOptions options) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  ProcessOptions o;
  o.program = "node";
  o.args = {(std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/servers/imds.js").string(), "--role", options.role,
            "--lifetime", std::to_string(options.lifetime_s)};
  if (!options.access_key.empty()) {
    o.args.insert(o.args.end(), {"--access-key", options.access_key, "--secret-key", options.secret_key});
  }
  o.log_dir = dir_;
  o.name = "imds";
  o.append_logs = false;
  port_ = StartServerReportingPort(process_, std::move(o), "imds listening on 127\\.0\\.0\\.1:([0-9]+)");
}

ImdsServer::~ImdsServer() {
  if (process_ && !process_->Stop(SIGTERM, std::chrono::seconds(5))) process_->Kill9();
}

std::string ImdsServer::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<std::pair<std::string, std::string>> ImdsServer::Environment() const {
  return {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint()}, {"AWS_EC2_METADATA_DISABLED", "false"}};
}

ImdsStats ImdsServer::Stats() const {
  const std::optional<HttpResponse> r = HttpGet(port_, "/control/stats");
  if (!r || r->status != 200) throw std::runtime_error("imds /control/stats failed");
  const nlohmann::json j = nlohmann::json::parse(r->body);
  return ImdsStats{j.at("tokens").get<int>(), j.at("credentials").get<int>(), j.at("unauthorized").get<int>()};
}

void ImdsServer::FailWith(int status) const {
  const std::optional<HttpResponse> r = HttpGet(port_, "/control/fail?status=" + std::to_string(status));
  if (!r || r->status != 200) throw std::runtime_error("imds /control/fail failed");
}

void ImdsServer::SetLifetime(int seconds) const {
  const std::optional<HttpResponse> r = HttpGet(port_, "/control/lifetime?seconds=" + std::to_string(seconds));
  if (!r || r->status != 200) throw std::runtime_error("imds /control/lifetime failed");
}

}  // namespace sluice::test
