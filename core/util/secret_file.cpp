#include "core/util/secret_file.h"

#include <cerrno>
#include <fstream>

namespace sluice {

Result<std::string> ReadSecretLine(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, what + ": cannot read " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return Status::InvalidArgument(what + ": " + path + " is empty");
  return line;
}

}  // namespace sluice
