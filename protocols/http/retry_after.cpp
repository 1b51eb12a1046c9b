#include "protocols/http/retry_after.h"

#include <algorithm>
#include <string>

#include "protocols/http/curl_api.h"

namespace sluice::http {

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delta-seconds; anything beyond a day is as good as a day (callers cap it far lower).
    if (value.size() > 6) return std::chrono::hours(24);
    return std::chrono::seconds(std::stol(std::string(value)));
  }
  const std::string text(value);
  // A Retry-After came in a response libcurl received, so it is loaded.
  Result<const CurlApi*> curl = Curl();
  if (!curl.ok()) return std::nullopt;
  const time_t when = curl.value()->curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const auto wait = std::chrono::system_clock::from_time_t(when) - now;
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(wait));
}

}  // namespace sluice::http
