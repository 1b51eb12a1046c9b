// What the Debian package ships, checked without building it (the package
// itself is built, installed and run by packaging/test.sh): the example
// /etc/sluice/agent.toml passes `sluice agent check`, and systemd accepts the
// units without a warning and rates the agent's sandbox as exposed little.
#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kPackaging = std::filesystem::path(SLUICE_SOURCE_DIR) / "packaging";

// The unit as shipped, with /usr/bin/sluice (not installed on a build
// machine) replaced by the binary under test.
void CopyUnitForVerify(const std::string& name, const std::filesystem::path& to_dir) {
  std::string text = ReadFile(kPackaging / "systemd" / name);
  const std::string shipped = "/usr/bin/sluice ";
  size_t replaced = 0;
  for (size_t at = text.find(shipped); at != std::string::npos; at = text.find(shipped, at)) {
    text.replace(at, shipped.size() - 1, SLUICE_BINARY);
    at += std::string(SLUICE_BINARY).size();
    ++replaced;
  }
  if (name.find(".service") != std::string::npos) REQUIRE(replaced == 1);
  WriteFile(to_dir / name, text);
}

RunResult RunPackagingTool(std::filesystem::path program, std::vector<std::string> args) {
  ProcessOptions p;
  p.program = std::move(program);
  p.args = std::move(args);
  return RunToCompletion(std::move(p), 60s);
}

}  // namespace

TEST_CASE("packaging: the shipped /etc/sluice/agent.toml passes sluice agent check", "[integration][packaging]") {
  const RunResult r =
      RunPackagingTool(SLUICE_BINARY, {"agent", "check", "--config", (kPackaging / "agent.toml").string()});
  INFO(r.Describe());
  REQUIRE(r.status.Exited(0));
  CHECK(r.out.find("valid (1 sources, 0 transforms, 1 sinks)") != std::string::npos);
  CHECK(r.out.find("data_dir = \"/var/lib/sluice\"") != std::string::npos);
  CHECK(r.out.find("path = \"/var/lib/sluice/lake\"") != std::string::npos);
}

TEST_CASE("packaging: systemd-analyze verify accepts the units without a warning, the agent's exposure is at most 2.5",
          "[integration][packaging]") {
  TempDir dir("sluice-units");
  for (const char* name : {"sluice-agent.service", "sluice-drop@.service", "sluice-drop@.timer"}) {
    CopyUnitForVerify(name, dir.path());
  }
  // A template is verified through an instance.
  std::filesystem::copy_file(dir.path() / "sluice-drop@.service", dir.path() / "sluice-drop@partners.service");
  std::filesystem::copy_file(dir.path() / "sluice-drop@.timer", dir.path() / "sluice-drop@partners.timer");
  const RunResult verify =
      RunPackagingTool("systemd-analyze", {"verify", "--man=no", (dir.path() / "sluice-agent.service").string(),
                                           (dir.path() / "sluice-drop@partners.service").string(),
                                           (dir.path() / "sluice-drop@partners.timer").string()});
  INFO(verify.Describe());
  CHECK(verify.status.Exited(0));
  // verify exits 0 on unknown keys and bad values too, but says so.
  CHECK(verify.out.empty());
  CHECK(verify.err.empty());

  // systemd's own rating of the sandbox: 0 (locked down) to 10 (exposed).
  const RunResult security = RunPackagingTool("systemd-analyze", {"security", "--offline=yes", "--threshold=25",
                                                                  (dir.path() / "sluice-agent.service").string()});
  INFO(security.Describe());
  CHECK(security.status.Exited(0));
  std::smatch m;
  const std::string all = security.out + security.err;
  REQUIRE(std::regex_search(all, m, std::regex(R"(Overall exposure level for sluice-agent\.service: ([0-9.]+))")));
  WARN("sluice-agent.service exposure (systemd-analyze security): " << m[1].str());
  CHECK(std::stod(m[1].str()) <= 2.5);
}

}  // namespace sluice::test
