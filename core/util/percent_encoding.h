// Percent-encoding of URL parts (RFC 3986) for the endpoint URLs (smb://,
// nfs://): what the command line gives is decoded once, and what goes to a
// library that decodes again is encoded so that every byte of a name survives.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

// Percent-encodes everything but RFC 3986 unreserved characters and '/'.
std::string PercentEncode(std::string_view s);
// Decodes %XX escapes; kInvalidArgument (naming `what` in `url`) for a bad one.
Result<std::string> PercentDecode(std::string_view s, std::string_view url, std::string_view what);

}  // namespace sluice
