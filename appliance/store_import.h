// `sluice appliance import DEVICE s3://bucket/prefix`: the files of a checked
// device stored as objects through the transfer module's Endpoint (the same
// S3 endpoint, options and credentials as `sluice transfer`).
//
// The device is read once, in manifest order, on the calling thread
// (device_reader.h checks every byte against the manifest's SHA-256 and
// CRC-64/NVME); each file is handed to one of `transfers` upload workers as it
// is read, and its upload is completed (the object appears) only once the
// device bytes matched the manifest; otherwise it is aborted. A completed
// object is then confirmed on the store: its CRC-64/NVME as the store computed
// it (Endpoint::ServerHash) against the manifest's, or, where the store keeps
// none, its size.
//
// Resumable: before reading, every file already under its key with the
// manifest's size is checked (the store's CRC-64/NVME, else the object is read
// back and its CRC computed) and, when it matches, skipped.
//
// What an object store cannot hold is said, not guessed at: symlinks are
// refused unless `skip_symlinks`; names that are not UTF-8 are refused (keys
// are UTF-8); modes and mtimes are not settable (a note in the report, not a
// problem). Empty directories get S3's zero-byte "dir/" marker.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "appliance/device_reader.h"
#include "appliance/importer.h"
#include "core/status.h"
#include "transfer/endpoint.h"

namespace sluice::appliance {

// Refusals that depend only on the manifest (before anything is read or
// written): symlinks without `skip_symlinks`, names that are not UTF-8.
Status CheckStorable(const Manifest& m, bool skip_symlinks);

// Imports every entry of `m` (already checked: signature, custody, device
// files) from `devices` into `store`. Problems go into `report`.
void ImportToStore(const DeviceSet& devices, const Manifest& m, const std::string& encrypt_key,
                   transfer::Endpoint& store, const ImportOptions& options, ImportReport& report);

}  // namespace sluice::appliance
