#include "agent/transforms/redact/builtin_patterns.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "agent/transforms/redact/card_number.h"

namespace sluice {

namespace {

bool IsAsciiWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsHexByte(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool ValidIpv6Text(std::string_view addr) {
  // inet_pton wants a NUL-terminated string; the longest address text is 45 bytes.
  std::array<char, 64> buf{};
  if (addr.size() >= buf.size()) return false;
  if (std::none_of(addr.begin(), addr.end(), IsHexByte)) return false;  // "::" alone
  std::memcpy(buf.data(), addr.data(), addr.size());
  in6_addr parsed{};
  return inet_pton(AF_INET6, buf.data(), &parsed) == 1;
}

// The candidate is a run of hex digits, ':' and '.' with at least one ':', and
// perhaps a zone: keep it when the address parses, or parses without one
// trailing '.' or ':' of the sentence around it ("from fe80::1: refused").
void RefineIpv6(std::string_view text, PcreSpan candidate, std::vector<PcreSpan>& spans) {
  if (candidate.end < text.size() && IsAsciiWordByte(text[candidate.end])) return;  // fe80::1g: part of a word
  std::string_view s = text.substr(candidate.begin, candidate.size());
  const size_t percent = s.find('%');
  if (percent != std::string_view::npos) {
    std::string_view zone = s.substr(percent + 1);
    while (!zone.empty() && zone.back() == '.') zone.remove_suffix(1);
    if (zone.empty() || !ValidIpv6Text(s.substr(0, percent))) return;
    spans.push_back({candidate.begin, candidate.begin + percent + 1 + zone.size()});
    return;
  }
  if (ValidIpv6Text(s)) {
    spans.push_back(candidate);
  } else if ((s.back() == '.' || s.back() == ':') && ValidIpv6Text(s.substr(0, s.size() - 1))) {
    spans.push_back({candidate.begin, candidate.end - 1});
  }
}

// Four octets of 0-255 (25x, 2xx, then up to three digits starting 0 or 1).
constexpr std::string_view kIpv4Regex =
    R"((?<![0-9A-Za-z_])(?<![0-9]\.))"
    R"((?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9]))"
    R"((?![0-9A-Za-z_]|\.[0-9]))";

constexpr std::array<BuiltinRedactPattern, 4> kBuiltinRedactPatterns = {{
    {"email", R"((?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]++@(?:[A-Za-z0-9\-]++\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\-]))",
     nullptr},
    {"ipv4", kIpv4Regex, nullptr},
    {"ipv6", R"((?<![0-9A-Za-z_:.%])(?=[0-9A-Fa-f.]*+:)[0-9A-Fa-f.:]++(?:%[0-9A-Za-z_.\-]++)?+)", RefineIpv6},
    {"card", R"((?<![0-9])(?<![0-9][ \-])(?=[0-9](?:[ \-]?[0-9]){12})[0-9]++(?:[ \-][0-9]++)*+)", RefineCardNumbers},
}};

}  // namespace

const BuiltinRedactPattern* FindBuiltinRedactPattern(std::string_view name) {
  for (const BuiltinRedactPattern& p : kBuiltinRedactPatterns) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace sluice
