#include "agent/sources/tail/tail_config.h"

#include <string>

#include <catch2/catch.hpp>

namespace sluice {
namespace {

TailConfig ParseTailToml(const std::string& toml, EffectiveConfig* eff = nullptr) {
  const ConfigDocument doc = ConfigDocument::Parse(toml, "test.toml");
  TableReader root(doc, eff);
  TableReader src = root.Section("sources").Section("app");
  (void)src.String("type", "tail", "");
  TailConfig c = ParseTailConfig(src);
  src.Finish();
  return c;
}

std::string TailErrorOf(const std::string& toml) {
  try {
    ParseTailToml(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("tail: config defaults", "[unit]") {
  EffectiveConfig eff;
  const TailConfig c = ParseTailToml("[sources.app]\ntype = \"tail\"\npaths = [\"/var/log/*.log\"]\n", &eff);
  REQUIRE(c.paths.size() == 1);
  CHECK(c.paths[0].pattern() == "/var/log/*.log");
  CHECK(c.exclude.empty());
  CHECK(c.start_at == TailConfig::StartAt::kEnd);
  CHECK_FALSE(c.multiline_start.has_value());
  CHECK(c.multiline_timeout == std::chrono::seconds(1));
  CHECK(c.max_line == 1 << 20);
  CHECK(c.idle_flush == std::chrono::seconds(5));
  CHECK(c.rotate_wait == std::chrono::seconds(5));
  CHECK(c.scan_interval == std::chrono::seconds(1));
  CHECK_FALSE(c.poll);
  CHECK(c.batch_bytes == 1 << 20);
  CHECK(c.commit_interval == std::chrono::seconds(1));
  CHECK(c.read_buffer == 256 << 10);
  CHECK(c.fingerprint_bytes == 1024);
  // Every option is printed by `sluice agent check`, with a doc.
  const std::string printed = eff.ToToml();
  for (const char* key : {"paths", "exclude", "start_at", "multiline.start", "multiline.timeout", "max_line",
                          "idle_flush", "rotate_wait", "scan_interval", "poll", "batch_bytes", "commit_interval",
                          "read_buffer", "fingerprint_bytes"}) {
    INFO(key);
    if (std::string(key) == "multiline.start") continue;  // optional: printed only when set
    CHECK(printed.find(std::string(key) + " = ") != std::string::npos);
  }
}

TEST_CASE("tail: config values", "[unit]") {
  const TailConfig c = ParseTailToml(R"([sources.app]
type = "tail"
paths = ["/a/**/*.log", "/b/x.log"]
exclude = ["*.gz"]
start_at = "beginning"
multiline.start = '^\d{4}-'
multiline.timeout = "250ms"
max_line = "64KiB"
idle_flush = "200ms"
rotate_wait = "1s"
scan_interval = "100ms"
poll = true
batch_bytes = "4MiB"
commit_interval = "50ms"
read_buffer = "64KiB"
fingerprint_bytes = 512
)");
  CHECK(c.paths.size() == 2);
  CHECK(c.exclude.size() == 1);
  CHECK(c.start_at == TailConfig::StartAt::kBeginning);
  CHECK(*c.multiline_start == R"(^\d{4}-)");
  CHECK(c.multiline_timeout == std::chrono::milliseconds(250));
  CHECK(c.max_line == 64 << 10);
  CHECK(c.poll);
  CHECK(c.fingerprint_bytes == 512);
}

TEST_CASE("tail: config errors name the key and what is wrong", "[unit]") {
  CHECK(TailErrorOf("[sources.app]\ntype = \"tail\"\n").find("missing required key 'paths'") != std::string::npos);
  const std::string glob = TailErrorOf("[sources.app]\npaths = [\"/a/[b\"]\n");
  CHECK(glob.find("test.toml:2:") != std::string::npos);
  CHECK(glob.find("sources.app.paths") != std::string::npos);
  CHECK(glob.find("unterminated '['") != std::string::npos);
  const std::string re = TailErrorOf("[sources.app]\npaths = [\"/a\"]\nmultiline.start = '(x'\n");
  CHECK(re.find("sources.app.multiline.start") != std::string::npos);
  CHECK(re.find("invalid regular expression") != std::string::npos);
  CHECK(TailErrorOf("[sources.app]\npaths = [\"/a\"]\nstart_at = \"middle\"\n").find("expected one of") !=
        std::string::npos);
  CHECK(TailErrorOf("[sources.app]\npaths = [\"/a\"]\nmultiline.begin = 'x'\n").find("unknown key "
                                                                                  "'sources.app.multiline.begin'") !=
        std::string::npos);
  CHECK(TailErrorOf("[sources.app]\npaths = [\"/a\"]\nmax_line = \"lots\"\n").find("sources.app.max_line") !=
        std::string::npos);
}

}  // namespace
}  // namespace sluice
