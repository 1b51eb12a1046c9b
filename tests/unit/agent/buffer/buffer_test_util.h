// Helpers for buffer and sink tests: build batches from lines, decode stored batches.
#pragma once

#include <string>
#include <vector>

#include "agent/buffer/batch_builder.h"

namespace sluice::test {

// A batch whose records are the given lines, verbatim (each gets a '\n').
EncodedBatch MakeBatch(const std::vector<std::string>& lines, int64_t ts_ms = 1'700'000'000'000);
// The lines of one or more concatenated zstd frames.
std::vector<std::string> DecodeLines(const std::string& zstd);

}  // namespace sluice::test
