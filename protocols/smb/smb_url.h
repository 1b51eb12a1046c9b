// An smb:// URL as the command line takes it:
//   smb://[[DOMAIN;]user@]host[:port]/share[/path]
// The share is required; the path below it may be empty (the share's root).
// Percent escapes are decoded in the user, the share and the path. A
// password in the URL is refused (it would show in shell history and process
// listings): it comes from --smb-password-file or SLUICE_SMB_PASSWORD.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::smb {

struct SmbUrl {
  std::string domain;  // the domain or workgroup; empty: the client's default
  std::string user;    // empty: guest
  std::string host;    // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 445;
  std::string share;
  std::string path;  // decoded, below the share, no leading or trailing '/'
  // The URL without secrets, for messages and reports.
  std::string ToString() const;
  // What libsmbclient opens for `relative` below path (no credentials: those
  // come from the authentication callback): every byte of the share and the
  // path that is not unreserved is percent-encoded, as libsmbclient decodes
  // them.
  std::string LibraryUrl(std::string_view relative) const;
};

Result<SmbUrl> ParseSmbUrl(std::string_view url);

}  // namespace sluice::smb
