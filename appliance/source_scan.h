// Walking the export source: every entry below the root, not following
// symlinks, children sorted by their name's bytes, a directory before what it
// holds. That order is the manifest's and the bundles' order, so a rerun of an
// export over an unchanged tree plans exactly the same objects.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "appliance/manifest.h"
#include "core/status.h"

namespace sluice::appliance {

struct ScanResult {
  std::vector<Entry> entries;        // size, mtime, mode, target filled; hashes not
  std::vector<std::string> skipped;  // sockets, FIFOs, devices: "path: why"
};

Result<ScanResult> ScanSource(const std::filesystem::path& root);

}  // namespace sluice::appliance
