// Path globs, as used by `paths` / `exclude` (tail) and --include/--exclude
// (transfer).
//
// Syntax, matched per path segment ('/' is never matched by a wildcard):
//   *        any run of characters within one segment (including a leading '.')
//   ?        one character
//   [abc] [a-z] [!a-z] [^a-z]   one character from (or not from) the set
//   \c       the character c literally
//   **       as a whole segment: zero or more segments ("a/**/b" matches "a/b",
//            "a/x/b", "a/x/y/b"); elsewhere it acts as '*'
// Matching is byte-wise (no locale, no case folding). Repeated slashes are
// treated as one. A Glob is immutable after Compile and safe to share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

class Glob {
 public:
  // Rejects an empty pattern and an unterminated '[' set or trailing '\'.
  static Result<Glob> Compile(std::string_view pattern);

  // True when the whole of `path` matches.
  bool Match(std::string_view path) const;
  // True when some path strictly below directory `dir` could match, so a
  // directory walk can prune everything else.
  bool CouldMatchBelow(std::string_view dir) const;
  // An exclude-style match: a pattern without '/' is matched against the
  // file name only, any other against the whole path.
  bool MatchPathOrName(std::string_view path) const;

  const std::string& pattern() const { return pattern_; }
  // The leading directories that contain no wildcard, unescaped: where a walk
  // starts ("/var/log/app" for "/var/log/app/*.log", "." for "*.log").
  const std::string& base() const { return base_; }
  // True when the pattern contains a "**" segment.
  bool recursive() const { return recursive_; }
  bool has_slash() const { return has_slash_; }

 private:
  enum class Kind { kLiteral, kWildcard, kGlobStar };
  struct Segment {
    Kind kind;
    std::string text;  // literal: unescaped text; wildcard: the raw pattern
  };

  bool MatchFrom(size_t pi, const std::vector<std::string_view>& path, size_t si) const;
  bool PrefixFrom(size_t pi, const std::vector<std::string_view>& dir, size_t si) const;

  std::string pattern_;
  std::string base_;
  bool absolute_ = false;
  bool recursive_ = false;
  bool has_slash_ = false;
  std::vector<Segment> segments_;
};

// Matches one path segment (no '/') against a wildcard segment pattern that
// has already been validated by Glob::Compile. Exposed for tests.
bool GlobMatchSegment(std::string_view pattern, std::string_view name);

}  // namespace sluice
