// librdkafka configuration properties: checked one by one against
// librdkafka itself, so an unknown name or a bad value is refused when the
// configuration is read (naming the property), not when the first batch ships.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sluice::kafka {

using Properties = std::vector<std::pair<std::string, std::string>>;

// Sets every property on a scratch producer configuration, in order. The
// error names the first property librdkafka refused and why.
Status CheckProperties(const Properties& properties);

// The librdkafka version in use, e.g. "2.0.2".
std::string LibrdkafkaVersion();

}  // namespace sluice::kafka
