// The agent's S3 sink against a real S3 API server (s3rver): every line
// lands exactly once in the lake layout under the bucket's prefix, through
// an outage of the server and a kill -9 of the agent, also as the AWS SDK
// for JavaScript lists and reads it; gzip objects read back the same way;
// objects larger than a part go up as multipart uploads; a bad bucket name
// is a config error.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/agent_fixture.h"
#include "tests/support/compress.h"
#include "tests/support/lake_reader.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/s3rver.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

std::string S3SinkToml(const S3rver& s3, const std::string& extra = "") {
  return "type = \"s3\"\nbucket = \"lake\"\nprefix = \"edge/device-1\"\nendpoint = " + TomlString(s3.endpoint()) +
         "\n" + extra;
}

// The lines the server holds, read back as a lake.
LakeContents StoredLake(const S3rver& s3, const std::filesystem::path& mirror) {
  s3.MirrorObjects("lake", "edge/device-1", mirror);
  return ReadLake(mirror);
}

LineWriter::Options Lines(const std::filesystem::path& file, uint64_t count, double per_second) {
  LineWriter::Options o;
  o.file = file;
  o.count = count;
  o.lines_per_second = per_second;
  return o;
}

uint64_t StoredLines(const S3rver& s3, const std::filesystem::path& mirror) {
  s3.MirrorObjects("lake", "edge/device-1", mirror);
  return LakeLineCounter(mirror).Count();
}

}  // namespace

TEST_CASE("s3 sink: every line exactly once through a server outage and a kill -9", "[agent][s3]") {
  TempDir tmp("sluice-s3-sink");
  S3rver s3(tmp / "s3");
  AgentOptions o;
  o.sink_toml = S3SinkToml(s3);
  o.env = S3rver::ClientEnvironment();
  o.retry_max = "1s";
  AgentUnderTest agent(tmp / "agent", o);
  const std::filesystem::path mirror = tmp / "mirror";

  constexpr uint64_t kLines = 6000;
  LineWriter writer(Lines(agent.logs() / "app.log", kLines, 2000));
  agent.Start();
  REQUIRE(WaitUntil(60s, [&] { return StoredLines(s3, mirror) >= 500; }));

  // The server goes away while lines keep coming: the agent buffers and retries.
  s3.Stop();
  std::this_thread::sleep_for(2s);
  s3.Start();

  // kill -9 while it catches up; the restart redelivers from its buffer.
  REQUIRE(WaitUntil(60s, [&] { return StoredLines(s3, mirror) >= 3000; }));
  agent.Kill9();
  writer.Join();
  agent.Start();
  REQUIRE(WaitUntil(120s, [&] { return StoredLines(s3, mirror) >= kLines; }));
  REQUIRE(agent.WaitUntilCaughtUp(60s));
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));

  const LakeContents lake = StoredLake(s3, mirror);
  CHECK(lake.problems.empty());
  CHECK(lake.temp_files.empty());
  const LineAudit audit = AuditLines(lake.records, 1, kLines);
  INFO(audit.Summary());
  INFO(agent.StderrTail());
  CHECK(audit.ExactlyOnce());
  for (const auto& f : lake.files) {
    INFO(f);
    CHECK(f.string().find("/raw/app/dt=") != std::string::npos);
  }

  // The same objects through the AWS SDK's eyes: the keys it lists are the
  // files read above, and what it downloads holds every line exactly once.
  const std::vector<S3rver::Listed> listed = s3.DownloadWithSdk("lake", "edge/device-1/", tmp / "sdk");
  std::set<std::string> listed_keys, mirrored_keys;
  for (const S3rver::Listed& obj : listed) listed_keys.insert(obj.key);
  for (const auto& f : lake.files) {
    mirrored_keys.insert("edge/device-1/" + std::filesystem::relative(f, mirror).generic_string());
  }
  CHECK(listed_keys == mirrored_keys);
  const LakeContents via_sdk = ReadLake(tmp / "sdk");
  CHECK(via_sdk.problems.empty());
  const LineAudit sdk_audit = AuditLines(via_sdk.records, 1, kLines);
  INFO(sdk_audit.Summary());
  CHECK(sdk_audit.ExactlyOnce());
}

