// The manifest (FORMAT.md, "manifest.jsonl"): what the device holds, line by
// line. One header line, one line per stored object (bundle or file), one line
// per source entry (file, directory, symlink) in source order, and a trailer
// with the line count and the SHA-256 of every line before it. Paths are the
// source's exact bytes: a JSON string when valid UTF-8 (with its NFC form),
// else base64. Invariant kept by Encode/Parse: Parse(Encode(m)) == m, and
// Parse refuses anything it would not write (unknown kinds, missing keys,
// duplicate or unsafe paths), naming the line.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::appliance {

enum class EntryType { kFile, kDir, kSymlink };

struct Entry {
  std::string path;  // exact bytes, relative, '/'-separated
  EntryType type = EntryType::kFile;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;      // permission bits (07777)
  std::string sha256;     // files: hex
  std::string crc64nvme;  // files: 16 hex digits
  std::string target;     // symlinks: exact bytes
  std::string object;     // files: the object holding the data
  int64_t member = -1;    // files in a bundle: their ordinal in it; -1: the object is the file
  bool operator==(const Entry&) const = default;
};

struct ObjectInfo {
  std::string name;  // relative to its volume's directory, e.g. "bundles/000001.tar.zst"
  bool bundle = true;
  uint64_t size = 0;     // stored bytes
  std::string sha256;    // of the stored bytes
  uint64_t members = 0;  // bundles: number of tar members; files and a file's first chunk: 1; later chunks: 0
  // Multi-volume exports (format 2): the volume holding the object (1..volumes);
  // 0 in a single-volume export (format 1).
  uint32_t volume = 0;
  // A large file split across volumes is stored as `parts` chunk objects,
  // consecutive in the manifest, part 1..parts; its entry names part 1.
  // part 0: not a chunk.
  uint32_t part = 0, parts = 0;
  bool operator==(const ObjectInfo&) const = default;
};

struct ManifestHeader {
  int format = 0;
  std::string tool;
  std::string source;  // the source directory as given
  std::string host;
  int64_t created_ms = 0;
  bool encrypted = false;
  std::string compress;       // "zstd" or "none"
  std::string signer;         // base64 Ed25519 public key, or "" when unsigned
  std::string custody_first;  // SHA-256 of the custody log's first event
  uint64_t files = 0, dirs = 0, symlinks = 0, bytes = 0, objects = 0;
  uint32_t volumes = 0;  // format 2: how many volumes; 0 in format 1 (one device)
  bool operator==(const ManifestHeader&) const = default;
};

struct Manifest {
  ManifestHeader header;
  std::vector<ObjectInfo> objects;
  std::vector<Entry> entries;
};

std::string EncodeManifest(const Manifest& m);
// An object line's JSON (also the export journal's form), and back.
nlohmann::json ObjectJson(const ObjectInfo& o);
ObjectInfo ObjectFromJson(const nlohmann::json& j);  // throws on a missing key
// `where` names the file in messages ("manifest.jsonl").
Result<Manifest> ParseManifest(std::string_view text, const std::string& where);

// One entry as a JSON object (also the export journal's form).
std::string EncodeEntry(const Entry& e);
Result<Entry> ParseEntry(std::string_view line, const std::string& where);

// "" when `path` is safe to create under a destination directory, else why
// not: empty, absolute, an empty, "." or ".." component, a NUL byte.
std::string PathProblem(std::string_view path);
// "" when the symlink at `path` pointing to `target` stays inside the tree
// (relative, and never climbing above the root), else why not.
std::string SymlinkProblem(std::string_view path, std::string_view target);
// The NFC form of a UTF-8 string (libunistring).
std::string Nfc(std::string_view utf8);
// How a path is shown in messages: itself when UTF-8, else its base64 in brackets.
std::string ShowPath(std::string_view path);

}  // namespace sluice::appliance
