// UTF-8 validation, JSON string escaping and base64, for the record format
// (DESIGN.md: text that is valid UTF-8 is carried as a JSON string, anything
// else as {"base64":"..."}; nothing is silently altered).
#pragma once

#include <string>
#include <string_view>

namespace sluice {

// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);
// The length of the longest prefix of s that is valid UTF-8 (s.size() when all
// of it is): where the first invalid or truncated sequence starts.
size_t ValidUtf8Prefix(std::string_view s);

// Appends s as the inside of a JSON string (no quotes): escapes ", \, and
// control characters U+0000..U+001F (and U+007F as \u007f). s must be valid UTF-8.
void AppendJsonEscaped(std::string& out, std::string_view s);

// Standard base64 (RFC 4648, with padding).
void AppendBase64(std::string& out, std::string_view bytes);
std::string Base64(std::string_view bytes);
// Replaces `out` with the decoded bytes. Strict: returns false on a length that
// is not a multiple of 4, characters outside the alphabet, misplaced padding,
// or non-zero bits after the last byte (so each byte string has one encoding).
bool DecodeBase64(std::string_view text, std::string& out);

}  // namespace sluice
