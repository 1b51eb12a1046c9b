// Names that SMB cannot carry, carried anyway: an SMB server refuses the
// control characters U+0001-U+001F and Windows' reserved characters
// " * : < > ? \ | in a name (Samba answers EINVAL), which POSIX trees have.
// As rclone does for its SMB backend, they are stored as look-alikes: a
// control character c as U+2400+c (the "control pictures", e.g. U+240A for a
// newline), a reserved character as its fullwidth form (U+FF02 for '"').
//
// The mapping is reversible for every name: a look-alike that was in the
// name already (or the quote itself before one) is stored behind the quote
// U+201B, so DecodeSmbName(EncodeSmbName(n)) == n, and a name made on the
// server by someone else decodes to itself unless it holds a look-alike.
// Applied per path component; '/' is never mapped.
#pragma once

#include <string>
#include <string_view>

namespace sluice::transfer {

std::string EncodeSmbName(std::string_view posix_path);
std::string DecodeSmbName(std::string_view smb_name);

}  // namespace sluice::transfer
