// The parse transform's format = "regex": the named groups of a PCRE2
// pattern become the fields of one JSON object, in pattern order:
// `^(?<ip>\S+) \S+ \S+ \[(?<ts>[^\]]+)\] "(?<req>[^"]*)"` on an access log line
// is {"ip":"...","ts":"...","req":"..."}.
//
// The pattern is searched for anywhere in the line (anchor it with ^ and $ to
// match whole lines). Values are JSON strings (a group that matched nothing
// is ""); a group that did not take part in the match (an optional one) is
// left out. Unnamed groups are ignored. With (?J) a name may name several
// groups: the field is the first of them that took part, placed where the
// name first appears.
//
// A line fails to parse (Parse returns false and leaves `out` as it was) when
// it is not valid UTF-8 or the pattern does not match it. Matching is bounded
// by PcreRegex's limits: a line on which the pattern backtracks
// catastrophically counts as not matching.
//
// Not thread-safe (PcreRegex): one parser per thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/util/pcre_regex.h"

namespace sluice {

class RegexLineParser {
 public:
  // The error names the offset in the pattern and PCRE2's reason, or says
  // that the pattern has no named group.
  static Result<RegexLineParser> Create(std::string_view pattern);

  // Appends one JSON object to `out` and returns true, or returns false and leaves `out` unchanged.
  bool Parse(std::string_view line, std::string& out);

  // The fields a line can have, in pattern order, each name once.
  std::vector<std::string> fields() const;
  // True when the last Parse failed at PCRE2's match limit rather than by not matching.
  bool limit_hit() const { return re_.limit_hit(); }

 private:
  struct Field {
    std::string name;
    std::vector<size_t> groups;  // more than one only with (?J)
  };
  RegexLineParser(PcreRegex re, std::vector<Field> fields) : re_(std::move(re)), fields_(std::move(fields)) {}

  PcreRegex re_;
  std::vector<Field> fields_;
};

}  // namespace sluice