TEST_CASE("s3 sink: gzip objects in the layout, listed and read back with the AWS SDK", "[agent][s3]") {
  TempDir tmp("sluice-s3-sink-gzip");
  S3rver s3(tmp / "s3");
  AgentOptions o;
  o.sink_toml = S3SinkToml(s3, "compression = \"gzip\"\n");
  o.env = S3rver::ClientEnvironment();
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 3000;
  agent.Start();
  LineWriter writer(Lines(agent.logs() / "app.log", kLines, 1000));  // over a few seconds: several objects
  writer.Join();
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(60s));
  REQUIRE(agent.Stop(30s).has_value());

  const std::filesystem::path got = tmp / "sdk";
  const std::vector<S3rver::Listed> listed = s3.DownloadWithSdk("lake", "edge/device-1/", got);
  const std::regex layout(R"(edge/device-1/raw/app/dt=\d{4}-\d{2}-\d{2}/hr=\d{2}/[0-9A-Za-z_-]+\.jsonl\.gz)");
  std::vector<std::string> msgs;
  for (const S3rver::Listed& obj : listed) {
    INFO(obj.key);
    CHECK(std::regex_match(obj.key, layout));
    std::istringstream in(GunzipBytes(ReadFile(got / obj.key.substr(std::string("edge/device-1/").size()))));
    for (std::string line; std::getline(in, line);) msgs.push_back(nlohmann::json::parse(line).at("msg"));
  }
  CHECK(!listed.empty());
  const LineAudit audit = AuditLines(msgs, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
}

TEST_CASE("s3 sink: a group larger than a part is a multipart upload", "[agent][s3]") {
  TempDir tmp("sluice-s3-sink-big");
  S3rver s3(tmp / "s3");
  AgentOptions o;
  // Uncompressed, 70,000 lines of 100 bytes are 7 MB: two 5 MiB parts.
  o.sink_toml = S3SinkToml(s3, "compression = \"none\"\npart_size = \"5MiB\"\n");
  o.env = S3rver::ClientEnvironment();
  o.batch_max_age = "3s";
  o.batch_max_bytes = "64MiB";
  AgentUnderTest agent(tmp / "agent", o);
  constexpr uint64_t kLines = 70'000;
  {
    LineWriter writer(Lines(agent.logs() / "app.log", kLines, 0));
    writer.Join();
  }
  agent.Start();
  const std::filesystem::path mirror = tmp / "mirror";
  auto stored = [&] {
    s3.MirrorObjects("lake", "edge/device-1", mirror);
    uint64_t lines = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(mirror)) {
      if (!e.is_regular_file()) continue;
      const std::string text = ReadFile(e.path());
      lines += static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
    }
    return lines;
  };
  REQUIRE(WaitUntil(120s, [&] { return stored() >= kLines; }));
  REQUIRE(agent.Stop(30s).has_value());
  // Plain JSON Lines: each object a .jsonl file a reader takes as it is.
  std::vector<std::string> msgs;
  uint64_t biggest = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(mirror)) {
    if (!e.is_regular_file()) continue;
    CHECK(e.path().extension() == ".jsonl");
    biggest = std::max<uint64_t>(biggest, e.file_size());
    std::istringstream in(ReadFile(e.path()));
    for (std::string line; std::getline(in, line);) msgs.push_back(nlohmann::json::parse(line).at("msg"));
  }
  CHECK(biggest > (5u << 20));
  const LineAudit audit = AuditLines(msgs, 1, kLines);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());
}

TEST_CASE("s3 sink: configuration errors name the file, line and key", "[agent][s3]") {
  TempDir tmp("sluice-s3-sink-conf");
  AgentOptions o;
  o.sink_toml = "type = \"s3\"\nbucket = \"Not_A_Bucket\"\n";
  AgentUnderTest agent(tmp / "agent", o);
  agent.WriteConfig();
  ProcessOptions check;
  check.program = SLUICE_BINARY;
  check.args = {"agent", "check", "--config", agent.config_path().string()};
  check.log_dir = tmp.path();
  const RunResult r = RunToCompletion(std::move(check), 30s);
  CHECK(r.status.Exited(2));
  CHECK(r.err.find("agent.toml:") != std::string::npos);
  CHECK(r.err.find("sinks.lake.bucket") != std::string::npos);
}

}  // namespace sluice::test
