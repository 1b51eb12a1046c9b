// Sidecar checksum files partners upload beside a data file ("a.csv.sha256",
// "a.csv.md5"), in the forms the usual tools write: sha256sum/md5sum
// ("<hex>  a.csv", "<hex> *a.csv"), BSD ("SHA256 (a.csv) = <hex>"), or the
// bare digest. Digests compare case-insensitively.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "transfer/hash.h"

namespace sluice::transfer::drop {

enum class SidecarKind { kSha256, kMd5 };

// By the sidecar's suffix (.sha256 / .md5).
SidecarKind SidecarKindOf(std::string_view sidecar_path);
std::string_view SidecarKindName(SidecarKind kind);

// The lower-case hex digest in `content`; kInvalidArgument saying what was
// found otherwise. With several lines, the one naming `data_name` wins.
Result<std::string> ParseSidecarDigest(std::string_view content, SidecarKind kind, std::string_view data_name);

// MD5 is not offered for transfers (transfer/hash.h); partners still send it.
std::unique_ptr<Hasher> MakeMd5Hasher();

}  // namespace sluice::transfer::drop
