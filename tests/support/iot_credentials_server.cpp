#include "tests/support/iot_credentials_server.h"

#include <csignal>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

#include "tests/support/net.h"

namespace sluice::test {

IotCredentialsServer::IotCredentialsServer(std::filesystem::path dir, IotCredentialsServerOptions options)
    : dir_(std::move(dir)), options_(std::move(options)), pki_(dir_ / "pki", options_.thing) {
  const std::filesystem::path script = std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/servers/iot-credentials.js";
  ProcessOptions o;
  o.program = "node";
  o.args = {script.string(),
            "--cert",
            pki_.server_cert().string(),
            "--key",
            pki_.server_key().string(),
            "--ca",
            pki_.ca_cert().string(),
            "--role-alias",
            options_.role_alias,
            "--thing",
            options_.thing,
            "--lifetime",
            std::to_string(options_.lifetime_s)};
  if (!options_.access_key.empty()) {
    o.args.insert(o.args.end(), {"--access-key", options_.access_key, "--secret-key", options_.secret_key});
  }
  o.log_dir = dir_;
  o.name = "iot-credentials";
  o.append_logs = false;
  port_ = StartServerReportingPort(process_, std::move(o), "listening on 127\\.0\\.0\\.1:([0-9]+) control");
  const std::regex control(R"(control 127\.0\.0\.1:([0-9]+))");
  std::smatch m;
  const std::string out = process_->ReadStdout();
  if (!std::regex_search(out, m, control)) throw std::runtime_error("iot-credentials.js gave no control port: " + out);
  control_port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
}

IotCredentialsServer::~IotCredentialsServer() {
  if (process_ && !process_->Stop(SIGTERM, std::chrono::seconds(5))) process_->Kill9();
}

std::string IotCredentialsServer::endpoint() const { return "https://127.0.0.1:" + std::to_string(port_); }

aws::IotCredentialsConfig IotCredentialsServer::ClientConfig() const {
  aws::IotCredentialsConfig c;
  c.endpoint = endpoint();
  c.role_alias = options_.role_alias;
  c.thing_name = options_.thing;
  c.cert_file = pki_.client_cert().string();
  c.key_file = pki_.client_key().string();
  c.ca_file = pki_.ca_cert().string();
  c.connect_timeout = std::chrono::seconds(5);
  c.timeout = std::chrono::seconds(10);
  return c;
}

void IotCredentialsServer::Control(const std::string& path_and_query) const {
  const std::optional<HttpResponse> r = HttpGet(control_port_, path_and_query);
  if (!r || r->status != 200) throw std::runtime_error("iot-credentials control " + path_and_query + " failed");
}

IotCredentialsStats IotCredentialsServer::Stats() const {
  const std::optional<HttpResponse> r = HttpGet(control_port_, "/stats");
  if (!r || r->status != 200) throw std::runtime_error("iot-credentials /stats failed");
  const nlohmann::json j = nlohmann::json::parse(r->body);
  IotCredentialsStats s;
  s.total = j.at("total").get<int>();
  s.served = j.at("served").get<int>();
  s.failed = j.at("failed").get<int>();
  for (const auto& [k, v] : j.at("requests").items()) s.requests[k] = v.get<int>();
  return s;
}

void IotCredentialsServer::FailWith(int status) const { Control("/fail?status=" + std::to_string(status)); }
void IotCredentialsServer::SendGarbage(bool on) const { Control(std::string("/garbage?on=") + (on ? "1" : "0")); }
void IotCredentialsServer::SetLifetime(int seconds) const { Control("/lifetime?seconds=" + std::to_string(seconds)); }

}  // namespace sluice::test
