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

  // Phase 1: a full outage, every request answered 500, while lines arrive
  // for 20 s (some 770 bytes a record: 9 s of them are more than a 5 MiB part).
  constexpr uint64_t kLines = 20'000;
  constexpr size_t kWidth = 600;
  ProxyFaults outage;
  outage.outage_status = 500;
  proxy.SetFaults(outage);
  const auto outage_on = std::chrono::steady_clock::now();
  LineWriter::Options w;
  w.file = agent.logs() / "app.log";
  w.count = kLines;
  w.lines_per_second = 1000;
  w.width = kWidth;
  LineWriter writer(w);
  agent.Start();
  std::this_thread::sleep_for(9s);

  // Phase 2: faults drawn per request from the seed, for at least 60
  // requests (or 20 s).
  ProxyFaults mixed;
  mixed.seed = TestSeed("s3 faults") % (1ull << 32);
  mixed.throttle = 0.05;
  mixed.error500 = 0.08;
  mixed.error503 = 0.05;
  mixed.drop_before = 0.08;
  mixed.drop_after = 0.08;
  mixed.slow = 0.05;
  mixed.slow_ms = 1000;
  proxy.SetFaults(mixed);
  const auto outage_off = std::chrono::steady_clock::now();
  const size_t before_mixed = proxy.Requests().size();
  WaitUntil(
      20s, [&] { return proxy.Requests().size() >= before_mixed + 60; }, 250ms);

  // Phase 3: no faults; everything arrives.
  proxy.SetFaults(ProxyFaults{});
  writer.Join();
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
  const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(outage_off - outage_on);
  uint64_t outage_requests = 0;
  for (const ProxyRequest& r : requests) outage_requests += r.fault == "outage" ? 1 : 0;
  const uint64_t ceiling = RetryRequestCeiling(window, 100ms, 1s, 3);
  INFO("outage of " << window.count() << " ms: " << outage_requests << " requests, ceiling " << ceiling);
  CHECK(outage_requests >= 1);
  CHECK(outage_requests <= ceiling);
}

}  // namespace sluice::test
