#include "transfer/open_endpoint.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <system_error>
#include <utility>

#include "protocols/nfs/nfs_url.h"
#include "protocols/sftp/sftp_url.h"
#include "protocols/smb/smb_url.h"
#include "transfer/local/local_endpoint.h"
#include "transfer/s3/s3_url.h"
#include "transfer/subtree_endpoint.h"

namespace sluice::transfer {
namespace {

namespace fs = std::filesystem;

bool IsSftp(std::string_view url) { return url.starts_with("sftp://"); }
bool IsSmb(std::string_view url) { return url.starts_with("smb://"); }
bool IsNfs(std::string_view url) { return url.starts_with("nfs://"); }

// Opens a remote endpoint rooted at a path of its server ("" or "/" being the
// top): SFTP, SMB and NFS are opened alike.
using OpenAt = std::function<Result<std::unique_ptr<Endpoint>>(const std::string& path)>;

bool HasScheme(std::string_view url) {
  const size_t colon = url.find("://");
  return colon != std::string_view::npos && url.find('/') > colon;
}

// "a/b/c" -> ("a/b", "c"); "/x" -> ("/", "x"); "x" -> ("", "x").
std::pair<std::string, std::string> SplitLast(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {"", std::string(path)};
  return {slash == 0 ? "/" : std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

// A source on a remote server: the directory at `path`, or, when there is
// none, the file at `path` opened as its parent directory with `only` set.
Result<OpenedSource> OpenRemoteSource(const std::string& path, const OpenAt& open_at) {
  OpenedSource out;
  Result<std::unique_ptr<Endpoint>> ep = open_at(path);
  if (ep.ok()) {
    out.endpoint = std::move(ep).value();
    return out;
  }
  if (ep.status().code() != ErrorCode::kNotFound || path.empty() || path == "/") return ep.status();
  auto [dir, name] = SplitLast(path);
  if (name.empty()) return ep.status();
  Result<std::unique_ptr<Endpoint>> parent = open_at(dir);
  if (!parent.ok()) return ep.status();
  Result<EntryInfo> info = parent.value()->Stat(name);
  if (!info.ok() || info.value().type != EntryType::kFile) return ep.status();
  out.endpoint = std::move(parent).value();
  out.only = name;
  return out;
}

// A destination on a remote server: its nearest existing ancestor, viewed
// through the missing part (created when the transfer runs).
Result<std::unique_ptr<Endpoint>> OpenRemoteDestination(std::string path, const OpenAt& open_at) {
  std::string missing;  // the part below the nearest existing ancestor
  for (;;) {
    Result<std::unique_ptr<Endpoint>> ep = open_at(path);
    if (ep.ok()) {
      if (missing.empty()) return ep;
      return MakeSubtreeEndpoint(std::move(ep).value(), missing);
    }
    if (ep.status().code() != ErrorCode::kNotFound || path.empty() || path == "/") return ep.status();
    auto [dir, name] = SplitLast(path);
    if (name.empty()) return ep.status();
    missing = missing.empty() ? name : JoinPath(name, missing);
    path = dir;
  }
}

// The opener of a remote URL (already checked by UrlProblem), with the path
// below its fixed part; nullopt for a local path or s3://.
std::optional<std::pair<std::string, OpenAt>> RemoteOpener(std::string_view url, const EndpointOptions& o) {
  if (IsSftp(url)) {
    sftp::SftpUrl base = sftp::ParseSftpUrl(url).value();
    std::string path = base.path;
    return std::pair{path, OpenAt([base, &o](const std::string& p) {
                       sftp::SftpUrl at = base;
                       at.path = p;
                       return OpenSftpEndpoint(at, o.sftp);
                     })};
  }
  if (IsSmb(url)) {
    smb::SmbUrl base = smb::ParseSmbUrl(url).value();
    std::string path = base.path;  // below the share: "" is the share's root
    return std::pair{path, OpenAt([base, &o](const std::string& p) {
                       smb::SmbUrl at = base;
                       at.path = p;
                       return OpenSmbEndpoint(at, o.smb);
                     })};
  }
  if (IsNfs(url)) {
    nfs::NfsUrl base = nfs::ParseNfsUrl(url).value();
    std::string path = base.path;
    return std::pair{path, OpenAt([base, &o](const std::string& p) {
                       nfs::NfsUrl at = base;
                       at.path = p.empty() ? "/" : p;
                       return OpenNfsEndpoint(at, o.nfs);
                     })};
  }
  return std::nullopt;
}

}  // namespace

std::string UrlProblem(std::string_view url) {
  if (url.empty()) return "an empty path";
  if (IsSftp(url)) {
    Result<sftp::SftpUrl> parsed = sftp::ParseSftpUrl(url);
    return parsed.ok() ? "" : parsed.status().message();
  }
  if (IsSmb(url)) {
    Result<smb::SmbUrl> parsed = smb::ParseSmbUrl(url);
    return parsed.ok() ? "" : parsed.status().message();
  }
  if (IsNfs(url)) {
    Result<nfs::NfsUrl> parsed = nfs::ParseNfsUrl(url);
    return parsed.ok() ? "" : parsed.status().message();
  }
  if (IsS3Url(url)) {
    Result<S3Url> parsed = ParseS3Url(url);
    return parsed.ok() ? "" : parsed.status().message();
  }
  if (HasScheme(url)) {
    return fmt::format("{}: unsupported scheme (this build reads local paths, sftp://, smb://, nfs:// and s3:// URLs)",
                       url);
  }
  return "";
}

Result<OpenedSource> OpenSource(std::string_view url, const EndpointOptions& options) {
  if (std::string problem = UrlProblem(url); !problem.empty()) return Status::InvalidArgument(problem);
  OpenedSource out;
  if (IsS3Url(url)) {
    const S3Url parsed = ParseS3Url(url).value();
    Result<std::unique_ptr<Endpoint>> ep = OpenS3Endpoint(parsed, options.s3);
    if (!ep.ok()) return ep.status();
    // The prefix may name one object: s3://b/dir/file.csv.
    if (!parsed.prefix.empty()) {
      auto [dir, name] = SplitLast(parsed.prefix);
      S3Url up = parsed;
      up.prefix = dir;
      Result<std::unique_ptr<Endpoint>> parent = OpenS3Endpoint(up, options.s3);
      if (parent.ok()) {
        Result<EntryInfo> info = parent.value()->Stat(name);
        if (info.ok() && info.value().type == EntryType::kFile) {
          out.endpoint = std::move(parent).value();
          out.only = name;
          return out;
        }
      }
    }
    out.endpoint = std::move(ep).value();
    return out;
  }
  if (auto remote = RemoteOpener(url, options)) return OpenRemoteSource(remote->first, remote->second);
  const fs::path path(url);
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::is_regular_file(st)) {
    fs::path parent = path.parent_path();
    if (parent.empty()) parent = ".";
    Result<std::unique_ptr<Endpoint>> ep = OpenLocalEndpoint(parent);
    if (!ep.ok()) return ep.status();
    out.endpoint = std::move(ep).value();
    out.only = path.filename().string();
    return out;
  }
  Result<std::unique_ptr<Endpoint>> ep = OpenLocalEndpoint(path);
  if (!ep.ok()) return ep.status();
  out.endpoint = std::move(ep).value();
  return out;
}

Result<std::unique_ptr<Endpoint>> OpenDestination(std::string_view url, const EndpointOptions& options) {
  if (std::string problem = UrlProblem(url); !problem.empty()) return Status::InvalidArgument(problem);
  // S3 has no directories to create: every prefix can be written to.
  if (IsS3Url(url)) return OpenS3Endpoint(ParseS3Url(url).value(), options.s3);
  if (auto remote = RemoteOpener(url, options)) return OpenRemoteDestination(remote->first, remote->second);
  std::string missing;  // the part below the nearest existing ancestor
  fs::path path = fs::path(url).lexically_normal();
  if (path.has_filename() == false && path.has_parent_path() && path != path.root_path()) path = path.parent_path();
  for (;;) {
    std::error_code ec;
    if (fs::exists(path, ec) || path.empty() || path == path.root_path()) break;
    if (path.filename().string() == "..") break;
    missing = missing.empty() ? path.filename().string() : JoinPath(path.filename().string(), missing);
    path = path.parent_path();
  }
  Result<std::unique_ptr<Endpoint>> ep = OpenLocalEndpoint(path.empty() ? fs::path(".") : path);
  if (!ep.ok()) return ep.status();
  if (missing.empty()) return ep;
  return MakeSubtreeEndpoint(std::move(ep).value(), missing);
}

}  // namespace sluice::transfer
