// A compiled PCRE2 regular expression for log lines: multiline.start, the
// parse transform's regex format, user patterns of the redact transform.
//
// PCRE2 rather than std::regex: std::regex is slow and recursive, and
// overflows the stack on long lines. Patterns are UTF-8, compiled in UTF
// mode; without PCRE2_UCP, \d \w \s and \b are ASCII-only. \C is refused at
// compile time, so a match or a group never splits a character.
//
// Subjects that are not valid UTF-8 are matched safely: invalid bytes never
// match anything (not even '.') and never crash. Each pattern is compiled
// twice: a subject that is valid UTF-8 (most log lines; checked once per
// PcreSubject) is matched by the JIT when available, with PCRE2's UTF check
// skipped; any other subject by the interpreter with PCRE2_MATCH_INVALID_UTF.
// The JIT's own invalid-UTF mode is not used: in PCRE2 10.42 (Debian 12) its
// \S \D \W never match a non-ASCII character (PCRE2 issue #224), and that
// mode keeps having bugs the interpreter does not have.
//
// Work is bounded: a search that hits PCRE2's match limit (catastrophic
// backtracking), its heap limit or the JIT stack limit counts as "no match",
// and limit_hit() says so. With the JIT the limit bounds the whole search;
// the interpreter (subjects that are not UTF-8, or no JIT on this platform)
// bounds the work from each start position, so a pattern such as \s+$ costs
// time quadratic in the length of a subject that does not match.
//
// Not thread-safe: each object owns one match-data block, which also holds the
// groups of the last match; use one PcreRegex per thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

// [begin, end) byte offsets into the subject.
struct PcreSpan {
  size_t begin = 0;
  size_t end = 0;

  size_t size() const { return end - begin; }
  bool operator==(const PcreSpan&) const = default;
};

// A subject to search, and whether it is valid UTF-8: checked once, for all
// the searches of one text. Like the string_view it holds, it must not outlive
// the text, and the text must not change while it is searched.
class PcreSubject {
 public:
  explicit PcreSubject(std::string_view text);

  std::string_view text() const { return text_; }
  bool valid_utf8() const { return valid_utf8_; }

 private:
  std::string_view text_;
  bool valid_utf8_;
};

struct PcreNamedGroup {
  std::string name;
  size_t index = 0;  // the group's number: its position among the pattern's capturing groups, from 1

  bool operator==(const PcreNamedGroup&) const = default;
};

class PcreRegex {
 public:
  enum class Jit { kIfAvailable, kOff };  // kOff exercises the interpreter (tests)
  enum class Empty { kAllow, kSkip };     // kSkip: an empty string is not a match (PCRE2_NOTEMPTY)

  // The error names the offset in the pattern and PCRE2's reason.
  static Result<PcreRegex> Compile(std::string_view pattern, Jit jit = Jit::kIfAvailable);

  PcreRegex(PcreRegex&&) noexcept;
  PcreRegex& operator=(PcreRegex&&) noexcept;
  ~PcreRegex();

  // True when the pattern matches somewhere in `subject` (use '^' to anchor).
  bool Search(std::string_view subject) { return Find(PcreSubject(subject)).has_value(); }
  // The leftmost match that starts at or after byte `start` of the subject,
  // or nullopt (no match, a limit hit, or start > size). Lookbehinds and \b
  // see the bytes before `start`, so scanning a subject by calling Find from
  // the end of the previous match finds what one global search would. In a
  // valid UTF-8 subject, a start inside a character moves to the next one.
  std::optional<PcreSpan> Find(const PcreSubject& subject, size_t start = 0, Empty empty = Empty::kAllow);
  // The same, checking `subject`'s UTF-8 on every call: to search one text
  // many times, make one PcreSubject.
  std::optional<PcreSpan> Find(std::string_view subject, size_t start = 0, Empty empty = Empty::kAllow) {
    return Find(PcreSubject(subject), start, empty);
  }
  // Group `i` of the last successful Search or Find (0 is the whole match),
  // or nullopt: no such group, it did not participate (an optional group), or
  // the last search failed. Valid until the next Search or Find.
  std::optional<PcreSpan> Group(size_t i) const;
  // True when the last Search or Find gave up at a limit instead of finding no match.
  bool limit_hit() const { return limit_hit_; }

  // The number of capturing groups (group 0, the whole match, not counted).
  size_t group_count() const { return group_count_; }
  // Named groups in pattern order (by number). A name appears more than once
  // only with (?J), one entry per group.
  const std::vector<PcreNamedGroup>& named_groups() const { return named_groups_; }
  const std::string& pattern() const { return pattern_; }
  // True when subjects that are valid UTF-8 are matched by the JIT.
  bool jit() const { return jit_; }

 private:
  struct Impl;
  PcreRegex(std::string pattern, std::unique_ptr<Impl> impl, bool jit);

  std::string pattern_;
  std::unique_ptr<Impl> impl_;
  std::vector<PcreNamedGroup> named_groups_;
  size_t group_count_ = 0;
  size_t matched_groups_ = 0;  // pairs of the ovector set by the last match; 0 after a failure
  size_t subject_size_ = 0;    // of the last match, to check the ovector against
  bool jit_ = false;
  bool limit_hit_ = false;
};

}  // namespace sluice
