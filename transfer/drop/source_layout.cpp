#include "transfer/drop/source_layout.h"

#include <filesystem>
#include <vector>

#include "protocols/sftp/sftp_url.h"

namespace sluice::transfer::drop {
namespace {

std::vector<std::string> Components(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    if (!out.empty()) out += '/';
    out += parts[i];
  }
  return out;
}

// The path of folder `spec` ("" = none), as seen from the inbox `inbox`.
Result<std::string> Resolve(const std::string& inbox, std::string_view spec, std::string_view key) {
  if (spec.empty()) return std::string();
  const bool absolute_inbox = !inbox.empty() && inbox.front() == '/';
  if (spec.front() == '/' && !absolute_inbox) {
    return Status::InvalidArgument(std::string(key) +
                                   ": an absolute path needs an inbox given by its absolute path, not below the "
                                   "login directory");
  }
  const std::string joined = spec.front() == '/' ? std::string(spec)
                             : inbox.empty()     ? std::string(spec)
                                                 : inbox + "/" + std::string(spec);
  Result<std::string> norm = NormalizePath(joined);
  if (!norm.ok())
    return Status::InvalidArgument(std::string(key) + " \"" + std::string(spec) + "\": " + norm.status().message());
  if (norm.value() == inbox) {
    return Status::InvalidArgument(std::string(key) + " \"" + std::string(spec) + "\" is the inbox itself");
  }
  return norm;
}

}  // namespace

Result<std::string> NormalizePath(std::string_view path) {
  const bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string> out;
  for (std::string& c : Components(path)) {
    if (c == ".") continue;
    if (c == "..") {
      if (out.empty()) return Status::InvalidArgument(absolute ? "climbs above /" : "climbs above where it starts");
      out.pop_back();
      continue;
    }
    out.push_back(std::move(c));
  }
  const std::string joined = Join(out, 0, out.size());
  return absolute ? "/" + joined : joined;
}

Result<SourceLayout> ResolveSourceLayout(std::string_view source, std::string_view move_to,
                                         std::string_view failed_to) {
  const bool sftp = source.starts_with("sftp://");
  sftp::SftpUrl url;
  std::string inbox_path;
  if (sftp) {
    Result<sftp::SftpUrl> parsed = sftp::ParseSftpUrl(source);
    if (!parsed.ok()) return parsed.status();
    url = parsed.value();
    inbox_path = url.path;
  } else {
    inbox_path = std::filesystem::absolute(std::filesystem::path(source)).string();
  }
  Result<std::string> inbox = NormalizePath(inbox_path);
  if (!inbox.ok())
    return Status::InvalidArgument("source \"" + std::string(source) + "\": " + inbox.status().message());
  Result<std::string> moved = Resolve(inbox.value(), move_to, "move_to");
  if (!moved.ok()) return moved.status();
  Result<std::string> failed = Resolve(inbox.value(), failed_to, "failed_to");
  if (!failed.ok()) return failed.status();

  // The deepest directory holding all of them.
  const bool absolute = !inbox.value().empty() && inbox.value().front() == '/';
  std::vector<std::string> common = Components(inbox.value());
  for (const std::string& other : {moved.value(), failed.value()}) {
    if (other.empty()) continue;
    const std::vector<std::string> parts = Components(other);
    size_t n = 0;
    while (n < common.size() && n < parts.size() && common[n] == parts[n]) ++n;
    common.resize(n);
  }
  const std::string root = (absolute ? "/" : "") + Join(common, 0, common.size());
  auto below = [&](const std::string& path) -> std::string {
    if (path.empty()) return "";
    const std::vector<std::string> parts = Components(path);
    return Join(parts, common.size(), parts.size());
  };

  SourceLayout out;
  out.inbox = below(inbox.value());
  out.move_to = below(moved.value());
  out.failed_to = below(failed.value());
  if (sftp) {
    url.path = root;
    out.root_url = url.ToString();
  } else {
    out.root_url = root;
  }
  return out;
}

}  // namespace sluice::transfer::drop
