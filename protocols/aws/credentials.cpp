#include "protocols/aws/credentials.h"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <optional>
#include <vector>

#include "protocols/aws/imds_credentials.h"

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

// Step 1: nullopt when neither key is set; an error when only one is.
Result<std::optional<SigV4Credentials>> FromEnvironment(const std::map<std::string, std::string>& env) {
  SigV4Credentials c;
  c.access_key_id = Get(env, "AWS_ACCESS_KEY_ID");
  c.secret_access_key = Get(env, "AWS_SECRET_ACCESS_KEY");
  c.session_token = Get(env, "AWS_SESSION_TOKEN");
  if (!c.access_key_id.empty() && !c.secret_access_key.empty()) return std::optional<SigV4Credentials>(c);
  if (!c.access_key_id.empty() || !c.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (only one of them is set)");
  }
  return std::optional<SigV4Credentials>();
}

// Step 2: what the shared files hold for the profile, and where they are.
struct FilesLookup {
  std::optional<SigV4Credentials> found;
  std::string profile;
  bool explicit_profile = false;  // named by the caller or AWS_PROFILE, not the default
  bool profile_seen = false;      // a section for it exists (perhaps without keys)
  std::string credentials_file;
  std::string config_file;
};

FilesLookup FromSharedFiles(const CredentialSources& sources) {
  const auto& env = sources.environment;
  FilesLookup l;
  l.profile = sources.profile;
  if (l.profile.empty()) l.profile = Get(env, "AWS_PROFILE");
  l.explicit_profile = !l.profile.empty();
  if (l.profile.empty()) l.profile = "default";
  const std::string home = Get(env, "HOME");
  l.credentials_file = Get(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (l.credentials_file.empty() && !home.empty()) l.credentials_file = home + "/.aws/credentials";
  l.config_file = Get(env, "AWS_CONFIG_FILE");
  if (l.config_file.empty() && !home.empty()) l.config_file = home + "/.aws/config";

  if (!l.credentials_file.empty()) {
    if (auto section = ReadSection(l.credentials_file, l.profile)) {
      l.profile_seen = true;
      if ((l.found = FromSection(*section))) return l;
    }
  }
  if (!l.config_file.empty()) {
    // The config file names profiles "[profile NAME]", except "[default]".
    if (auto section = ReadSection(l.config_file, l.profile == "default" ? l.profile : "profile " + l.profile)) {
      l.profile_seen = true;
      l.found = FromSection(*section);
    }
  }
  return l;
}

// Why step 2 found nothing; a profile without keys is a mistake worth its own code.
Status FilesError(const FilesLookup& l) {
  if (l.profile_seen) {
    return Status::InvalidArgument(
        fmt::format("AWS profile '{}' (in {} / {}) has no aws_access_key_id and aws_secret_access_key", l.profile,
                    l.credentials_file, l.config_file));
  }
  return Status::PermissionDenied(fmt::format("profile '{}' is in neither {} nor {}", l.profile,
                                              l.credentials_file.empty() ? "(no credentials file)" : l.credentials_file,
                                              l.config_file.empty() ? "(no config file)" : l.config_file));
}

class Chain final : public CredentialsProvider {
 public:
  explicit Chain(CredentialSources s) : sources_(std::move(s)) {
    if (sources_.iot) {
      IotCredentialsConfig iot = *sources_.iot;
      // As for every AWS endpoint: the SDKs' extra CA bundle.
      if (iot.ca_file.empty()) iot.ca_file = aws::Get(sources_.environment, "AWS_CA_BUNDLE");
      iot_ = IotCredentials(std::move(iot), sources_.refresh);
    }
    if (std::optional<ImdsOptions> imds = ImdsOptionsFromEnvironment(sources_.environment)) {
      imds_ = ImdsCredentials(std::move(*imds), sources_.refresh);
    }
  }

  Result<SigV4Credentials> Get() override {
    std::shared_ptr<CredentialsProvider> chosen;
    {
      std::lock_guard lock(mu_);
      if (chosen_ == nullptr) return Walk();
      chosen = chosen_;
    }
    // The chosen provider refreshes on its own (and without this lock, so
    // callers holding valid credentials never wait for a refresh).
    return chosen->Get();
  }

 private:
  // Under mu_: the steps in order; the first that gives credentials is kept.
  Result<SigV4Credentials> Walk() {
    Result<std::optional<SigV4Credentials>> env = FromEnvironment(sources_.environment);
    if (!env.ok()) return env.status();
    if (env.value()) return Choose(StaticCredentials(*env.value()));
    std::vector<std::string> looked = {"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set"};

    const FilesLookup files = FromSharedFiles(sources_);
    if (files.found) return Choose(StaticCredentials(*files.found));
    const Status files_error = FilesError(files);
    if (files.explicit_profile) return Status(files_error.code(), "no AWS credentials: " + files_error.message());
    looked.push_back(files_error.message());

    // A configured device provider is the answer or the error: falling back to
    // an instance role would sign with permissions nobody chose.
    if (iot_ != nullptr) return Try(iot_, looked, /*keep_transient=*/true);
    looked.emplace_back("no AWS IoT credentials provider configured");
    // No answer from the metadata service mostly means "not an EC2 instance":
    // no credentials, rather than an outage to wait out.
    if (imds_ != nullptr) return Try(imds_, looked, /*keep_transient=*/false);
    looked.emplace_back("EC2 instance metadata not asked (AWS_EC2_METADATA_DISABLED=true)");
    return Status::PermissionDenied("no AWS credentials: " + Join(looked));
  }

  Result<SigV4Credentials> Try(const std::shared_ptr<CredentialsProvider>& p, std::vector<std::string>& looked,
                               bool keep_transient) {
    Result<SigV4Credentials> r = p->Get();
    if (r.ok()) {
      chosen_ = p;
      return r;
    }
    looked.push_back(r.status().message());
    // A configured provider's transient failure stays transient, so callers retry.
    const bool transient = keep_transient && r.status().code() == ErrorCode::kUnavailable;
    return Status(transient ? ErrorCode::kUnavailable : ErrorCode::kPermissionDenied,
                  "no AWS credentials: " + Join(looked));
  }

  Result<SigV4Credentials> Choose(std::shared_ptr<CredentialsProvider> p) {
    chosen_ = std::move(p);
    return chosen_->Get();
  }

  static std::string Join(const std::vector<std::string>& parts) {
    std::string out;
    for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
    return out;
  }

  const CredentialSources sources_;
  std::shared_ptr<CredentialsProvider> iot_;   // null when not configured
  std::shared_ptr<CredentialsProvider> imds_;  // null when disabled
  std::mutex mu_;
  std::shared_ptr<CredentialsProvider> chosen_;
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
  Result<std::optional<SigV4Credentials>> env = FromEnvironment(sources.environment);
  if (!env.ok()) return env.status();
  if (env.value()) return *env.value();
  const FilesLookup files = FromSharedFiles(sources);
  if (files.found) return *files.found;
  const Status error = FilesError(files);
  if (error.code() == ErrorCode::kInvalidArgument) return error;
  return Status::PermissionDenied("no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and " +
                                  error.message());
}

std::shared_ptr<CredentialsProvider> DefaultCredentialsChain(CredentialSources sources) {
  return std::make_shared<Chain>(std::move(sources));
}

}  // namespace sluice::aws
