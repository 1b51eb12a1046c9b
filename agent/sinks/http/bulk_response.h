// Reading the answer of an Elasticsearch/OpenSearch _bulk request: one item
// per action, in the request's order, each with its own HTTP status. A 200
// answer may still carry failed items ("errors": true); the sink retries the
// 429 and 5xx items and dead-letters the other 4xx ones.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

struct BulkItem {
  int status = 0;
  std::string error;  // the item's error (type: reason), "" when it succeeded
};

// The items of a _bulk answer; an empty vector when "errors" is false (every
// item succeeded: the items are not parsed). kIo when the answer is not a
// _bulk answer or has other than `actions` items.
Result<std::vector<BulkItem>> ParseBulkResponse(std::string_view body, size_t actions);

}  // namespace sluice
