// Reading an HTTP Retry-After header (RFC 9110 10.2.3): either a number of
// seconds or an HTTP-date. The three date formats RFC 9110 accepts
// (IMF-fixdate, RFC 850, asctime) are parsed by libcurl's curl_getdate.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace sluice::http {

// How long `value` asks to wait, counted from `now`: a date in the past is
// zero; nullopt when `value` is neither delta-seconds nor an HTTP-date.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace sluice::http
