#include "transfer/open_endpoint.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>
#include <system_error>

#include "protocols/sftp/sftp_url.h"
#include "transfer/local/local_endpoint.h"
#include "transfer/s3/s3_url.h"
#include "transfer/subtree_endpoint.h"

namespace sluice::transfer {
namespace {

namespace fs = std::filesystem;

bool IsSftp(std::string_view url) { return url.starts_with("sftp://"); }

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

Result<std::unique_ptr<Endpoint>> OpenSftpAt(const sftp::SftpUrl& base, std::string path, const EndpointOptions& o) {
  sftp::SftpUrl url = base;
  url.path = std::move(path);
  return OpenSftpEndpoint(url, o.sftp);
}

}  // namespace

std::string UrlProblem(std::string_view url) {
  if (url.empty()) return "an empty path";
  if (IsSftp(url)) {
    Result<sftp::SftpUrl> parsed = sftp::ParseSftpUrl(url);
    return parsed.ok() ? "" : parsed.status().message();
  }
  if (IsS3Url(url)) {
    Result<S3Url> parsed = ParseS3Url(url);
    return parsed.ok() ? "" : parsed.status().message();
  }
  if (HasScheme(url)) {
    return fmt::format("{}: unsupported scheme (this build reads local paths, sftp:// and s3:// URLs)", url);
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
  if (IsSftp(url)) {
    Result<sftp::SftpUrl> parsed = sftp::ParseSftpUrl(url);
    Result<std::unique_ptr<Endpoint>> ep = OpenSftpEndpoint(parsed.value(), options.sftp);
    if (ep.ok()) {
      out.endpoint = std::move(ep).value();
      return out;
    }
    if (ep.status().code() != ErrorCode::kNotFound || parsed.value().path.empty() || parsed.value().path == "/") {
      return ep.status();
    }
    // Maybe a file: open its directory and look.
    auto [dir, name] = SplitLast(parsed.value().path);
    Result<std::unique_ptr<Endpoint>> parent = OpenSftpAt(parsed.value(), dir, options);
    if (!parent.ok()) return ep.status();
    Result<EntryInfo> info = parent.value()->Stat(name);
    if (!info.ok() || info.value().type != EntryType::kFile) return ep.status();
    out.endpoint = std::move(parent).value();
    out.only = name;
    return out;
  }
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
  std::string missing;  // the part below the nearest existing ancestor
  if (IsSftp(url)) {
    Result<sftp::SftpUrl> parsed = sftp::ParseSftpUrl(url);
    std::string path = parsed.value().path;
    for (;;) {
      Result<std::unique_ptr<Endpoint>> ep = OpenSftpAt(parsed.value(), path, options);
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
