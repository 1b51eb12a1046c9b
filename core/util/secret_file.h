// Secrets kept in files (a token, a password): read when they are needed, so
// a rotated secret is picked up without a restart. Only the file's path ever
// appears in a message; the secret never does.
#pragma once

#include <string>

#include "core/status.h"

namespace sluice {

// The first line of `path`, without its line ending. `what` names the secret
// in the error ("token_file").
Result<std::string> ReadSecretLine(const std::string& path, const std::string& what);

}  // namespace sluice
