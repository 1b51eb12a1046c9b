// The dead-letter directory of a sink: records a destination can never take
// are kept here, never dropped, as the stored JSON lines they were:
//   <dir>/<source>/<name>.jsonl
// Each file appears whole (written under a temporary name, fsynced,
// renamed). The caller picks `name` so that the same records always get the
// same name (a redelivery after a crash overwrites, it does not pile up).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

// Writes `lines` (each ending in '\n') to <dir>/<source>/<name>.jsonl; returns its path.
Result<std::filesystem::path> WriteDeadLetterFile(const std::filesystem::path& dir, const std::string& source,
                                                  const std::string& name, std::string_view lines);

}  // namespace sluice
