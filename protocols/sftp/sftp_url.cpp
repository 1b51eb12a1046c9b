#include "protocols/sftp/sftp_url.h"

#include <fmt/format.h>

#include "core/util/percent_encoding.h"

namespace sluice::sftp {
namespace {

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
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);

  Result<UrlAuthority> parts = ParseUrlAuthority(authority, url);
  if (!parts.ok()) return parts.status();
  SftpUrl out;
  out.host = std::move(parts->host);
  if (parts->port) out.port = *parts->port;
  if (parts->userinfo) {
    if (parts->userinfo->find(':') != std::string::npos) {
      return Status::InvalidArgument(fmt::format(
          "{}: a password in the URL is refused (it would show in process listings); use --ssh-password-file "
          "or the SLUICE_SSH_PASSWORD environment variable",
          url));
    }
    Result<std::string> user = PercentDecode(*parts->userinfo, url, "user name");
    if (!user.ok()) return user.status();
    out.user = std::move(user).value();
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
