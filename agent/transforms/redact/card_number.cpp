#include "agent/transforms/redact/card_number.h"

#include <array>

namespace sluice {

namespace {

constexpr size_t kCardMinDigits = 13;
constexpr size_t kCardMaxDigits = 19;
// Cards are printed in groups of 3 to 6 digits (4-4-4-4, 4-6-5, 4-4-4-4-3) or
// none: shorter groups are lists of small numbers, where some window would
// pass the Luhn check one time in ten.
constexpr size_t kCardMinGroup = 3;

bool IsCardDigit(char c) { return c >= '0' && c <= '9'; }

bool IsCardWordByte(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

// The end of the digit group that starts at `p` (at most `end`).
size_t CardGroupEnd(std::string_view text, size_t p, size_t end) {
  while (p < end && IsCardDigit(text[p])) ++p;
  return p;
}

}  // namespace

bool LuhnValid(std::string_view text) {
  int sum = 0;
  bool twice = false;
  size_t digits = 0;
  for (size_t i = text.size(); i-- > 0;) {
    if (!IsCardDigit(text[i])) continue;
    int d = text[i] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
    ++digits;
  }
  return digits > 0 && sum % 10 == 0;
}

void RefineCardNumbers(std::string_view text, PcreSpan run, std::vector<PcreSpan>& spans) {
  size_t begin = run.begin;
  size_t end = run.end;
  // A group glued to a word (id4111...) or to a decimal point (0.4111...) is
  // part of something else: leave that end's group out.
  const bool glued_before = begin > 0 && (IsCardWordByte(text[begin - 1]) ||
                                          (text[begin - 1] == '.' && begin > 1 && IsCardDigit(text[begin - 2])));
  const bool glued_after =
      end < text.size() &&
      (IsCardWordByte(text[end]) || (text[end] == '.' && end + 1 < text.size() && IsCardDigit(text[end + 1])));
  if (glued_before) begin = CardGroupEnd(text, begin, end) + 1;  // past the first group and its separator
  if (glued_after) {
    while (end > begin && IsCardDigit(text[end - 1])) --end;  // back to the last group's start
    if (end > begin) --end;                                   // and before its separator
  }
  size_t g = begin;  // the start of the group where windows are tried
  while (g < end) {
    // The groups from g while they hold at most 19 digits, none short: ends and digit counts.
    struct Window {
      size_t end;
      size_t digits;
    };
    std::array<Window, kCardMaxDigits> windows;
    size_t count = 0;
    size_t digits = 0;
    size_t first_group_end = end;
    for (size_t p = g; p < end && count < windows.size(); ++p) {
      const size_t q = CardGroupEnd(text, p, end);
      if (p == g) first_group_end = q;
      if (q - p < kCardMinGroup || digits + (q - p) > kCardMaxDigits) break;
      digits += q - p;
      windows[count++] = {q, digits};
      p = q;  // the loop's ++p skips the separator
    }
    bool found = false;
    for (size_t k = count; k-- > 0 && windows[k].digits >= kCardMinDigits;) {
      if (LuhnValid(text.substr(g, windows[k].end - g))) {
        spans.push_back({g, windows[k].end});
        g = windows[k].end + 1;
        found = true;
        break;
      }
    }
    if (!found) g = first_group_end + 1;
  }
}

}  // namespace sluice
