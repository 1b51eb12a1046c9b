#include "protocols/nfs/nfs_url.h"

#include <fmt/format.h>

#include <charconv>

#include "core/util/percent_encoding.h"

namespace sluice::nfs {
namespace {

template <class T>
Result<T> ParseNumber(std::string_view text, std::string_view url, std::string_view what, T min, T max) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Status::InvalidArgument(fmt::format("{}: {} '{}' is not a number from {} to {}", url, what, text, min, max));
  }
  return static_cast<T>(value);
}

}  // namespace

Result<NfsUrl> ParseNfsUrl(std::string_view url) {
  constexpr std::string_view kScheme = "nfs://";
  if (!url.starts_with(kScheme)) return Status::InvalidArgument(fmt::format("{}: not an nfs:// URL", url));
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("{}: NFS has no user in the URL (use ?uid=N&gid=N)", url));
  }
  NfsUrl out;
  if (const size_t colon = authority.rfind(':');
      colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    Result<uint16_t> port = ParseNumber<uint16_t>(authority.substr(colon + 1), url, "the port", 1, 65535);
    if (!port.ok()) return port.status();
    out.nfs_port = *port;
    authority = authority.substr(0, colon);
  }
  if (authority.size() > 1 && authority.front() == '[' && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  out.host = std::string(authority);
  if (out.host.empty()) return Status::InvalidArgument(fmt::format("{}: no host", url));
  Result<std::string> decoded = PercentDecode(path, url, "path");
  if (!decoded.ok()) return decoded.status();
  out.path = std::move(decoded).value();
  while (out.path.size() > 1 && out.path.back() == '/') out.path.pop_back();
  if (out.path.find("//") != std::string::npos) {
    return Status::InvalidArgument(fmt::format("{}: an empty path component", url));
  }
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = param.find('=');
    const std::string_view key = param.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (key == "version") {
      if (value != "3" && value != "4") {
        return Status::InvalidArgument(fmt::format("{}: version={} (NFS versions 3 and 4 are supported)", url, value));
      }
      out.version = value == "3" ? 3 : 4;
    } else if (key == "nfsport" || key == "mountport") {
      Result<uint16_t> port = ParseNumber<uint16_t>(value, url, key, 1, 65535);
      if (!port.ok()) return port.status();
      (key == "nfsport" ? out.nfs_port : out.mount_port) = *port;
    } else if (key == "uid" || key == "gid") {
      Result<uint32_t> id = ParseNumber<uint32_t>(value, url, key, 0, 0xFFFFFFFEu);
      if (!id.ok()) return id.status();
      (key == "uid" ? out.uid : out.gid) = *id;
    } else {
      return Status::InvalidArgument(
          fmt::format("{}: unknown parameter '{}' (nfs:// takes version, nfsport, mountport, uid and gid)", url, key));
    }
  }
  return out;
}

std::string NfsUrl::ToString() const {
  std::string params = fmt::format("version={}", version);
  if (nfs_port != 0) params += fmt::format("&nfsport={}", nfs_port);
  if (mount_port != 0) params += fmt::format("&mountport={}", mount_port);
  if (uid) params += fmt::format("&uid={}", *uid);
  if (gid) params += fmt::format("&gid={}", *gid);
  const std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return fmt::format("nfs://{}{}?{}", host_part, PercentEncode(path), params);
}

}  // namespace sluice::nfs
