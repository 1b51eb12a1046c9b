#include "tests/support/firehose_contract.h"

#include <csignal>
#include <fstream>
#include <stdexcept>

#include "core/util/utf8.h"
#include "tests/support/net.h"

namespace sluice::test {
namespace {

constexpr const char* kAccessKey = "AKIDFIREHOSECONTRACT";
constexpr const char* kSecret = "firehose-contract-secret";
constexpr const char* kRegion = "eu-west-1";

std::vector<nlohmann::json> ReadJsonLines(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

}  // namespace

FirehoseContract::FirehoseContract(std::filesystem::path dir, FirehoseContractOptions options) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  std::string streams;
  for (const std::string& s : options.streams) streams += (streams.empty() ? "" : ",") + s;
  ProcessOptions o;
  o.program = "node";
  o.args = {(std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/servers/firehose-contract.js").string(),
            "--port",
            "0",
            "--dir",
            dir_.string(),
            "--streams",
            streams,
            "--access-key",
            kAccessKey,
            "--secret",
            kSecret,
            "--region",
            kRegion,
            "--refuse-rate",
            std::to_string(options.refuse_rate),
            "--fail-first",
            std::to_string(options.fail_first),
            "--seed",
            std::to_string(options.seed)};
  o.log_dir = dir_;
  o.name = "firehose-contract";
  port_ = StartServerReportingPort(process_, std::move(o), "listening on 127\\.0\\.0\\.1:([0-9]+)");
}

FirehoseContract::~FirehoseContract() {
  if (process_ && !process_->Stop(SIGTERM, std::chrono::seconds(5))) process_->Kill9();
}

std::string FirehoseContract::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> FirehoseContract::Records(const std::string& stream) const {
  std::vector<std::string> out;
  for (const nlohmann::json& j : ReadJsonLines(dir_ / "records.jsonl")) {
    if (j.at("stream") != stream) continue;
    std::string data;
    if (!DecodeBase64(j.at("data").get<std::string>(), data)) throw std::runtime_error("bad base64 in records.jsonl");
    out.push_back(std::move(data));
  }
  return out;
}

std::vector<nlohmann::json> FirehoseContract::Requests() const { return ReadJsonLines(dir_ / "requests.jsonl"); }

std::vector<std::pair<std::string, std::string>> FirehoseContract::ClientEnvironment() {
  return {{"AWS_ACCESS_KEY_ID", kAccessKey},
          {"AWS_SECRET_ACCESS_KEY", kSecret},
          {"AWS_REGION", kRegion},
          {"AWS_PROFILE", ""},
          {"AWS_SESSION_TOKEN", ""}};
}

}  // namespace sluice::test
