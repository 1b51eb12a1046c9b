// URL parts (RFC 3986) for the endpoint URLs (sftp://, smb://, nfs://): the
// authority split into user, host and port, and percent-encoding: what the
// command line gives is decoded once, and what goes to a library that decodes
// again is encoded so that every byte of a name survives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

// Percent-encodes everything but RFC 3986 unreserved characters and '/'.
std::string PercentEncode(std::string_view s);
// Decodes %XX escapes; kInvalidArgument (naming `what` in `url`) for a bad one.
Result<std::string> PercentDecode(std::string_view s, std::string_view url, std::string_view what);

// "[userinfo@]host[:port]", the host an IPv6 address in brackets or not.
struct UrlAuthority {
  std::optional<std::string> userinfo;  // as written (still percent-encoded)
  std::string host;                     // without brackets; never empty
  std::optional<uint16_t> port;
};
// kInvalidArgument naming `url` for no host, a bad port or a lone '['.
Result<UrlAuthority> ParseUrlAuthority(std::string_view authority, std::string_view url);

}  // namespace sluice
