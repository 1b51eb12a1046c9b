// The agent's S3 sink through tests/servers/fault-proxy.js to s3rver: under
// a full outage, then 500/503/SlowDown answers, connections dropped before
// and after s3rver stored a request, and slow answers, every line lands
// exactly once (objects are named after their first batch, so a resent
// group overwrites the same key), every object is whole, and retries back
// off. Read back with the AWS SDK for JavaScript.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/agent_fixture.h"
#include "tests/support/fault_phases.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/numbered_lines.h"
#include "tests/support/s3rver.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"
#include "tests/support/wait.h"

namespace sluice::test {

TEST_CASE("s3 sink through injected faults: every line exactly once, whole objects only, backoff in an outage",
          "[agent][s3][faults]") {
  using namespace std::chrono_literals;
  TempDir tmp("sluice-s3-faults");
  S3rver s3(tmp / "s3");
  FaultProxy proxy(tmp / "proxy", s3.endpoint());
  AgentOptions o;
  // Uncompressed with 5 MiB parts: the backlog of the outage goes up as a
  // multipart upload, under the faults of phase 2.
  o.sink_toml =
      "type = \"s3\"\nbucket = \"lake\"\nprefix = \"edge/device-1\"\nendpoint = " + TomlString(proxy.endpoint()) +
      "\ncompression = \"none\"\npart_size = \"5MiB\"\n";
  o.env = S3rver::ClientEnvironment();
  o.retry_initial = "100ms";
  o.retry_max = "1s";
  o.batch_max_age = "250ms";  // objects every 250 ms: many requests to draw faults for
  AgentUnderTest agent(tmp / "agent", o);

  // A full outage (every request answered 500) while lines arrive, then
  // faults of every kind drawn per request from the seed, then none
  // (tests/support/fault_phases.h). Lines arrive for 20 s, some 770 bytes a
  // record: the 9 s outage's backlog is more than a 5 MiB part.
  constexpr uint64_t kLines = 20'000;
  constexpr size_t kWidth = 600;
  FaultPhaseOptions phases;
  phases.lines.file = agent.logs() / "app.log";
  phases.lines.count = kLines;
  phases.lines.lines_per_second = 1000;
  phases.lines.width = kWidth;
  phases.mixed.seed = TestSeed("s3 faults") % (1ull << 32);
  phases.mixed.throttle = 0.05;
  phases.mixed.error500 = 0.08;
  phases.mixed.error503 = 0.05;
  phases.mixed.drop_before = 0.08;
  phases.mixed.drop_after = 0.08;
  phases.mixed.slow = 0.05;
  phases.mixed.slow_ms = 1000;
  phases.min_requests = 60;
  phases.max_mixed = 20s;
  const std::chrono::milliseconds window = RunFaultPhases(agent, proxy, phases);
  INFO(agent.StderrTail());
  REQUIRE(agent.WaitUntilCaughtUp(120s));
  const std::optional<ExitStatus> exit = agent.Stop(30s);
  REQUIRE(exit.has_value());
  CHECK(exit->Exited(0));

  const std::vector<ProxyRequest> requests = proxy.Requests();
  const ProxyTally tally = Tally(requests);
  INFO("proxy: " << tally.Summary());
  uint64_t multipart_completions = 0;
  for (const ProxyRequest& r : requests) {
    if (r.method == "POST" && r.path.find("uploadId=") != std::string::npos && r.status == 200) ++multipart_completions;
  }
  CHECK(multipart_completions >= 1);

  // What the SDK lists and downloads: objects in the layout only, each whole
  // (every line a complete JSON record), every line exactly once.
  const std::filesystem::path got = tmp / "sdk";
  const std::vector<S3rver::Listed> listed = s3.DownloadWithSdk("lake", "edge/device-1/", got);
  const std::regex layout(R"(edge/device-1/raw/app/dt=\d{4}-\d{2}-\d{2}/hr=\d{2}/[0-9A-Za-z_-]+\.jsonl)");
  std::vector<std::string> msgs;
  uint64_t bad_lines = 0, biggest = 0;
  for (const S3rver::Listed& obj : listed) {
    INFO(obj.key);
    CHECK(std::regex_match(obj.key, layout));
    biggest = std::max(biggest, obj.size);
    const std::string text = ReadFile(got / obj.key.substr(std::string("edge/device-1/").size()));
    CHECK(text.size() == obj.size);
    CHECK((!text.empty() && text.back() == '\n'));
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("msg")) {
        ++bad_lines;
        continue;
      }
      msgs.push_back(j.at("msg"));
    }
  }
  INFO(listed.size() << " objects, the largest " << biggest << " bytes");
  CHECK(bad_lines == 0);
  const LineAudit audit = AuditLines(msgs, 1, kLines, kWidth);
  INFO(audit.Summary());
  CHECK(audit.ExactlyOnce());

  // Backoff: during the outage the requests stay under what the retry
  // configuration allows in that window, each attempt being up to 3
  // requests (the S3 client's own retries within one delivery).
  uint64_t outage_requests = 0;
  for (const ProxyRequest& r : requests) outage_requests += r.fault == "outage" ? 1 : 0;
  const uint64_t ceiling = RetryRequestCeiling(window, 100ms, 1s, 3);
  INFO("outage of " << window.count() << " ms: " << outage_requests << " requests, ceiling " << ceiling);
  CHECK(outage_requests >= 1);
  CHECK(outage_requests <= ceiling);
}

}  // namespace sluice::test
