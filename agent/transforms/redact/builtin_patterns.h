// The redact transform's built-in patterns: "email", "ipv4", "ipv6", "card".
//
// Each is a PCRE2 regex that finds candidates plus, where a regex alone would
// be wrong, a check in code that turns a candidate into zero or more spans to
// redact (IPv6 syntax by inet_pton, payment cards by the Luhn check). Every
// regex starts only where a run of the characters it consumes starts (a
// negative lookbehind) and consumes runs possessively, so a search costs time
// linear in the text: no pattern rescans a long run from each of its bytes.
// They match ASCII only; a byte that is not UTF-8 ends a candidate.
//
//   email  local@domain.tld: local part [A-Za-z0-9._%+-]+, dot-separated
//          labels [A-Za-z0-9-]+, a final label of 2-63 letters; not glued to
//          more such characters on either side. No quoted local parts, no
//          IP literals, no internationalised names.
//   ipv4   dotted quad, each octet 0-255 (leading zeros allowed: 010.0.0.1);
//          not inside a longer dotted number (1.2.3.4.5, 10.0.0.1.2) nor a
//          word (v1.2.3.4); a trailing '.' (end of a sentence) is fine. A
//          four-part version number is indistinguishable and is redacted.
//   ipv6   anything inet_pton(AF_INET6) accepts: full and compressed forms
//          (::1, fe80::1, 2001:db8::), IPv4-mapped and embedded (::ffff:1.2.3.4),
//          with an optional zone (fe80::1%eth0, fe80::1%25eth0 in URLs), which
//          is redacted with the address. Not "::" alone (too often not an
//          address: "x :: Int"), not a run glued to a word (std::vector,
//          fe80::1g). Times (12:30:45) and MAC addresses do not parse as IPv6.
//   card   13-19 digits, single spaces or dashes allowed between groups of
//          at least 3 digits, accepted only when the Luhn check passes.
//          Candidates are whole runs of digit groups; a run longer than a
//          card is searched for windows of whole groups (so "2024-01-15 4111
//          1111 1111 1111" redacts the card, not the date), longest first. A
//          run glued to a word or to a decimal point (0.4111111111111111, a
//          float's digits) is not a card at that end. One group of more than
//          19 digits is never a card; a list of 1- and 2-digit numbers never
//          holds one.
#pragma once

#include <string_view>
#include <vector>

#include "core/util/pcre_regex.h"

namespace sluice {

// Turns a regex candidate into the spans to redact (appended to `spans`, in
// order, each within the candidate).
using RedactRefine = void (*)(std::string_view text, PcreSpan candidate, std::vector<PcreSpan>& spans);

struct BuiltinRedactPattern {
  std::string_view name;
  std::string_view regex;
  RedactRefine refine = nullptr;  // nullptr: the candidate is the span
};

// The built-in pattern called `name`, or nullptr when there is none.
const BuiltinRedactPattern* FindBuiltinRedactPattern(std::string_view name);

}  // namespace sluice
