#include "tests/support/sink_config_errors.h"

#include <catch2/catch.hpp>

#include "agent/agent_config.h"

namespace sluice::test {

std::string SinkConfigError(const std::string& sink_keys) {
  const std::string toml =
      "[agent]\ndata_dir = \"/tmp/state\"\n[sources.app]\ntype = \"tail\"\npaths = [\"/l/*.log\"]\n"
      "[sinks.out]\ninputs = [\"app\"]\n" +
      sink_keys;
  try {
    ParseAgentConfig(ConfigDocument::Parse(toml, "agent.toml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

void CheckSinkConfigErrors(const std::vector<SinkConfigErrorCase>& cases, const std::string& prefix) {
  for (const SinkConfigErrorCase& c : cases) {
    INFO(prefix + c.keys);
    const std::string err = SinkConfigError(prefix + c.keys);
    INFO(err);
    CHECK(err.find("agent.toml:") != std::string::npos);
    CHECK(err.find(c.key) != std::string::npos);
    CHECK(err.find(c.says) != std::string::npos);
  }
}

}  // namespace sluice::test
