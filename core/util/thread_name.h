// Names the calling thread (as seen in top -H, ps -L, gdb and perf), so an
// operator can tell a busy source from a busy sink. Linux keeps 15 bytes.
#pragma once

#include <string_view>

namespace sluice {

void SetThreadName(std::string_view name);

}  // namespace sluice
