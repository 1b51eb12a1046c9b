// The configuration of `sluice transfer drop`: one [drop] table with what the
// ingester shares (its data directory, log, metrics) and one [drops.NAME]
// table per inbox. Loaded and validated up front: every problem is a
// ConfigError naming file:line:column and the key (exit status 2), so a
// running ingester never meets a setting it cannot use.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config/reader.h"
#include "core/util/glob.h"
#include "transfer/s3/s3_endpoint.h"
#include "transfer/sftp/sftp_endpoint.h"

namespace sluice::transfer::drop {

enum class AfterAction { kMove, kDelete, kKeep };
// What counts as "already ingested" when a file turns up again.
enum class Dedupe {
  kSameName,  // same path in the inbox and same content (SHA-256)
  kAnyName,   // same content under any name in this drop
  kOff,       // every new (path, size, mtime) is landed
};
enum class VerifyLanded { kReadback, kSize };

struct DropSpec {
  std::string name;
  std::string source;  // URL of the inbox directory
  SftpOptions sftp;
  S3Options s3;  // an s3:// destination's endpoint, region, addressing and profile
  std::vector<Glob> include;  // empty: every file
  std::vector<Glob> exclude;
  std::vector<Glob> ignore;  // names still being uploaded: never taken
  bool recursive = false;
  std::chrono::milliseconds poll{30000};
  std::chrono::milliseconds stable_for{60000};
  std::string done_marker;            // "{name}.done": complete once the marker exists ("" = by stability)
  std::vector<std::string> sidecars;  // "{name}.sha256", "{name}.md5": verified when present
  bool require_sidecar = false;
  std::string destination;  // URL of the lake root
  std::string land_as;      // template: {drop} {date} {name} {path} {stem} {ext} {version}
  bool decompress = false;  // .gz / .zst land decompressed, without the suffix
  VerifyLanded verify = VerifyLanded::kReadback;
  Dedupe dedupe = Dedupe::kSameName;
  AfterAction after = AfterAction::kMove;
  std::string move_to;    // relative to the inbox, or absolute on the source server
  std::string failed_to;  // where a quarantined file's source goes ("" = left in place)
  int transfers = 4;      // files landed at once
  int batch = 128;        // files per ledger step
  int max_attempts = 5;   // transient failures of one file before it is quarantined
};

struct DropServiceConfig {
  std::string path;  // the file it came from
  std::string data_dir;
  std::string landed_log;  // JSON line per landed/duplicate/quarantined file
  std::optional<std::string> metrics;
  std::string log_level = "info";
  std::string log_format = "text";
  std::vector<DropSpec> drops;
  EffectiveConfig effective;
};

// Throws ConfigError.
DropServiceConfig LoadDropConfig(const std::string& path);
DropServiceConfig ParseDropConfig(std::string_view text, const std::string& path_for_errors);

}  // namespace sluice::transfer::drop
