// Helpers for buffer and sink tests: build batches from lines, decode stored batches.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/buffer/batch_builder.h"
#include "agent/buffer/buffer.h"

namespace sluice::test {

// A batch whose records are the given lines, verbatim (each gets a '\n').
EncodedBatch MakeBatch(const std::vector<std::string>& lines, int64_t ts_ms = 1'700'000'000'000);
// n incompressible bytes (xorshift64), so stored sizes are predictable.
std::string RandomBytes(size_t n, uint64_t seed = 88172645463325252ULL);
// A logger that drops everything.
Logger QuietLogger();
// Opens (or creates) a buffer in `dir` with options `o`; fails the test on error.
std::unique_ptr<Buffer> OpenTestBuffer(const std::filesystem::path& dir, MetricsRegistry& m, BufferOptions o = {});
// The lines of one or more concatenated zstd frames.
std::vector<std::string> DecodeLines(const std::string& zstd);

}  // namespace sluice::test
