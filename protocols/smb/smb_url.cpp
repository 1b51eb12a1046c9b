#include "protocols/smb/smb_url.h"

#include <fmt/format.h>

#include "core/util/percent_encoding.h"

namespace sluice::smb {
Result<SmbUrl> ParseSmbUrl(std::string_view url) {
  constexpr std::string_view kScheme = "smb://";
  if (!url.starts_with(kScheme)) return Status::InvalidArgument(fmt::format("{}: not an smb:// URL", url));
  std::string_view rest = url.substr(kScheme.size());
  if (const size_t q = rest.find_first_of("?#"); q != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("{}: smb:// URLs take no query or fragment", url));
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

  Result<UrlAuthority> parts = ParseUrlAuthority(authority, url);
  if (!parts.ok()) return parts.status();
  SmbUrl out;
  out.host = std::move(parts->host);
  if (parts->port) out.port = *parts->port;
  if (parts->userinfo) {
    std::string_view userinfo = *parts->userinfo;
    if (userinfo.find(':') != std::string_view::npos) {
      return Status::InvalidArgument(fmt::format(
          "{}: a password in the URL is refused (it would show in process listings); use --smb-password-file or "
          "the SLUICE_SMB_PASSWORD environment variable",
          url));
    }
    if (const size_t semi = userinfo.find(';'); semi != std::string_view::npos) {
      Result<std::string> domain = PercentDecode(userinfo.substr(0, semi), url, "domain");
      if (!domain.ok()) return domain.status();
      out.domain = std::move(domain).value();
      userinfo = userinfo.substr(semi + 1);
    }
    Result<std::string> user = PercentDecode(userinfo, url, "user name");
    if (!user.ok()) return user.status();
    out.user = std::move(user).value();
  }
  const size_t share_end = path.find('/');
  Result<std::string> share = PercentDecode(path.substr(0, share_end), url, "share");
  if (!share.ok()) return share.status();
  out.share = std::move(share).value();
  if (out.share.empty()) {
    return Status::InvalidArgument(fmt::format("{}: no share (smb://host/share/path)", url));
  }
  if (share_end != std::string_view::npos) {
    Result<std::string> decoded = PercentDecode(path.substr(share_end + 1), url, "path");
    if (!decoded.ok()) return decoded.status();
    out.path = std::move(decoded).value();
  }
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  if (out.path.find("//") != std::string::npos || out.path.starts_with('/')) {
    return Status::InvalidArgument(fmt::format("{}: an empty path component", url));
  }
  return out;
}

std::string SmbUrl::ToString() const {
  std::string userinfo;
  if (!user.empty()) {
    userinfo = (domain.empty() ? "" : PercentEncode(domain) + ";") + PercentEncode(user) + "@";
  }
  const std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const std::string port_part = port == 445 ? "" : fmt::format(":{}", port);
  return fmt::format("smb://{}{}{}/{}{}", userinfo, host_part, port_part, PercentEncode(share),
                     path.empty() ? "" : "/" + PercentEncode(path));
}

std::string SmbUrl::LibraryUrl(std::string_view relative) const {
  const std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string out = fmt::format("smb://{}:{}/{}", host_part, port, PercentEncode(share));
  if (!path.empty()) out += "/" + PercentEncode(path);
  if (!relative.empty()) out += "/" + PercentEncode(relative);
  return out;
}

}  // namespace sluice::smb
