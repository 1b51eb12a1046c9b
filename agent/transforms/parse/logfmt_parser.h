// The parse transform's format = "logfmt": `key=value key="quoted value" flag`
// to one JSON object, `{"key":"value","key2":"quoted value","flag":true}`.
//
// Grammar (one line): pairs separated by runs of spaces and tabs. A key is a
// non-empty run of bytes other than space, tab, '=' and '"'. After the key:
//   =value      a bare value, up to the next space or tab; may be empty
//               (`a=` is ""), may contain '=' (URLs), never '"'
//   ="value"    a quoted value: \" \\ \n \t \r are unescaped, any other
//               backslash is kept as it is; the closing quote must be
//               followed by a space, a tab or the end of the line
//   (nothing)   a bare key, which becomes true
// Every value is a JSON string (no guessing of numbers: one key keeps one
// type in the lake), keys in input order. One trailing '\r' (CRLF files) is
// not part of the line.
//
// A line fails to parse (Parse returns false and leaves `out` as it was) when
// it is empty or blank, not valid UTF-8, malformed (unterminated quote, `=v`
// with no key, `a="x"y`, `a=x"y`), or repeats a key: an object with a
// duplicate key is read differently by different JSON readers (first wins,
// last wins, error), so it is refused rather than guessed.
//
// Linear in the line's length; stateless and safe to share between threads.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

class LogfmtParser {
 public:
  // Appends one JSON object to `out` and returns true, or returns false and leaves `out` unchanged.
  bool Parse(std::string_view line, std::string& out) const;
};

}  // namespace sluice
