#include "tests/support/s3rver.h"

#include <csignal>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

}  // namespace

S3rver::S3rver(std::filesystem::path dir, std::vector<std::string> buckets)
    : dir_(std::move(dir)), buckets_(std::move(buckets)) {
  std::filesystem::create_directories(dir_ / "data");
  Start();
}

S3rver::~S3rver() { (void)Stop(); }

void S3rver::Start() {
  if (Running()) throw std::runtime_error("s3rver is already running");
  const std::filesystem::path script = std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/servers/s3rver-fixed.js";
  if (!std::filesystem::exists(script)) {
    throw std::runtime_error(script.string() + " is missing: run scripts/setup.sh (npm ci in tests/servers)");
  }
  ProcessOptions o;
  o.program = "node";
  o.args = {"--openssl-legacy-provider", script.string(), "-d", (dir_ / "data").string(), "-a", "127.0.0.1", "-p",
            std::to_string(port_),       "--silent"};
  for (const std::string& b : buckets_) {
    o.args.push_back("--configure-bucket");
    o.args.push_back(b);
  }
  o.log_dir = dir_;
  o.name = "s3rver";
  o.append_logs = false;
  port_ = StartServerReportingPort(process_, std::move(o), "S3rver listening on 127\\.0\\.0\\.1:([0-9]+)");
}

ExitStatus S3rver::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return last_status_;
  const std::optional<ExitStatus> s = process_->Stop(SIGTERM, timeout);
  last_status_ = s ? *s : process_->Kill9();
  process_.reset();
  return last_status_;
}

ExitStatus S3rver::Kill9() {
  if (!process_) return last_status_;
  last_status_ = process_->Kill9();
  process_.reset();
  return last_status_;
}

bool S3rver::Running() { return process_.has_value() && process_->Running(); }

std::string S3rver::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::filesystem::path S3rver::ObjectFile(const std::string& bucket, const std::string& key) const {
  return dir_ / "data" / bucket / (key + "._S3rver_object");
}

void S3rver::MirrorObjects(const std::string& bucket, const std::string& prefix,
                           const std::filesystem::path& out) const {
  namespace fs = std::filesystem;
  static constexpr std::string_view kSuffix = "._S3rver_object";
  fs::remove_all(out);
  fs::create_directories(out);
  const fs::path root = dir_ / "data" / bucket / prefix;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return;
  // The server writes while a test reads: files may vanish under the walk.
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.ends_with(kSuffix) || name == kSuffix) continue;
    const fs::path rel = fs::relative(it->path(), root, ec);
    const fs::path target = out / rel.parent_path() / name.substr(0, name.size() - kSuffix.size());
    fs::create_directories(target.parent_path());
    fs::copy_file(it->path(), target, fs::copy_options::overwrite_existing, ec);
  }
}

namespace {

std::vector<S3rver::Listed> RunS3Client(const std::filesystem::path& log_dir, std::vector<std::string> args) {
  ProcessOptions o;
  o.program = "node";
  o.args = Concat({(std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/servers/s3-client.js").string()}, args);
  o.env = S3rver::ClientEnvironment();
  o.log_dir = log_dir;
  o.name = "s3-client";
  o.append_logs = false;
  const RunResult r = RunToCompletion(std::move(o), 120s);
  if (!r.status.Exited(0)) throw std::runtime_error("s3-client.js " + args.at(1) + ": " + r.Describe());
  std::vector<S3rver::Listed> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    out.push_back(S3rver::Listed{j.at("key"), j.at("size"), j.value("etag", "")});
  }
  return out;
}

}  // namespace

std::vector<S3rver::Listed> S3rver::DownloadWithSdk(const std::string& bucket, const std::string& prefix,
                                                    const std::filesystem::path& out) const {
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  return RunS3Client(dir_, {endpoint(), "get", bucket, prefix, out.string()});
}

std::vector<std::pair<std::string, std::string>> S3rver::ClientEnvironment() {
  return {{"AWS_ACCESS_KEY_ID", kAccessKey}, {"AWS_SECRET_ACCESS_KEY", kSecretKey},
          {"AWS_REGION", "us-east-1"},       {"AWS_PROFILE", ""},
          {"AWS_SESSION_TOKEN", ""},         {"AWS_EC2_METADATA_DISABLED", "true"}};
}

}  // namespace sluice::test
