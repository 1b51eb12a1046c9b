// A view of a directory below another endpoint's root, which need not exist
// yet: the destination of a transfer into a new directory is opened as its
// nearest existing ancestor plus the missing part, so that --dry-run can plan
// against it without creating anything, and a real run creates it with
// MakeDirectory("") (which makes the prefix and its parents).
#pragma once

#include <memory>
#include <string>

#include "transfer/endpoint.h"

namespace sluice::transfer {

// `prefix` is a relative endpoint path (RelativePathProblem-clean), not "".
std::unique_ptr<Endpoint> MakeSubtreeEndpoint(std::unique_ptr<Endpoint> base, std::string prefix);

}  // namespace sluice::transfer
