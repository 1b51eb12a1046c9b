// `sluice appliance export`: stages a source tree onto a device directory
// (FORMAT.md). Small files are read whole, hashed (SHA-256, CRC-64/NVME) and
// packed in source order into tar bundles, zstd-compressed and optionally
// sealed; large files are streamed into their own objects. Every source byte
// is read once. Each object is committed under its final name and then
// journalled (export_journal.h), so a rerun after kill -9 or a full device
// keeps every object whose files are unchanged and writes only the rest. The
// manifest, its signature and the custody event come last: a device without
// manifest.jsonl is an unfinished export.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace sluice::appliance {

struct ExportOptions {
  std::filesystem::path source;
  std::filesystem::path device;
  std::string sign_key_file;     // empty: the manifest is not signed
  std::string encrypt_key_file;  // empty: not encrypted
  uint64_t pack_under = 1 << 20;
  uint64_t bundle_size = uint64_t{4} << 30;
  size_t bundle_files = 10'000;
  bool compress = true;
  // Multi-volume (format 2): with volume_size > 0, objects are placed on
  // volumes of at most volume_size stored bytes each: `device` is volume 1,
  // `more_devices` volumes 2, 3, ...; a large file that does not fit in the
  // room left is split into chunks across volumes. 0: one device (format 1).
  uint64_t volume_size = 0;
  std::vector<std::filesystem::path> more_devices;
  std::string tool = "sluice";
  // Called from the exporting thread with {"event": ...} objects: "plan",
  // "object" (each object written or kept), "changed", "done".
  std::function<void(const nlohmann::json&)> progress;
  const std::atomic<bool>* cancel = nullptr;
};

struct ExportReport {
  uint64_t files = 0, dirs = 0, symlinks = 0, bytes = 0;
  uint64_t objects_written = 0, objects_kept = 0;  // kept: reused from an interrupted run
  uint64_t bytes_read = 0;
  std::vector<std::string> changed;  // "path: what changed" for files that changed while read
  std::vector<std::string> skipped;  // entries that are not exported
  std::string manifest_sha256;
  uint32_t volumes = 0;            // multi-volume: how many the export used
  std::vector<std::string> notes;  // e.g. device directories given and not needed
  bool ok() const { return changed.empty(); }
};

Result<ExportReport> RunExport(const ExportOptions& options);

}  // namespace sluice::appliance
