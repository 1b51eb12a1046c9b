#include "tests/support/kinesalite.h"

#include <csignal>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <stdexcept>

#include "core/util/utf8.h"
#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

std::filesystem::path Servers() { return std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/servers"; }

// One line of kinesis-client.js's read, {"shard":…,"seq":…,"key":…,"data":…}
// as JSON.stringify writes it, cut apart without a JSON parser when no field
// holds an escape (a quote inside a string is escaped, so the first
// `","data":"` is the separator); nullopt for anything else. Tests built at
// -O0 read 100,000s of records, megabytes of base64 each, many times faster so.
std::optional<KinesisReadRecord> CutRecord(std::string_view line) {
  static constexpr std::string_view kShard = "{\"shard\":\"", kSeq = "\",\"seq\":\"", kKey = "\",\"key\":\"",
                                    kData = "\",\"data\":\"", kEnd = "\"}";
  if (!line.starts_with(kShard) || !line.ends_with(kEnd)) return std::nullopt;
  const size_t seq = line.find(kSeq);
  const size_t key = seq == std::string_view::npos ? seq : line.find(kKey, seq);
  const size_t data = key == std::string_view::npos ? key : line.find(kData, key);
  if (data == std::string_view::npos) return std::nullopt;
  const std::string_view head = line.substr(0, data);
  if (head.find('\\') != std::string_view::npos) return std::nullopt;
  KinesisReadRecord rec{std::string(line.substr(kShard.size(), seq - kShard.size())),
                        std::string(line.substr(seq + kSeq.size(), key - seq - kSeq.size())),
                        std::string(line.substr(key + kKey.size(), data - key - kKey.size())), ""};
  const std::string_view b64 = line.substr(data + kData.size(), line.size() - kEnd.size() - data - kData.size());
  if (!DecodeBase64(b64, rec.data)) return std::nullopt;
  return rec;
}

}  // namespace

const char* KinesisEmulator::Name(Kind kind) { return kind == Kind::kKinesisLocal ? "kinesis-local" : "kinesalite"; }

KinesisEmulator::KinesisEmulator(std::filesystem::path dir, Kind kind) : dir_(std::move(dir)), kind_(kind) {
  std::filesystem::create_directories(dir_);
  Start();
}

KinesisEmulator::~KinesisEmulator() { (void)Stop(); }

void KinesisEmulator::Start() {
  const std::string name = Name(kind_);
  if (process_ && process_->Running()) throw std::runtime_error(name + " is already running");
  const std::filesystem::path script = Servers() / (name + ".js");
  if (!std::filesystem::exists(Servers() / "node_modules" / name)) {
    throw std::runtime_error(name + " is not installed: run scripts/setup.sh (npm ci in tests/servers)");
  }
  ProcessOptions o;
  o.program = "node";
  o.args = {script.string(), std::to_string(port_)};
  o.log_dir = dir_;
  o.name = name;
  port_ = StartServerReportingPort(process_, std::move(o), "listening on 127\\.0\\.0\\.1:([0-9]+)");
}

ExitStatus KinesisEmulator::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return last_status_;
  const std::optional<ExitStatus> s = process_->Stop(SIGTERM, timeout);
  last_status_ = s ? *s : process_->Kill9();
  process_.reset();
  return last_status_;
}

std::string KinesisEmulator::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<std::pair<std::string, std::string>> KinesisEmulator::ClientEnvironment() {
  return {{"AWS_ACCESS_KEY_ID", "AKIDKINESALITE"},
          {"AWS_SECRET_ACCESS_KEY", "kinesalite-secret"},
          {"AWS_REGION", "us-east-1"},
          {"AWS_PROFILE", ""},
          {"AWS_SESSION_TOKEN", ""},
          {"AWS_EC2_METADATA_DISABLED", "true"}};
}

void KinesisEmulator::CreateStream(const std::string& stream, int shards) const {
  ProcessOptions o;
  o.program = "node";
  o.args = {(Servers() / "kinesis-client.js").string(), endpoint(), "create", stream, std::to_string(shards)};
  o.env = ClientEnvironment();
  o.log_dir = dir_;
  o.name = "kinesis-create";
  const RunResult r = RunToCompletion(std::move(o), 60s);
  if (!r.status.Exited(0)) throw std::runtime_error("CreateStream " + stream + ": " + r.Describe());
}

std::vector<KinesisReadRecord> KinesisEmulator::ReadStream(const std::string& stream) const {
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
  std::string_view rest = r.out;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) continue;
    std::optional<KinesisReadRecord> rec = CutRecord(line);
    if (!rec) {
      const nlohmann::json j = nlohmann::json::parse(line);
      rec.emplace(KinesisReadRecord{j.at("shard"), j.at("seq"), j.at("key"), ""});
      if (!DecodeBase64(j.at("data").get<std::string>(), rec->data)) {
        throw std::runtime_error("bad base64 in " + std::string(line.substr(0, 200)));
      }
    }
    out.push_back(std::move(*rec));
  }
  return out;
}

}  // namespace sluice::test
