#include "transfer/rel_path.h"

namespace sluice::transfer {

std::string_view ParentView(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view NameView(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string ParentOf(std::string_view path) { return std::string(ParentView(path)); }
std::string NameOf(std::string_view path) { return std::string(NameView(path)); }

}  // namespace sluice::transfer
