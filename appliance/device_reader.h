// Reading a finished device back: the signed manifest (OpenManifest), the
// device's files against it (CheckDeviceFiles), the custody log against it
// (CheckCustody), and every object's bytes (ReadObjects: stored size and
// SHA-256, decryption, decompression, the tar structure, each file's size,
// SHA-256 and CRC-64/NVME). Verify and import share all of it; import adds an
// EntrySink that writes what is read.
// Problems are collected, not fatal: verify reports every one of them.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/manifest.h"
#include "core/status.h"

namespace sluice::appliance {

struct Problem {
  std::string where;  // a device file, "manifest.jsonl line 7", or an entry's path
  std::string what;
};

struct TrustedManifest {
  Manifest manifest;
  std::string text;       // the manifest's lines (decrypted when sealed)
  std::string sha256;     // of the manifest file's bytes as stored (what the signature covers)
  std::string signature;  // "valid", or "unsigned (accepted: --insecure-unsigned)"
};

// Reads manifest.jsonl (or manifest.jsonl.sealed, decrypted with
// `encrypt_key`), checks manifest.sig over the stored bytes against
// `public_key` (32 bytes), and parses it. An unsigned manifest is accepted
// only with `insecure_unsigned`; then a signature present is not checked
// either (there is no key to check it with).
Result<TrustedManifest> OpenManifest(const std::filesystem::path& device, const std::string& public_key,
                                     const std::string& encrypt_key, bool insecure_unsigned);

// The directories of one export by volume: volumes[k-1] holds volume k (a
// single-volume export has one).
struct DeviceSet {
  std::vector<std::filesystem::path> volumes;
  const std::filesystem::path& first() const { return volumes.front(); }
  const std::filesystem::path& Of(const ObjectInfo& o) const { return volumes[o.volume == 0 ? 0 : o.volume - 1]; }
};

// OpenManifest on the first of `given`, then, for a multi-volume export,
// each directory's volume.json places it: every volume must be there once
// (a missing one is kNotFound naming it), each holding the same manifest
// bytes (another export's volume is kCorrupt naming it). A single-volume
// export must be given alone.
Result<std::pair<TrustedManifest, DeviceSet>> OpenDevices(const std::vector<std::filesystem::path>& given,
                                                          const std::string& public_key, const std::string& encrypt_key,
                                                          bool insecure_unsigned);

// Device files the manifest does not list, and listed objects that are missing.
void CheckDeviceFiles(const DeviceSet& devices, const Manifest& m, std::vector<Problem>& problems);

// The custody log's chain, its first event against the manifest, and an
// export_finished event naming this manifest.
void CheckCustody(const std::filesystem::path& device, const TrustedManifest& m, std::vector<Problem>& problems);

// Receives each file's plaintext as its object is read (import writes it).
class EntrySink {
 public:
  virtual ~EntrySink() = default;
  virtual Status Begin(const Entry& e) = 0;
  virtual Status Data(std::string_view bytes) = 0;
  // good: the bytes matched the manifest's size, SHA-256 and CRC.
  virtual Status End(const Entry& e, bool good) = 0;
};

struct ReadTotals {
  uint64_t objects = 0, files = 0, bytes = 0;
};

// Reads every object; `sink` may be null. `progress` gets {"event":"object"} objects.
ReadTotals ReadObjects(const DeviceSet& devices, const Manifest& m, const std::string& encrypt_key, EntrySink* sink,
                       std::vector<Problem>& problems, const std::function<void(const nlohmann::json&)>& progress);

}  // namespace sluice::appliance
