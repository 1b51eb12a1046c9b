// The lake sink: writes batches into a local raw zone with the DESIGN.md layout
//   <path>/raw/<source>/dt=YYYY-MM-DD/hr=HH/<batch-id>.jsonl.zst
// Each file is the concatenation of the stored zstd frames (one valid zstd
// stream of JSON Lines) of consecutive batches of one source and hour, named
// after the first batch's id. Files are written under a temporary name,
// fsynced, renamed, and their directory fsynced, so readers never see a
// partial file and a redelivered group overwrites the same name. A replay
// (SinkContext::replay) starts a new file wherever a batch already starts
// one, so replaying a partition that still has files rewrites those files
// with the same batches instead of writing them again under another name.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "agent/sinks/sink.h"
#include "core/config/reader.h"
#include "core/log/log.h"

namespace sluice {

struct LakeConfig {
  std::filesystem::path path;
  bool fsync = true;
};

LakeConfig ParseLakeConfig(TableReader& r);
std::unique_ptr<Sink> MakeLakeSink(std::string name, LakeConfig config, BatchPolicy policy, Logger log,
                                   bool replay = false);

// "raw/<source>/dt=YYYY-MM-DD/hr=HH" for a record time in epoch ms (UTC).
std::string LakePartition(std::string_view source, int64_t ts_ms);

// Splits `batches` into the groups that become one lake file or object each:
// consecutive batches of one source whose first records fall in the same
// hour, and (with `starts_file`, for a replay) a new group wherever a batch
// already starts a file of that partition. Calls `each(partition, group)` in
// order and stops at the first error.
using StartsFile = std::function<bool(const std::string& partition, const BatchInfo& batch)>;
Status ForEachLakeGroup(std::span<const BatchInfo> batches,
                        const std::function<Status(const std::string&, std::span<const BatchInfo>)>& each,
                        const StartsFile& starts_file = nullptr);

}  // namespace sluice
