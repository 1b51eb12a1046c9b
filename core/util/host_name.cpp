#include "core/util/host_name.h"

#include <unistd.h>

#include <array>

namespace sluice {

std::string MachineHostName() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return "unknown";
  return buf.data();
}

}  // namespace sluice
