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

}  // namespace sluice::transfer
