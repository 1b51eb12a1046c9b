#include "transfer/endpoint.h"

namespace sluice::transfer {

std::string RelativePathProblem(std::string_view path) {
  if (path.empty()) return {};  // the root
  if (path.front() == '/') return "an endpoint path is relative to its root: \"" + std::string(path) + "\"";
  if (path.find('\0') != std::string_view::npos) return "a path cannot contain NUL";
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    const std::string_view part = path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    if (part.empty() || part == "." || part == "..")
      return "a path component cannot be empty, \".\" or \"..\": \"" + std::string(path) + "\"";
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  out += '/';
  out += name;
  return out;
}

Status MakeDirectoryPath(const std::string& path, const std::function<Status(const std::string&)>& mkdir,
                         const std::function<Result<bool>(const std::string&)>& is_directory,
                         const std::function<std::string(const std::string&)>& where) {
  Status made = path.empty() ? Status::Io("the root") : mkdir(path);
  if (made.ok() || made.code() == ErrorCode::kUnavailable) return made;
  // It exists (fine if a directory), or its parent is missing.
  Result<bool> dir = is_directory(path);
  if (dir.ok()) {
    if (*dir) return Status::Ok();
    return Status::InvalidArgument(where(path) + " exists and is not a directory");
  }
  if (dir.status().code() != ErrorCode::kNotFound || path.empty()) return dir.status();
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return made;  // the root itself is there: the mkdir error stands
  if (Status s = MakeDirectoryPath(path.substr(0, slash), mkdir, is_directory, where); !s.ok()) return s;
  made = mkdir(path);
  if (made.ok()) return made;
  dir = is_directory(path);  // another thread may have made it meanwhile
  if (dir.ok() && *dir) return Status::Ok();
  return made;
}

Status Endpoint::SetAttributes(std::string_view path, const FileAttributes& attrs) {
  if (attrs.uid.has_value() && attrs.gid.has_value()) {
    if (Status s = SetOwner(path, *attrs.uid, *attrs.gid); !s.ok()) return s;
  }
  if (attrs.mode.has_value()) {
    if (Status s = SetMode(path, *attrs.mode); !s.ok()) return s;
  }
  if (attrs.mtime_ns.has_value()) {
    if (Status s = SetTimes(path, *attrs.mtime_ns); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace sluice::transfer
