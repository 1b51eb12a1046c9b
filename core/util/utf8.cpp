#include "core/util/utf8.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace sluice {
namespace {

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

inline uint64_t Load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Non-zero iff some byte of w is zero (exact as a yes/no answer).
constexpr uint64_t HasZeroByte(uint64_t w) { return (w - kOnes) & ~w & kHighBits; }
// Non-zero iff some byte of w is < n, for n <= 0x80.
constexpr uint64_t HasByteLess(uint64_t w, uint8_t n) { return (w - kOnes * n) & ~w & kHighBits; }

// True for the bytes AppendJsonEscaped must escape.
constexpr std::array<bool, 256> MakeEscapeTable() {
  std::array<bool, 256> t{};
  for (size_t i = 0; i < 0x20; ++i) t[i] = true;
  t['"'] = true;
  t['\\'] = true;
  t[0x7f] = true;
  return t;
}

inline bool WordNeedsEscape(uint64_t w) {
  return (HasByteLess(w, 0x20) | HasZeroByte(w ^ (kOnes * '"')) | HasZeroByte(w ^ (kOnes * '\\')) |
          HasZeroByte(w ^ (kOnes * 0x7f))) != 0;
}

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeBase64Decode() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  return t;
}

}  // namespace

size_t ValidUtf8Prefix(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Most log text is ASCII: skip it a word at a time.
    while (i + 8 <= n && (Load64(s.data() + i) & kHighBits) == 0) i += 8;
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // RFC 3629 section 4: the second byte's range depends on the first, which
    // is what excludes overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;  // a continuation byte, C0/C1 (always overlong) or F5..FF
    }
    if (i + len > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return n;
}

bool IsValidUtf8(std::string_view s) { return ValidUtf8Prefix(s) == s.size(); }

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr std::array<bool, 256> kEscape = MakeEscapeTable();
  static constexpr char kHex[] = "0123456789abcdef";
  const char* p = s.data();
  const char* const end = p + s.size();
  const char* run = p;  // start of the pending run that needs no escaping
  while (p < end) {
    if (end - p >= 8 && !WordNeedsEscape(Load64(p))) {
      p += 8;
      continue;
    }
    const auto c = static_cast<unsigned char>(*p);
    if (!kEscape[c]) {
      ++p;
      continue;
    }
    out.append(run, p);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(u, sizeof u);
      }
    }
    ++p;
    run = p;
  }
  out.append(run, end);
}

void AppendBase64(std::string& out, std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  const size_t start = out.size();
  out.resize(start + (n + 2) / 3 * 4);
  char* o = out.data() + start;
  while (n >= 3) {
    const uint32_t v = static_cast<uint32_t>(p[0]) << 16 | static_cast<uint32_t>(p[1]) << 8 | p[2];
    o[0] = kBase64Alphabet[v >> 18];
    o[1] = kBase64Alphabet[(v >> 12) & 63];
    o[2] = kBase64Alphabet[(v >> 6) & 63];
    o[3] = kBase64Alphabet[v & 63];
    p += 3;
    n -= 3;
    o += 4;
  }
  if (n > 0) {
    const uint32_t v = static_cast<uint32_t>(p[0]) << 16 | (n == 2 ? static_cast<uint32_t>(p[1]) << 8 : 0);
    o[0] = kBase64Alphabet[v >> 18];
    o[1] = kBase64Alphabet[(v >> 12) & 63];
    o[2] = n == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=';
    o[3] = '=';
  }
}

std::string Base64(std::string_view bytes) {
  std::string out;
  AppendBase64(out, bytes);
  return out;
}

bool DecodeBase64(std::string_view text, std::string& out) {
  static constexpr std::array<int8_t, 256> kDecode = MakeBase64Decode();
  out.clear();
  if (text.size() % 4 != 0) return false;
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const size_t quad_pad = last ? pad : 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      int8_t d = 0;
      if (k < 4 - quad_pad) {
        d = kDecode[static_cast<unsigned char>(text[i + k])];
        if (d < 0) return false;  // includes a '=' that is not at the end
      }
      v = v << 6 | static_cast<uint32_t>(d);
    }
    // Bits below the last whole byte must be zero in a canonical encoding.
    if ((quad_pad == 1 && (v & 0xff) != 0) || (quad_pad == 2 && (v & 0xffff) != 0)) return false;
    out += static_cast<char>(v >> 16);
    if (quad_pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (quad_pad < 1) out += static_cast<char>(v & 0xff);
  }
  return true;
}

}  // namespace sluice
