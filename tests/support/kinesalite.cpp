#include "tests/support/kinesalite.h"

#include <csignal>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "core/util/utf8.h"
#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

std::filesystem::path Servers() { return std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/servers"; }

}  // namespace

Kinesalite::Kinesalite(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  Start();
}

Kinesalite::~Kinesalite() { (void)Stop(); }

void Kinesalite::Start() {
  if (process_ && process_->Running()) throw std::runtime_error("kinesalite is already running");
  const std::filesystem::path script = Servers() / "kinesalite.js";
  if (!std::filesystem::exists(Servers() / "node_modules/kinesalite")) {
    throw std::runtime_error("kinesalite is not installed: run scripts/setup.sh (npm ci in tests/servers)");
  }
  ProcessOptions o;
  o.program = "node";
  o.args = {script.string(), std::to_string(port_)};
  o.log_dir = dir_;
  o.name = "kinesalite";
  port_ = StartServerReportingPort(process_, std::move(o), "listening on 127\\.0\\.0\\.1:([0-9]+)");
}

ExitStatus Kinesalite::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return last_status_;
  const std::optional<ExitStatus> s = process_->Stop(SIGTERM, timeout);
  last_status_ = s ? *s : process_->Kill9();
  process_.reset();
  return last_status_;
}

std::string Kinesalite::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<std::pair<std::string, std::string>> Kinesalite::ClientEnvironment() {
  return {{"AWS_ACCESS_KEY_ID", "AKIDKINESALITE"},
          {"AWS_SECRET_ACCESS_KEY", "kinesalite-secret"},
          {"AWS_REGION", "us-east-1"},
          {"AWS_PROFILE", ""},
          {"AWS_SESSION_TOKEN", ""},
          {"AWS_EC2_METADATA_DISABLED", "true"}};
}

void Kinesalite::CreateStream(const std::string& stream, int shards) const {
  ProcessOptions o;
  o.program = "node";
  o.args = {(Servers() / "kinesis-client.js").string(), endpoint(), "create", stream, std::to_string(shards)};
  o.env = ClientEnvironment();
  o.log_dir = dir_;
  o.name = "kinesis-create";
  const RunResult r = RunToCompletion(std::move(o), 60s);
  if (!r.status.Exited(0)) throw std::runtime_error("CreateStream " + stream + ": " + r.Describe());
}

std::vector<KinesisReadRecord> Kinesalite::ReadStream(const std::string& stream) const {
  ProcessOptions o;
  o.program = "node";
  o.args = {(Servers() / "kinesis-client.js").string(), endpoint(), "read", stream};
  o.env = ClientEnvironment();
  o.log_dir = dir_;
  o.name = "kinesis-read";
  o.append_logs = false;
  const RunResult r = RunToCompletion(std::move(o), 120s);
  if (!r.status.Exited(0)) throw std::runtime_error("reading stream " + stream + ": " + r.Describe());
  std::vector<KinesisReadRecord> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    KinesisReadRecord rec{j.at("shard"), j.at("seq"), j.at("key"), ""};
    if (!DecodeBase64(j.at("data").get<std::string>(), rec.data)) throw std::runtime_error("bad base64 in " + line);
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace sluice::test
