// The parse transform's format = "csv": one line of delimited fields to one
// JSON object keyed by the configured column names, in column order:
// `alice,"x, ""y"""` with columns [user, note] is {"user":"alice","note":"x, \"y\""}.
//
// RFC 4180 on one line: a field that starts with '"' is quoted, may contain
// the delimiter, and writes a quote as ""; after its closing quote comes the
// delimiter or the end of the line. A quote anywhere in an unquoted field is
// an error, and so is space between a closing quote and the delimiter (spaces
// belong to fields). Every value is a JSON string; an empty field is "". One
// trailing '\r' (CRLF files) is not part of the line.
//
// A line fails to parse (Parse returns false and leaves `out` as it was) when
// it is not valid UTF-8, is malformed, or has more or fewer fields than there
// are columns. Column names are unique, so an object never repeats a key.
//
// Immutable after Create; linear in the line's length; safe to share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

struct CsvOptions {
  std::vector<std::string> columns;  // required, unique, non-empty, UTF-8
  std::string delimiter = ",";       // one ASCII byte other than '"', '\n' and '\r' ("\t" for TSV)
};

class CsvParser {
 public:
  // The error names the option and the problem (no columns, an empty or
  // repeated name, a delimiter that is not one usable byte).
  static Result<CsvParser> Create(CsvOptions options);

  // Appends one JSON object to `out` and returns true, or returns false and leaves `out` unchanged.
  bool Parse(std::string_view line, std::string& out) const;

  const std::vector<std::string>& columns() const { return columns_; }
  char delimiter() const { return delimiter_; }

 private:
  CsvParser(std::vector<std::string> columns, char delimiter) : columns_(std::move(columns)), delimiter_(delimiter) {}

  std::vector<std::string> columns_;
  char delimiter_;
};

}  // namespace sluice
