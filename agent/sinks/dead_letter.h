// The dead-letter directory of a sink: records that can never be delivered
// (too big for the destination, a topic that cannot be rendered, ...) are
// kept here instead of being dropped or blocking the sink forever. Layout:
//   <root>/<source>/<batch id>.jsonl   the batch's undeliverable records, as
//                                      stored (JSON Lines), written whole
//                                      under a temporary name and renamed
// A redelivery of the same batch (after a restart) rewrites the same file
// with the same lines, so a record is never dead-lettered twice.
#pragma once

#include <filesystem>
#include <string_view>

#include "agent/buffer/buffer.h"
#include "core/status.h"

namespace sluice {

// Writes `lines` (JSON lines, each ending in '\n') for batch `b` durably;
// returns the file's path.
Result<std::filesystem::path> WriteDeadLetters(const std::filesystem::path& root, const BatchInfo& b,
                                               std::string_view lines);

}  // namespace sluice
