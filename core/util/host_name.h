// This machine's host name (gethostname), for client ids and the default
// `host` of records; "unknown" when the system has none.
#pragma once

#include <string>

namespace sluice {

std::string MachineHostName();

}  // namespace sluice
