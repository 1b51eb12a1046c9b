// Checking a sink's configuration errors: the agent configuration around one
// sink's keys, parsed the way `sluice agent check` does, and the error it
// gives (which must name agent.toml, the line, the key and the problem).
#pragma once

#include <string>
#include <vector>

namespace sluice::test {

// The ConfigError message for an agent configuration whose [sinks.out] (fed
// by a tail source "app") has `sink_keys`; "" when it parses.
std::string SinkConfigError(const std::string& sink_keys);

struct SinkConfigErrorCase {
  std::string keys;  // the sink's keys
  std::string key;   // the full key the error must name ("sinks.out.topic")
  std::string says;  // text the error must contain ("" = anything)
};

// CHECKs every case: the error names agent.toml, `key` and `says`. `prefix`
// goes before each case's keys (e.g. "type = \"kafka\"\n").
void CheckSinkConfigErrors(const std::vector<SinkConfigErrorCase>& cases, const std::string& prefix = "");

}  // namespace sluice::test
