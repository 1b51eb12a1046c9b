#include "transfer/smb/smb_names.h"

#include <cstdint>
#include <optional>

namespace sluice::transfer {
namespace {

constexpr char32_t kQuote = 0x201B;
constexpr std::u32string_view kReserved = U"\"*:<>?\\|";

// One UTF-8 sequence at `s[i]`: its code point and length; invalid bytes are
// taken one at a time as themselves (they pass through unchanged).
std::pair<char32_t, size_t> NextCodePoint(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) return {0xFFFFFFFF, 1};
  char32_t cp = len == 1 ? b : b & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return {0xFFFFFFFF, 1};
    cp = (cp << 6) | (c & 0x3F);
  }
  return {cp, len};
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// What a character that SMB refuses is stored as.
std::optional<char32_t> LookAlike(char32_t c) {
  if (c >= 0x01 && c <= 0x1F) return 0x2400 + c;
  if (kReserved.find(c) != std::u32string_view::npos) return 0xFF00 + (c - 0x20);
  return std::nullopt;
}

// The character a look-alike stands for.
std::optional<char32_t> Original(char32_t c) {
  if (c >= 0x2401 && c <= 0x241F) return c - 0x2400;
  if (c >= 0xFF01 && c <= 0xFF5E && kReserved.find(c - 0xFF00 + 0x20) != std::u32string_view::npos) {
    return c - 0xFF00 + 0x20;
  }
  return std::nullopt;
}

// Whether the encoded form of `c` begins with a look-alike or the quote: a
// quote before it must itself be quoted.
bool EncodesToSpecial(char32_t c) { return LookAlike(c) || Original(c) || c == kQuote; }

}  // namespace

std::string EncodeSmbName(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    const auto [c, len] = NextCodePoint(in, i);
    if (len == 1 && c == 0xFFFFFFFF) {
      out += in[i];
    } else if (std::optional<char32_t> look = LookAlike(c)) {
      AppendUtf8(out, *look);
    } else if (Original(c)) {
      AppendUtf8(out, kQuote);  // a look-alike that was there already
      AppendUtf8(out, c);
    } else if (c == kQuote && i + len < in.size() && EncodesToSpecial(NextCodePoint(in, i + len).first)) {
      AppendUtf8(out, kQuote);
      AppendUtf8(out, kQuote);
    } else {
      out.append(in.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string DecodeSmbName(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    const auto [c, len] = NextCodePoint(in, i);
    if (c == kQuote && i + len < in.size()) {
      const auto [next, next_len] = NextCodePoint(in, i + len);
      if (Original(next) || next == kQuote) {
        out.append(in.substr(i + len, next_len));  // quoted: itself
        i += len + next_len;
        continue;
      }
    }
    if (std::optional<char32_t> orig = Original(c); orig && len > 1) {
      AppendUtf8(out, *orig);
    } else {
      out.append(in.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace sluice::transfer
