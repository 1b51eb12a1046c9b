// An nfs:// URL as the command line takes it:
//   nfs://host[:port]/export/path[?version=4|3&nfsport=N&mountport=N&uid=N&gid=N]
// The whole path is mounted (NFSv4 looks it up from the server's pseudo
// root; NFSv3 asks the MOUNT service for it). `version` defaults to 4; a port
// in the authority is the NFS port (as nfsport=). Percent escapes are decoded
// in the path. Unknown parameters are refused, naming them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::nfs {

struct NfsUrl {
  std::string host;
  std::string path = "/";  // decoded, absolute, no trailing '/' (but "/" itself)
  int version = 4;
  uint16_t nfs_port = 0;             // 0: the standard port (2049 for v4, the portmapper for v3)
  uint16_t mount_port = 0;           // NFSv3 only; 0: the portmapper
  std::optional<uint32_t> uid, gid;  // AUTH_SYS identity; default: this process's
  std::string ToString() const;
};

Result<NfsUrl> ParseNfsUrl(std::string_view url);

}  // namespace sluice::nfs
