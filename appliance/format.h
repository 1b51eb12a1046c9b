// The device layout's fixed names and numbers (FORMAT.md is the prose for
// them). Changing any of these changes the format: bump kFormatVersion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::appliance {

// Version 2 adds volumes (--volume-size): object lines name their volume and
// a large file may be split into chunk objects. A single-volume export is
// still written as version 1, so readers that know only 1 read it.
inline constexpr int kFormatVersion = 2;
inline constexpr int kSingleVolumeFormat = 1;

inline constexpr std::string_view kManifestName = "manifest.jsonl";
// The manifest of an encrypted device, sealed like an object (zstd + secretstream).
inline constexpr std::string_view kSealedManifestName = "manifest.jsonl.sealed";
inline constexpr std::string_view kSignatureName = "manifest.sig";
inline constexpr std::string_view kCustodyName = "custody.jsonl";
inline constexpr std::string_view kVerifyReportName = "verify-report.json";
// On each volume of a multi-volume export: {"volume": k, "volumes": n}.
inline constexpr std::string_view kVolumeName = "volume.json";
inline constexpr std::string_view kJournalDir = ".sluice-export";
inline constexpr std::string_view kJournalName = ".sluice-export/journal.jsonl";
inline constexpr std::string_view kBundleDir = "bundles";
inline constexpr std::string_view kFileDir = "files";

// Plaintext bytes per secretstream message; the last message of an object
// carries TAG_FINAL, so a truncated object is detected.
inline constexpr size_t kSealChunk = 64 * 1024;

// Snowball's auto-extract limit for one batch.
inline constexpr size_t kMaxFilesPerBundle = 10'000;

}  // namespace sluice::appliance
