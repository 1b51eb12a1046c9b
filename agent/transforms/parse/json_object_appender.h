// Writes one compact JSON object at the end of a caller's string, for the
// line parsers (logfmt, csv, regex).
//
// The object is written in place, never through a copy of a multi-MiB line.
// Unless Commit() is called, the destructor cuts the string back to its size
// at construction: a parser that gives up halfway leaves the caller's string
// exactly as it was. Keys and string parts must be valid UTF-8 (the parsers
// check the whole line first) and are escaped here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/util/utf8.h"

namespace sluice {

class JsonObjectAppender {
 public:
  explicit JsonObjectAppender(std::string& out) : out_(out), mark_(out.size()) { out_ += '{'; }
  ~JsonObjectAppender() {
    if (!committed_) out_.resize(mark_);
  }
  JsonObjectAppender(const JsonObjectAppender&) = delete;
  JsonObjectAppender& operator=(const JsonObjectAppender&) = delete;

  // Starts a member: `"key":` (after a comma unless it is the first).
  void Key(std::string_view key) {
    if (members_++ > 0) out_ += ',';
    out_ += '"';
    AppendJsonEscaped(out_, key);
    out_ += "\":";
  }
  void String(std::string_view value) {
    OpenString();
    StringPart(value);
    CloseString();
  }
  // A string value written in parts, for values that are unescaped piece by piece.
  void OpenString() { out_ += '"'; }
  void StringPart(std::string_view part) { AppendJsonEscaped(out_, part); }
  void CloseString() { out_ += '"'; }
  void True() { out_ += "true"; }

  void Commit() {
    out_ += '}';
    committed_ = true;
  }
  size_t members() const { return members_; }

 private:
  std::string& out_;
  size_t mark_;
  size_t members_ = 0;
  bool committed_ = false;
};

}  // namespace sluice
