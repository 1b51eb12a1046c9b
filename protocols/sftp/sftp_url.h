// An sftp:// URL as the command line takes it: sftp://[user@]host[:port]/path.
// The path is absolute on the server (as curl reads sftp URLs); "/~/dir" is
// relative to the login directory. Percent escapes (%20) are decoded in the
// user and the path. A password in the URL is refused: it would end up in
// shell history and process listings; passwords come from a file or the
// environment.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::sftp {

struct SftpUrl {
  std::string user;  // empty: the local user name
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 22;
  std::string path;  // decoded; "/..." absolute, or "" / "rel/..." below the login directory
  // The URL without secrets, for messages and reports.
  std::string ToString() const;
};

// Parses `url`; kInvalidArgument naming what is wrong otherwise.
Result<SftpUrl> ParseSftpUrl(std::string_view url);

}  // namespace sluice::sftp
