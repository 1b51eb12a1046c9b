// The custody log (FORMAT.md, "custody.jsonl"): append-only JSON Lines on the
// device, one event per line (export started/finished, verified, imported)
// with seq, time, host, user and counts. Each event carries "prev", the
// SHA-256 of the previous line's bytes (64 zeros for the first), so removing,
// editing or reordering a line breaks the chain at a named line. The signed
// manifest records the hash of the first event, so replacing the whole log is
// detected too; dropping events from the end is not detectable by the chain
// alone (FORMAT.md says so).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace sluice::appliance {

struct CustodyEvent {
  size_t line = 0;
  std::string hash;  // SHA-256 of the line's bytes (without the newline)
  nlohmann::json event;
};

// Reads and checks the chain; kCorrupt names the first broken line.
Result<std::vector<CustodyEvent>> ReadCustodyLog(const std::filesystem::path& device);

// Appends `event` (its "event" name and counts; seq, time, host, user and
// prev are added) and fsyncs. The existing log must check out. Returns the
// new line's hash.
Result<std::string> AppendCustodyEvent(const std::filesystem::path& device, nlohmann::json event);

}  // namespace sluice::appliance
