// The redact transform's text redaction: replaces what a list of patterns
// matches in a line with masks.
//
// Patterns are built-in names ("email", "ipv4", "ipv6", "card"; see
// builtin_patterns.h) or, for any other string, a PCRE2 regular expression
// (PcreRegex: UTF mode, ASCII \d \w \b). A user regex that is literally one of
// the names can be written (?:email). Empty matches are never redacted.
//
// Each match is replaced by "[REDACTED:<name>]", name being email, ipv4,
// ipv6, card or regex, or by one fixed mask for every pattern when the options
// give one (it may be empty: the match is removed). Where matches of
// different patterns overlap, the one that starts first wins, then the
// longest, then the one listed first; the text after a replaced match is
// searched again by every pattern, so nothing is replaced twice.
//
// Text that is not valid UTF-8 is searched too (by PCRE2's interpreter, a few
// times slower than its JIT): invalid bytes never match and end any
// candidate, the valid text around them is redacted, and the invalid bytes
// are copied as they are. Time is linear in the text for the built-ins; a
// user regex is bounded by PCRE2's match limit, and a search that hits it ends
// that pattern's search of that text (counted in limit_hits(): the rest of
// the text may hold unredacted matches).
//
// Not thread-safe (PcreRegex): one redactor per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

struct TextRedactorOptions {
  std::optional<std::string> mask;  // replaces every match when set; must be UTF-8
};

class TextRedactor {
 public:
  // Errors: no pattern, an empty pattern, a mask that is not UTF-8, a regex
  // that does not compile (naming the pattern, the offset and PCRE2's reason).
  static Result<TextRedactor> Create(const std::vector<std::string>& patterns, const TextRedactorOptions& options = {});

  TextRedactor(TextRedactor&&) noexcept;
  TextRedactor& operator=(TextRedactor&&) noexcept;
  ~TextRedactor();

  // When a pattern matches `in`, appends `in` with every match replaced by its
  // mask to `out` and returns true; otherwise returns false and leaves `out`
  // as it was. `in` must not point into `out`.
  bool Redact(std::string_view in, std::string& out);

  // Searches that ended at PCRE2's match limit since Create.
  uint64_t limit_hits() const { return limit_hits_; }

 private:
  struct Matcher;
  explicit TextRedactor(std::vector<Matcher> matchers);

  std::vector<Matcher> matchers_;
  uint64_t limit_hits_ = 0;
};

}  // namespace sluice
