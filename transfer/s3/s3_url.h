// "s3://bucket/prefix" as the command line and drop configurations name an
// S3 location. The prefix is a relative endpoint path: no leading or trailing
// '/', no empty, "." or ".." components.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::transfer {

struct S3Url {
  std::string bucket;
  std::string prefix;  // "" = the whole bucket
};

bool IsS3Url(std::string_view url);

// kInvalidArgument saying what is wrong with the bucket name or the prefix.
Result<S3Url> ParseS3Url(std::string_view url);

std::string ToString(const S3Url& url);

}  // namespace sluice::transfer
