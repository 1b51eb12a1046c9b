// The real `sluice agent` shipping to S3 (s3rver) with no credentials but
// those of a device or instance provider: AWS IoT's credentials provider
// over mutual TLS (refreshed while the agent runs), or EC2 instance metadata
// (IMDSv2). Nothing in the agent's environment or shared files, and no
// session token in its log. A partial set of AWS IoT keys fails
// `sluice agent check`, naming the file, line and key.
#include <catch2/catch.hpp>
#include <chrono>

#include "tests/support/agent_fixture.h"
#include "tests/support/imds_server.h"
#include "tests/support/iot_credentials_server.h"
#include "tests/support/lake_reader.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/s3rver.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// An environment with no AWS credentials in it, whatever the test's own
// environment holds, and shared files that do not exist.
std::vector<std::pair<std::string, std::string>> NoStaticCredentials(const TempDir& tmp) {
  return {{"AWS_ACCESS_KEY_ID", ""},
          {"AWS_SECRET_ACCESS_KEY", ""},
          {"AWS_SESSION_TOKEN", ""},
          {"AWS_PROFILE", ""},
          {"AWS_SHARED_CREDENTIALS_FILE", (tmp / "no-credentials").string()},
          {"AWS_CONFIG_FILE", (tmp / "no-config").string()},
          {"AWS_REGION", "us-east-1"}};
}

std::string ProviderS3Toml(const S3rver& s3, const std::string& extra = "") {
  return "type = \"s3\"\nbucket = \"lake\"\nprefix = \"edge/device-1\"\nendpoint = " + TomlString(s3.endpoint()) +
         "\n" + extra;
}

uint64_t ProviderStoredLines(const S3rver& s3, const std::filesystem::path& mirror) {
  s3.MirrorObjects("lake", "edge/device-1", mirror);
  return LakeLineCounter(mirror).Count();
}

LineWriter::Options ProviderLines(const std::filesystem::path& file, uint64_t first, uint64_t count,
                                  double per_second = 0) {
  LineWriter::Options o;
  o.file = file;
  o.first = first;
  o.count = count;
  o.lines_per_second = per_second;
  return o;
}

}  // namespace

TEST_CASE("s3 sink: credentials from the AWS IoT credentials provider only", "[agent][s3][aws][iot]") {
  TempDir tmp("sluice-s3-iot");
  S3rver s3(tmp / "s3");
  IotCredentialsServerOptions io;
  io.access_key = S3rver::kAccessKey;  // what s3rver takes; the session token is the provider's own
  io.secret_key = S3rver::kSecretKey;
  // 5 minutes and 1 second: inside the agent's 5-minute refresh margin after
  // a second, so it refreshes at its first chance (its retry interval, 15 s,
  // after the fetch) while still valid.
  io.lifetime_s = 301;
  IotCredentialsServer iot(tmp / "iot", io);
  const aws::IotCredentialsConfig c = iot.ClientConfig();

  AgentOptions o;
  o.sink_toml = ProviderS3Toml(
      s3, "iot_credentials_endpoint = " + TomlString(c.endpoint) + "\niot_role_alias = " + TomlString(c.role_alias) +
              "\niot_thing_name = " + TomlString(c.thing_name) + "\niot_cert = " + TomlString(c.cert_file) +
              "\niot_key = " + TomlString(c.key_file) + "\niot_ca = " + TomlString(c.ca_file) + "\n");
  o.env = NoStaticCredentials(tmp);
  o.env.emplace_back("AWS_EC2_METADATA_DISABLED", "true");
  o.log_level = "debug";
  AgentUnderTest agent(tmp / "agent", o);
  const std::filesystem::path mirror = tmp / "mirror";
  // Lines for 20 s, so deliveries go on past the first refresh.
  LineWriter writer(ProviderLines(agent.logs() / "app.log", 1, 1000, 50));
  agent.Start();
  INFO(agent.StderrTail());
  REQUIRE(WaitUntil(90s, [&] { return ProviderStoredLines(s3, mirror) >= 1000; }));
  writer.Join();
  const IotCredentialsStats stats = iot.Stats();
  CHECK(stats.requests.at(c.thing_name + "/" + c.role_alias) >= 2);
  CHECK(stats.served >= 2);  // refreshed while running
  REQUIRE(agent.WaitUntilCaughtUp(60s));
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));

  s3.MirrorObjects("lake", "edge/device-1", mirror);
  const LakeContents lake = ReadLake(mirror);
  const LineAudit audit = AuditLines(lake.records, 1, 1000);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
  // Secrets are never logged, not even at debug level.
  const std::string log = agent.Stderr();
  CHECK(log.find("iot-session-token") == std::string::npos);
}

TEST_CASE("s3 sink: credentials from EC2 instance metadata only", "[agent][s3][aws][imds]") {
  TempDir tmp("sluice-s3-imds");
  S3rver s3(tmp / "s3");
  ImdsServerOptions io;
  io.access_key = S3rver::kAccessKey;
  io.secret_key = S3rver::kSecretKey;
  ImdsServer imds(tmp / "imds", io);
  AgentOptions o;
  o.sink_toml = ProviderS3Toml(s3);
  o.env = NoStaticCredentials(tmp);
  for (const auto& kv : imds.Environment()) o.env.push_back(kv);
  o.log_level = "debug";
  AgentUnderTest agent(tmp / "agent", o);
  {
    LineWriter writer(ProviderLines(agent.logs() / "app.log", 1, 300));
    writer.Join();
  }
  agent.Start();
  INFO(agent.StderrTail());
  const std::filesystem::path mirror = tmp / "mirror";
  REQUIRE(WaitUntil(60s, [&] { return ProviderStoredLines(s3, mirror) >= 300; }));
  REQUIRE(agent.Stop(30s).has_value());
  const ImdsStats s = imds.Stats();
  CHECK(s.credentials >= 1);
  CHECK(s.unauthorized == 0);
  CHECK(agent.Stderr().find("imds-session-token") == std::string::npos);
}

TEST_CASE("agent check: a partial set of AWS IoT keys names the file, line and key", "[agent][aws][iot]") {
  TempDir tmp("sluice-iot-check");
  AgentOptions o;
  o.sink_toml = "type = \"s3\"\nbucket = \"lake\"\niot_role_alias = \"edge\"\niot_thing_name = \"edge-7\"\n";
  AgentUnderTest agent(tmp / "agent", o);
  ProcessOptions check;
  check.program = SLUICE_BINARY;
  check.args = {"agent", "check", "--config", agent.config_path().string()};
  check.log_dir = tmp.path();
  const RunResult r = RunToCompletion(std::move(check), 30s);
  INFO(r.Describe());
  CHECK(r.status.Exited(2));
  CHECK(r.err.find("agent.toml:") != std::string::npos);
  CHECK(r.err.find("sinks.lake.iot_role_alias") != std::string::npos);
  CHECK(r.err.find("missing: iot_credentials_endpoint, iot_cert, iot_key") != std::string::npos);
}

}  // namespace sluice::test
