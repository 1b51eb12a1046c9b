#include "core/config/reader.h"

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

using namespace std::chrono_literals;

namespace sluice {
namespace {

constexpr const char* kFile = "/etc/sluice/agent.toml";

// Parses `text`, runs `read` over the root and returns the ConfigError message
// ("" when there was none).
template <class F>
std::string ErrorOf(std::string_view text, F read) {
  try {
    ConfigDocument doc = ConfigDocument::Parse(text, kFile);
    EffectiveConfig effective;
    TableReader root(doc, &effective);
    read(root);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("config: a TOML syntax error names file, line and column", "[unit]") {
  CHECK(ErrorOf("[agent]\nx = = 1\n", [](TableReader&) {}) ==
        "/etc/sluice/agent.toml:2:5: invalid TOML: Error while parsing value: could not determine value type");
  CHECK(ErrorOf("[agent]\ndata_dir = \"x\nmore", [](TableReader&) {}) ==
        "/etc/sluice/agent.toml:2:14: invalid TOML: Error while parsing string: unescaped control characters "
        "other than TAB (U+0009) are explicitly prohibited");
}

TEST_CASE("config: a file that cannot be read is named", "[unit]") {
  test::TempDir dir;
  const std::string missing = (dir / "nope.toml").string();
  try {
    ConfigDocument::Load(missing);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == missing + ": cannot read the configuration file: No such file or directory");
  }
  test::WriteFile(dir / "ok.toml", "[agent]\nthreads = 3\n");
  ConfigDocument doc = ConfigDocument::Load((dir / "ok.toml").string());
  TableReader root(doc, nullptr);
  CHECK(root.Section("agent").Int("threads", 1, 1, 8, "") == 3);
}

TEST_CASE("config: unknown keys are rejected where they are", "[unit]") {
  CHECK(ErrorOf("[agent]\ndata_dir = \"/x\"\n  bogus = 1\n",
                [](TableReader& r) {
                  TableReader a = r.Section("agent");
                  a.String("data_dir", "/d", "doc");
                  a.Finish();
                }) == "/etc/sluice/agent.toml:3:3: unknown key 'agent.bogus'");
  CHECK(ErrorOf("\nbogus = 1\n", [](TableReader& r) { r.Finish(); }) ==
        "/etc/sluice/agent.toml:2:1: unknown key 'bogus'");
  SECTION("in a dotted sub-table") {
    CHECK(ErrorOf("[sources.app]\ntype = \"tail\"\nmultiline.start = \"x\"\nmultiline.bogus = 2\n",
                  [](TableReader& r) {
                    TableReader app = r.Section("sources").Section("app");
                    app.String("type", "", "");
                    TableReader m = app.Table("multiline");
                    m.String("start", "", "");
                    m.Finish();
                    app.Finish();
                  }) == "/etc/sluice/agent.toml:4:11: unknown key 'sources.app.multiline.bogus'");
  }
  SECTION("in an inline table") {
    CHECK(ErrorOf("[s]\ntls = { ca = \"/c\", bogus = 1 }\n",
                  [](TableReader& r) {
                    TableReader s = r.Section("s");
                    TableReader t = s.Table("tls");
                    t.String("ca", "", "");
                    t.Finish();
                    s.Finish();
                  }) == "/etc/sluice/agent.toml:2:20: unknown key 's.tls.bogus'");
  }
  SECTION("keys that were read are not unknown") {
    CHECK(ErrorOf("[agent]\na = 1\nb = true\n",
                  [](TableReader& r) {
                    TableReader a = r.Section("agent");
                    a.Int("a", 0, 0, 5, "");
                    a.Bool("b", false, "");
                    a.Finish();
                    r.Finish();
                  }) == "");
  }
}

TEST_CASE("config: each getter rejects the wrong type", "[unit]") {
  const std::string at = "/etc/sluice/agent.toml:2:5: key 'a.x': ";
  CHECK(ErrorOf("[a]\nx = 5\n", [](TableReader& r) { r.Section("a").String("x", "", ""); }) ==
        at + "expected a string, got an integer");
  CHECK(ErrorOf("[a]\nx = 5\n", [](TableReader& r) { r.Section("a").RequiredString("x", ""); }) ==
        at + "expected a string, got an integer");
  CHECK(ErrorOf("[a]\nx = [1]\n", [](TableReader& r) { (void)r.Section("a").OptionalString("x", ""); }) ==
        at + "expected a string, got an array");
  CHECK(ErrorOf("[a]\nx = 2\n", [](TableReader& r) { r.Section("a").Enum("x", "block", {"block"}, ""); }) ==
        at + "expected a string, got an integer");
  CHECK(ErrorOf("[a]\nx = \"5\"\n", [](TableReader& r) { r.Section("a").Int("x", 1, 0, 10, ""); }) ==
        at + "expected an integer, got a string");
  CHECK(ErrorOf("[a]\nx = 1.5\n", [](TableReader& r) { r.Section("a").Int("x", 1, 0, 10, ""); }) ==
        at + "expected an integer, got a number");
  CHECK(ErrorOf("[a]\nx = 1\n", [](TableReader& r) { r.Section("a").Bool("x", true, ""); }) ==
        at + "expected true or false, got an integer");
  CHECK(ErrorOf("[a]\nx = true\n", [](TableReader& r) { r.Section("a").Size("x", "1GiB", 0, UINT64_MAX, ""); }) ==
        at + "expected a size such as \"512MiB\", got a boolean");
  CHECK(ErrorOf("[a]\nx = 30\n", [](TableReader& r) { r.Section("a").Duration("x", "1s", ""); }) ==
        at + "expected a duration such as \"30s\", got an integer");
  CHECK(ErrorOf("[a]\nx = 2\n", [](TableReader& r) { r.Section("a").Strings("x", {}, ""); }) ==
        at + "expected an array of strings, got an integer");
  CHECK(ErrorOf("[a]\nx = [\"a\", 2]\n", [](TableReader& r) { r.Section("a").Strings("x", {}, ""); }) ==
        at + "expected an array of strings, but element 1 is an integer");
  CHECK(ErrorOf("[a]\nx = 2\n", [](TableReader& r) { r.Section("a").Table("x"); }) ==
        at + "expected a table, got an integer");
  CHECK(ErrorOf("[a]\nx = \"t\"\n", [](TableReader& r) { r.Section("a").Section("x"); }) ==
        at + "expected a table, got a string");
}

TEST_CASE("config: bad values say what was expected", "[unit]") {
  const std::string at = "/etc/sluice/agent.toml:2:5: key 'a.x': ";
  const auto size = [](TableReader& r) { r.Section("a").Size("x", "1GiB", 4096, 1ULL << 30, ""); };
  CHECK(ErrorOf("[a]\nx = \"5XB\"\n", size) ==
        at + "expected a size such as \"512MiB\", \"10MB\" or \"4096\", got \"5XB\" (unknown unit \"XB\"; use B, "
             "KiB, MiB, GiB, TiB, KB, MB, GB or TB)");
  CHECK(ErrorOf("[a]\nx = -5\n", size) == at + "expected a size such as \"512MiB\", got a negative number");
  CHECK(ErrorOf("[a]\nx = \"1KiB\"\n", size) == at + "expected a size from 4KiB to 1GiB, got 1KiB");
  CHECK(ErrorOf("[a]\nx = 2147483648\n", size) == at + "expected a size from 4KiB to 1GiB, got 2GiB");

  const auto duration = [](TableReader& r) { r.Section("a").Duration("x", "1s", "", 100ms); };
  CHECK(ErrorOf("[a]\nx = \"5 parsecs\"\n", duration) ==
        at + "expected a duration such as \"30s\", \"250ms\" or \"1h30m\", got \"5 parsecs\" (unknown unit "
             "\"parsecs\"; use ms, s, m, h or d)");
  CHECK(ErrorOf("[a]\nx = \"30\"\n", duration) ==
        at + "expected a duration such as \"30s\", \"250ms\" or \"1h30m\", got \"30\" (a unit is required: ms, s, "
             "m, h or d)");
  CHECK(ErrorOf("[a]\nx = \"5ms\"\n", duration) == at + "must be at least 100ms");

  CHECK(ErrorOf("[a]\nx = 11\n", [](TableReader& r) { r.Section("a").Int("x", 1, 0, 10, ""); }) ==
        at + "expected an integer from 0 to 10, got 11");
  CHECK(ErrorOf("[a]\nx = -1\n", [](TableReader& r) { r.Section("a").Int("x", 1, 0, 10, ""); }) ==
        at + "expected an integer from 0 to 10, got -1");
  CHECK(ErrorOf("[a]\nx = \"fast\"\n",
                [](TableReader& r) { r.Section("a").Enum("x", "block", {"block", "drop_oldest"}, ""); }) ==
        at + "expected one of \"block\", \"drop_oldest\", got \"fast\"");
  CHECK(ErrorOf("[a]\nx = \"\"\n", [](TableReader& r) { r.Section("a").RequiredString("x", ""); }) ==
        at + "must not be empty");
  CHECK(ErrorOf("[a]\nx = []\n", [](TableReader& r) { r.Section("a").RequiredStrings("x", ""); }) ==
        at + "must name at least one entry");
}

TEST_CASE("config: a missing required key names its table", "[unit]") {
  CHECK(ErrorOf("[sources.app]\ntype = \"tail\"\n",
                [](TableReader& r) { r.Section("sources").Section("app").RequiredString("path", "the file"); }) ==
        "/etc/sluice/agent.toml:1:1: key 'sources.app': missing required key 'path' (the file)");
  CHECK(ErrorOf("\n\n[sources.app]\ntype = \"tail\"\n",
                [](TableReader& r) { r.Section("sources").Section("app").RequiredStrings("paths", "globs"); }) ==
        "/etc/sluice/agent.toml:3:1: key 'sources.app': missing required key 'paths' (globs)");
  // A table that is not in the file at all has no position to point at.
  CHECK(ErrorOf("", [](TableReader& r) { r.Section("sinks").Section("lake").RequiredString("path", "dir"); }) ==
        "/etc/sluice/agent.toml: key 'sinks.lake': missing required key 'path' (dir)");
}

TEST_CASE("config: values given and defaults are returned", "[unit]") {
  ConfigDocument doc = ConfigDocument::Parse(R"(
[agent]
name = "edge"
size = "2GiB"
size_int = 4096
wait = "1h30m"
flag = true
mode = "drop_oldest"
paths = "/one"
list = ["/a", "/b"]
multiline.start = "^x"
)",
                                             kFile);
  TableReader a = TableReader(doc, nullptr).Section("agent");
  CHECK(a.Has("name"));
  CHECK_FALSE(a.Has("absent"));
  CHECK(a.Keys().size() == 9);
  CHECK(a.String("name", "d", "") == "edge");
  CHECK(a.String("absent", "dflt", "") == "dflt");
  CHECK(a.OptionalString("absent2", "") == std::nullopt);
  CHECK(a.Size("size", "1GiB", 0, UINT64_MAX, "") == 2ULL << 30);
  CHECK(a.Size("size_int", "1GiB", 0, UINT64_MAX, "") == 4096);
  CHECK(a.Size("size_default", "1GiB", 0, UINT64_MAX, "") == 1ULL << 30);
  CHECK(a.Duration("wait", "1s", "") == 90min);
  CHECK(a.Duration("wait_default", "250ms", "") == 250ms);
  CHECK(a.Bool("flag", false, ""));
  CHECK(a.Enum("mode", "block", {"block", "drop_oldest"}, "") == "drop_oldest");
  CHECK(a.Strings("paths", {}, "") == std::vector<std::string>{"/one"});
  CHECK(a.Strings("list", {}, "") == std::vector<std::string>{"/a", "/b"});
  CHECK(a.Table("multiline").String("start", "", "") == "^x");
  CHECK(a.Table("nothing").String("start", "dflt", "") == "dflt");
  CHECK_NOTHROW(a.Finish());
}

TEST_CASE("config: EffectiveConfig prints given values and defaults with their docs", "[unit]") {
  ConfigDocument doc = ConfigDocument::Parse("[agent]\nbuffer_max = \"2GiB\"\n\n[sources.app]\ntype = \"tail\"\n", kFile);
  EffectiveConfig effective;
  TableReader root(doc, &effective);
  TableReader agent = root.Section("agent");
  agent.String("data_dir", "/var/lib/sluice", "where the buffer lives");
  agent.Size("buffer_max", "1GiB", 0, UINT64_MAX, "buffer cap");
  agent.Enum("overflow", "block", {"block", "drop_oldest"}, "when full");
  agent.Duration("shutdown_timeout", "30s", "");
  agent.Bool("verbose", false, "a flag");
  agent.Int("workers", 4, 1, 8, "count");
  agent.Strings("exclude", {"*.gz", "say \"hi\""}, "globs");
  agent.Table("multiline").String("start", "^\\d", "regex");
  agent.Finish();
  TableReader app = root.Section("sources").Section("app");
  app.String("type", "", "the source type");
  app.Finish();

  CHECK(effective.settings().size() == 9);
  CHECK(effective.ToToml() ==
        "[agent]\n"
        "data_dir = \"/var/lib/sluice\"      # where the buffer lives\n"
        "buffer_max = \"2GiB\"               # buffer cap\n"
        "overflow = \"block\"                # when full\n"
        "shutdown_timeout = \"30s\"\n"
        "verbose = false                   # a flag\n"
        "workers = 4                       # count\n"
        "exclude = [\"*.gz\", \"say \\\"hi\\\"\"]  # globs\n"
        "multiline.start = \"^\\\\d\"          # regex\n"
        "\n"
        "[sources.app]\n"
        "type = \"tail\"  # the source type\n");
  // The printed configuration is itself valid TOML with the same values.
  ConfigDocument again = ConfigDocument::Parse(effective.ToToml(), "effective");
  TableReader r(again, nullptr);
  TableReader a2 = r.Section("agent");
  CHECK(a2.Size("buffer_max", "1GiB", 0, UINT64_MAX, "") == 2ULL << 30);
  CHECK(a2.Strings("exclude", {}, "") == std::vector<std::string>{"*.gz", "say \"hi\""});
  CHECK(a2.Table("multiline").String("start", "", "") == "^\\d");
}

TEST_CASE("config: TomlQuote escapes what TOML requires", "[unit]") {
  CHECK(TomlQuote("plain") == "\"plain\"");
  CHECK(TomlQuote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(TomlQuote("t\tn\nr\r") == "\"t\\tn\\nr\\r\"");
  CHECK(TomlQuote(std::string("\x01\x7f", 2)) == "\"\\u0001\\u007f\"");
}

}  // namespace sluice
