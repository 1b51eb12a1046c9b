// Where a drop's folders are on the source server. The inbox, the folder
// processed files move to and the partner's failed/ folder must be reachable
// through one endpoint (a move is a rename on the server), so the endpoint is
// opened at their deepest common ancestor and each folder is a path relative
// to it. Paths are resolved lexically ("../processed" beside the inbox).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::transfer::drop {

struct SourceLayout {
  std::string root_url;   // the endpoint to open: the common ancestor
  std::string inbox;      // relative to root_url ("" when the inbox is the root)
  std::string move_to;    // relative to root_url; "" when not configured
  std::string failed_to;  // relative to root_url; "" when not configured
};

// `source` is the inbox URL (a local path or sftp://); `move_to` and
// `failed_to` are relative to the inbox or absolute on the same server ("" =
// none). kInvalidArgument when a folder escapes what the URL can address (above
// "/" or above the login directory) or is the inbox itself.
Result<SourceLayout> ResolveSourceLayout(std::string_view source, std::string_view move_to, std::string_view failed_to);

// "/a/b/../c" -> "/a/c"; "a/./b" -> "a/b"; kInvalidArgument when ".." climbs
// above the start of a relative path or above "/".
Result<std::string> NormalizePath(std::string_view path);

}  // namespace sluice::transfer::drop
