// A compiled PCRE2 regular expression for matching log lines (multiline.start).
//
// PCRE2 rather than std::regex: std::regex is slow and recursive, and
// overflows the stack on long lines. The pattern is compiled in UTF mode with
// PCRE2_MATCH_INVALID_UTF, so lines that are not valid UTF-8 are matched
// safely (invalid bytes never match). JIT is used when available. A match that
// hits PCRE2's match limit (catastrophic backtracking) counts as "no match".
// Not thread-safe: it owns one match-data block; use one LineRegex per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

class LineRegex {
 public:
  // The error names the offset in the pattern and PCRE2's reason.
  static Result<LineRegex> Compile(std::string_view pattern);

  LineRegex(LineRegex&&) noexcept;
  LineRegex& operator=(LineRegex&&) noexcept;
  ~LineRegex();

  // True when the pattern matches somewhere in `subject` (use '^' to anchor).
  bool Search(std::string_view subject);
  const std::string& pattern() const { return pattern_; }
  bool jit() const { return jit_; }

 private:
  struct Impl;
  LineRegex(std::string pattern, std::unique_ptr<Impl> impl, bool jit);

  std::string pattern_;
  std::unique_ptr<Impl> impl_;
  bool jit_ = false;
};

}  // namespace sluice
