// Small helpers on the text of one log line, shared by the line parsers.
#pragma once

#include <string_view>

namespace sluice {

// The line without one trailing '\r': a file with CRLF line ends leaves it
// after the tail source cut the line at '\n', and it belongs to the line end.
inline std::string_view WithoutTrailingCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace sluice
