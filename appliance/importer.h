// `sluice appliance import DEVICE DST`: restores the exported tree under a
// local directory, verifying as it goes (device_reader.h). Before anything is
// written it refuses a device whose manifest is unsigned or badly signed,
// lists an entry that would escape DST (".." or absolute paths are refused by
// the manifest parser, symlinks pointing out of the tree here), or holds files
// the manifest does not list, or whose custody log is broken. A file appears
// under its final name only once its bytes matched the manifest; its mode and
// mtime are set before the rename. Directories get their modes and mtimes
// last, deepest first. Resumable: a file already in DST with the manifest's
// size, mtime and mode is kept (its bytes on the device are still checked).
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "appliance/device_reader.h"
#include "core/status.h"
#include "transfer/open_endpoint.h"

namespace sluice::appliance {

struct ImportOptions {
  std::filesystem::path device;
  std::vector<std::filesystem::path> more_devices;  // the other volumes of a multi-volume export, any order
  std::filesystem::path dest;                       // a directory, or "s3://bucket/prefix" (store_import.h)
  std::string public_key_file;
  std::string encrypt_key_file;
  bool insecure_unsigned = false;
  std::function<void(const nlohmann::json&)> progress;
  // s3:// only: how to reach the store, uploads in parallel, and whether
  // symlinks (which S3 cannot hold) are left out instead of refused.
  transfer::EndpointOptions endpoint;
  size_t transfers = 4;
  bool skip_symlinks = false;
};

struct ImportReport {
  uint64_t files_written = 0, files_kept = 0, dirs = 0, symlinks = 0, bytes = 0;
  uint64_t symlinks_skipped = 0;
  std::vector<Problem> problems;
  // What the destination could not keep and how objects were confirmed
  // (an object store: no modes, mtimes or symlinks); not problems.
  std::vector<std::string> notes;
  bool ok() const { return problems.empty(); }
};

// A Status when the import was refused before writing anything; problems
// found while importing are in the report.
Result<ImportReport> RunImport(const ImportOptions& options);

}  // namespace sluice::appliance
