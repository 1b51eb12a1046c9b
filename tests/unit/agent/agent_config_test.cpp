#include "agent/agent_config.h"

#include <catch2/catch.hpp>

using namespace sluice;

namespace {

std::string ErrorOf(std::string_view toml) {
  try {
    ParseAgentConfig(ConfigDocument::Parse(toml, "agent.toml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

constexpr std::string_view kComponents = R"(
[sources.app]
type = "tail"
paths = ["/var/log/app/*.log"]
[sinks.lake]
type = "lake"
inputs = ["app"]
path = "/data/lake"
)";

constexpr std::string_view kValid = R"(
[agent]
data_dir = "/tmp/state"
[sources.app]
type = "tail"
paths = ["/var/log/app/*.log"]
[sinks.lake]
type = "lake"
inputs = ["app"]
path = "/data/lake"
)";

}  // namespace

TEST_CASE("agent config: a valid file yields its components and prints every default", "[unit]") {
  AgentConfig c = ParseAgentConfig(ConfigDocument::Parse(kValid, "agent.toml"));
  REQUIRE(c.sources.size() == 1);
  REQUIRE(c.sinks.size() == 1);
  CHECK(c.sinks[0].inputs == std::vector<std::string>{"app"});
  CHECK(c.buffer.durability == Durability::kFull);
  CHECK(c.buffer.max_bytes == (1ULL << 30));
  const std::string toml = c.effective.ToToml();
  CHECK(toml.find("[agent]") != std::string::npos);
  CHECK(toml.find("durability = \"full\"") != std::string::npos);
  CHECK(toml.find("overflow = \"block\"") != std::string::npos);
  CHECK(toml.find("[sinks.lake]") != std::string::npos);
  CHECK(toml.find("batch.max_bytes = \"32MiB\"") != std::string::npos);
  // The printed configuration is itself valid TOML that loads to the same thing.
  AgentConfig again = ParseAgentConfig(ConfigDocument::Parse(toml, "effective.toml"));
  CHECK(again.effective.ToToml() == toml);
}

TEST_CASE("agent config: graph errors name the key and the location", "[unit]") {
  CHECK(ErrorOf(R"(
[sources.app]
type = "tail"
paths = ["/x"]
[sinks.lake]
type = "lake"
inputs = ["nope"]
path = "/l"
)") == "agent.toml:7:10: key 'sinks.lake.inputs': no source or transform named \"nope\"");

  CHECK(ErrorOf(R"(
[sources.app]
type = "tail"
paths = ["/x"]
[sources.other]
type = "tail"
paths = ["/y"]
[sinks.lake]
type = "lake"
inputs = ["app"]
path = "/l"
)").find("source \"other\" is not in the inputs of any sink") != std::string::npos);

  CHECK(ErrorOf(R"(
[sources.app]
type = "syslog"
)") == "agent.toml:3:8: key 'sources.app.type': unknown source type \"syslog\"; expected one of \"tail\", \"mqtt\"");

  CHECK(ErrorOf("[agent]\ndata_dir = \"/x\"\n").find("no [sources.NAME] table") != std::string::npos);

  CHECK(ErrorOf(R"(
[sources."bad name"]
type = "tail"
paths = ["/x"]
)").find("a source name may use only letters") != std::string::npos);
}

TEST_CASE("agent config: [agent] values are validated", "[unit]") {
  const auto with_agent = [](std::string_view agent_lines) {
    return ErrorOf(std::string("[agent]\n") + std::string(agent_lines) + "\n" + std::string(kComponents));
  };
  CHECK(with_agent("buffer_max = \"lots\"").find("agent.toml:2:14: key 'agent.buffer_max': expected a size") == 0);
  CHECK(with_agent("overflow = \"spill\"") ==
        "agent.toml:2:12: key 'agent.overflow': expected one of \"block\", \"drop_oldest\", got \"spill\"");
  CHECK(with_agent("durability = 1") == "agent.toml:2:14: key 'agent.durability': expected a string, got an integer");
  CHECK(with_agent("shutdown_timeout = \"30\"").find("a unit is required") != std::string::npos);
  CHECK(with_agent("colour = \"blue\"") == "agent.toml:2:1: unknown key 'agent.colour'");
}

TEST_CASE("agent config: unknown keys inside a sink's sub-tables are rejected", "[unit]") {
  CHECK(ErrorOf(R"(
[sources.app]
type = "tail"
paths = ["/x"]
[sinks.lake]
type = "lake"
inputs = ["app"]
path = "/l"
batch.max_size = "1MiB"
)") == "agent.toml:9:7: unknown key 'sinks.lake.batch.max_size'");
}
