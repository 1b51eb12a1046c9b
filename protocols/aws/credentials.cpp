#include "protocols/aws/credentials.h"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <optional>
#include <vector>

extern char** environ;

namespace sluice::aws {
namespace {

class Static final : public CredentialsProvider {
 public:
  explicit Static(SigV4Credentials c) : c_(std::move(c)) {}
  Result<SigV4Credentials> Get() override { return c_; }

 private:
  const SigV4Credentials c_;
};

std::string Get(const std::map<std::string, std::string>& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// One section of an INI file as the AWS tools write it ("[name]", "key = value",
// '#' and ';' comments). Nested sub-sections (s3 = \n  key = v) are skipped:
// nothing here needs them. A file that does not exist is "no section".
std::optional<std::map<std::string, std::string>> ReadSection(const std::string& path, const std::string& section) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::optional<std::map<std::string, std::string>> out;
  bool inside = false;
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[') {
      const size_t close = l.find(']');
      inside = close != std::string_view::npos && Trim(l.substr(1, close - 1)) == section;
      if (inside && !out) out.emplace();
      continue;
    }
    if (!inside || line.front() == ' ' || line.front() == '\t') continue;
    const size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    (*out)[std::string(Trim(l.substr(0, eq)))] = std::string(Trim(l.substr(eq + 1)));
  }
  return out;
}

std::optional<SigV4Credentials> FromSection(const std::map<std::string, std::string>& kv) {
  SigV4Credentials c;
  c.access_key_id = Get(kv, "aws_access_key_id");
  c.secret_access_key = Get(kv, "aws_secret_access_key");
  c.session_token = Get(kv, "aws_session_token");
  if (c.access_key_id.empty() || c.secret_access_key.empty()) return std::nullopt;
  return c;
}

class Chain final : public CredentialsProvider {
 public:
  explicit Chain(CredentialSources s) : sources_(std::move(s)) {}
  Result<SigV4Credentials> Get() override {
    std::lock_guard lock(mu_);
    if (!cached_) {
      Result<SigV4Credentials> r = ResolveCredentials(sources_);
      if (!r.ok()) return r.status();
      cached_ = std::move(r).value();
    }
    return *cached_;
  }

 private:
  const CredentialSources sources_;
  std::mutex mu_;
  std::optional<SigV4Credentials> cached_;
};

}  // namespace

std::shared_ptr<CredentialsProvider> StaticCredentials(SigV4Credentials credentials) {
  return std::make_shared<Static>(std::move(credentials));
}

std::map<std::string, std::string> EnvironmentMap() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

Result<SigV4Credentials> ResolveCredentials(const CredentialSources& sources) {
  const auto& env = sources.environment;
  SigV4Credentials c;
  c.access_key_id = Get(env, "AWS_ACCESS_KEY_ID");
  c.secret_access_key = Get(env, "AWS_SECRET_ACCESS_KEY");
  c.session_token = Get(env, "AWS_SESSION_TOKEN");
  if (!c.access_key_id.empty() && !c.secret_access_key.empty()) return c;
  if (!c.access_key_id.empty() || !c.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (only one of them is set)");
  }

  std::string profile = sources.profile;
  if (profile.empty()) profile = Get(env, "AWS_PROFILE");
  if (profile.empty()) profile = "default";
  const std::string home = Get(env, "HOME");
  std::string credentials_file = Get(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (credentials_file.empty() && !home.empty()) credentials_file = home + "/.aws/credentials";
  std::string config_file = Get(env, "AWS_CONFIG_FILE");
  if (config_file.empty() && !home.empty()) config_file = home + "/.aws/config";

  bool profile_seen = false;
  if (!credentials_file.empty()) {
    if (auto section = ReadSection(credentials_file, profile)) {
      profile_seen = true;
      if (auto found = FromSection(*section)) return *found;
    }
  }
  if (!config_file.empty()) {
    // The config file names profiles "[profile NAME]", except "[default]".
    if (auto section = ReadSection(config_file, profile == "default" ? profile : "profile " + profile)) {
      profile_seen = true;
      if (auto found = FromSection(*section)) return *found;
    }
  }
  if (profile_seen) {
    return Status::InvalidArgument(
        fmt::format("AWS profile '{}' (in {} / {}) has no aws_access_key_id and aws_secret_access_key", profile,
                    credentials_file, config_file));
  }
  return Status::PermissionDenied(
      fmt::format("no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and profile '{}' is in "
                  "neither {} nor {}",
                  profile, credentials_file.empty() ? "(no credentials file)" : credentials_file,
                  config_file.empty() ? "(no config file)" : config_file));
}

std::shared_ptr<CredentialsProvider> DefaultCredentialsChain(CredentialSources sources) {
  return std::make_shared<Chain>(std::move(sources));
}

}  // namespace sluice::aws
