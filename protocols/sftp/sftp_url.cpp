#include "protocols/sftp/sftp_url.h"

#include <fmt/format.h>

#include <charconv>

namespace sluice::sftp {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s, std::string_view url, std::string_view part) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    const int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
    const int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
    if (i + 2 >= s.size() || hi < 0 || lo < 0) {
      return Status::InvalidArgument(fmt::format("{}: a '%' in the {} is not followed by two hex digits", url, part));
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string PercentEncodePath(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (c <= 0x20 || c == '%' || c == 0x7f || c == '?' || c == '#') {
      out += fmt::format("%{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

Result<SftpUrl> ParseSftpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "sftp://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument(fmt::format("{}: not an sftp:// URL", url));
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);

  SftpUrl out;
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (userinfo.find(':') != std::string_view::npos) {
      return Status::InvalidArgument(fmt::format(
          "{}: a password in the URL is refused (it would show in process listings); use --ssh-password-file "
          "or the SLUICE_SSH_PASSWORD environment variable",
          url));
    }
    Result<std::string> user = PercentDecode(userinfo, url, "user name");
    if (!user.ok()) return user.status();
    out.user = std::move(user).value();
    authority = authority.substr(at + 1);
  }
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument(fmt::format("{}: an IPv6 address lacks its closing ']'", url));
    }
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument(fmt::format("{}: unexpected text after ']'", url));
      port = after.substr(1);
      has_port = true;
    }
  } else if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    port = authority.substr(colon + 1);
    has_port = true;
  } else {
    out.host = std::string(authority);
  }
  if (out.host.empty()) return Status::InvalidArgument(fmt::format("{}: no host", url));
  if (has_port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Status::InvalidArgument(fmt::format("{}: the port '{}' is not a number from 1 to 65535", url, port));
    }
    out.port = static_cast<uint16_t>(value);
  }
  Result<std::string> decoded = PercentDecode(path, url, "path");
  if (!decoded.ok()) return decoded.status();
  out.path = std::move(decoded).value();
  if (out.path == "/~") {
    out.path.clear();
  } else if (out.path.starts_with("/~/")) {
    out.path = out.path.substr(3);
  } else if (out.path.empty()) {
    out.path = "";  // sftp://host: the login directory
  }
  while (out.path.size() > 1 && out.path.back() == '/') out.path.pop_back();
  return out;
}

std::string SftpUrl::ToString() const {
  const std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string user_part = PercentEncodePath(user);
  for (size_t at = user_part.find('@'); at != std::string::npos; at = user_part.find('@', at)) {
    user_part.replace(at, 1, "%40");
  }
  if (!user_part.empty()) user_part += "@";
  const std::string port_part = port == 22 ? "" : fmt::format(":{}", port);
  const std::string path_part = path.empty() ? "/~" : (path.front() == '/' ? "" : "/~/") + PercentEncodePath(path);
  return fmt::format("sftp://{}{}{}{}", user_part, host_part, port_part, path_part);
}

}  // namespace sluice::sftp
