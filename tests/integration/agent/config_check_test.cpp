// `sluice agent check` prints the effective configuration with every default
// and exits 0; a bad configuration exits 2 (check and run alike) with a
// message naming file:line:column and the key.
#include <catch2/catch.hpp>

#include <chrono>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

RunResult Sluice(const TempDir& dir, std::vector<std::string> args) {
  ProcessOptions p;
  p.program = SLUICE_BINARY;
  p.args = std::move(args);
  p.log_dir = dir.path();
  p.name = "sluice";
  return RunToCompletion(std::move(p), 60s);
}

// A valid minimal configuration: one tail source, one lake sink.
std::string Minimal(const TempDir& dir) {
  return "[sources.app]\n"
         "type = \"tail\"\n"
         "paths = [\"" + (dir / "logs").string() + "/*.log\"]\n"
         "[sinks.lake]\n"
         "type = \"lake\"\n"
         "inputs = [\"app\"]\n"
         "path = \"" + (dir / "lake").string() + "\"\n";
}

}  // namespace

TEST_CASE("agent: check prints the effective configuration with defaults", "[integration][agent][config]") {
  TempDir dir("sluice-check");
  const auto conf = dir / "agent.toml";
  WriteFile(conf, Minimal(dir));
  const RunResult r = Sluice(dir, {"agent", "check", "--config", conf.string()});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.status.Exited(0));
  // Defaults the file does not mention.
  CHECK_THAT(r.out, Catch::Contains("durability = \"full\""));
  CHECK_THAT(r.out, Catch::Contains("overflow = \"block\""));
  CHECK_THAT(r.out, Catch::Contains("start_at = \"end\""));
  CHECK_THAT(r.out, Catch::Contains("shutdown_timeout = \"30s\""));
  CHECK_THAT(r.out, Catch::Contains("[sinks.lake]"));
  CHECK_THAT(r.out, Catch::Contains((dir / "lake").string()));

  // What check prints is itself a valid configuration, with the same effect.
  const auto printed = dir / "printed.toml";
  WriteFile(printed, r.out);
  const RunResult again = Sluice(dir, {"agent", "check", "--config", printed.string()});
  INFO("second check stderr:\n" << again.err);
  REQUIRE(again.status.Exited(0));
  const auto body = [](const std::string& s) { return s.substr(s.find('\n')); };  // minus the "# file: valid" line
  CHECK(body(again.out) == body(r.out));
}

TEST_CASE("agent: a bad configuration exits 2 naming file:line:column and the key", "[integration][agent][config]") {
  TempDir dir("sluice-check-bad");
  const std::string lake = (dir / "lake").string();
  const std::string tail_and_lake = Minimal(dir);
  struct Case {
    const char* what;
    std::string text;
    const char* where;  // line:column
    const char* key;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"unknown key", "[agent]\ndat_dir = \"/x\"\n" + tail_and_lake, "2:1", "agent.dat_dir", "unknown key"},
      {"bad size", "[agent]\nbuffer_max = \"12 parsecs\"\n" + tail_and_lake, "2:14", "agent.buffer_max",
       "expected a size"},
      {"bad duration", "[agent]\nshutdown_timeout = \"soon\"\n" + tail_and_lake, "2:20", "agent.shutdown_timeout",
       "expected a duration"},
      {"wrong type", "[agent]\nbuffer_max = true\n" + tail_and_lake, "2:14", "agent.buffer_max", "expected a size"},
      {"missing paths",
       "[sources.app]\ntype = \"tail\"\n[sinks.lake]\ntype = \"lake\"\ninputs = [\"app\"]\npath = \"" + lake + "\"\n",
       "1:1", "sources.app", "missing required key 'paths'"},
      {"sink input naming no source",
       "[sources.app]\ntype = \"tail\"\npaths = [\"/x/*.log\"]\n[sinks.lake]\ntype = \"lake\"\ninputs = [\"nope\"]\n"
       "path = \"" + lake + "\"\n",
       "6:10", "sinks.lake.inputs", "no source or transform named \"nope\""},
      {"invalid TOML", "[agent\n" + tail_and_lake, "1:7", "", "invalid TOML"},
  };
  for (const Case& c : cases) {
    SECTION(c.what) {
      const auto conf = dir / "bad.toml";
      WriteFile(conf, c.text);
      const std::string expected_where = conf.string() + ":" + c.where + ":";
      for (const bool check : {true, false}) {
        std::vector<std::string> args = {"agent"};
        if (check) args.push_back("check");
        args.insert(args.end(), {"--config", conf.string()});
        const RunResult r = Sluice(dir, args);
        INFO((check ? "sluice agent check" : "sluice agent") << "\nconfig:\n" << c.text << "\nstdout:\n" << r.out
                                                              << "\nstderr:\n" << r.err);
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.status.Exited(2));
        CHECK_THAT(r.err, Catch::StartsWith(expected_where));
        if (*c.key != '\0') CHECK_THAT(r.err, Catch::Contains(std::string("'") + c.key + "'"));
        CHECK_THAT(r.err, Catch::Contains(c.says));
      }
    }
  }
}

}  // namespace sluice::test

namespace sluice::test {

TEST_CASE("agent: every example configuration in conf/ passes check", "[integration][agent][config]") {
  TempDir dir;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(SLUICE_SOURCE_DIR) / "conf")) {
    if (entry.path().extension() != ".toml") continue;
    INFO(entry.path());
    // The examples name secrets and certificates under /etc/sluice/, which
    // check requires readable: they are checked with those paths moved to
    // files of the test's (a key, a certificate: 32 bytes of text suffice).
    std::string text = ReadFile(entry.path());
    const std::string etc = (dir / "etc-sluice").string() + "/";
    std::filesystem::create_directories(etc);
    for (size_t at = text.find("/etc/sluice/"); at != std::string::npos; at = text.find("/etc/sluice/", at)) {
      text.replace(at, 12, etc);
      const size_t end = text.find_first_of("\"' \n,}", at + etc.size());
      WriteFile(text.substr(at, end - at), "0123456789abcdef0123456789abcdef\n");
      at += etc.size();
    }
    const std::filesystem::path checked_copy = dir.path() / entry.path().filename();
    WriteFile(checked_copy, text);
    const RunResult r = Sluice(dir, {"agent", "check", "--config", checked_copy.string()});
    INFO(r.err);
    CHECK(r.status.Exited(0));
    ++checked;
  }
  CHECK(checked >= 3);
}

}  // namespace sluice::test
