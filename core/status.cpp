#include "core/status.h"

#include <cerrno>
#include <cstring>

namespace sluice {

Status Status::FromErrno(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return NoSpace(std::move(msg));
  if (err == ENOENT) return NotFound(std::move(msg));
  if (err == EACCES || err == EPERM) return PermissionDenied(std::move(msg));
  return Io(std::move(msg));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_;
}

}  // namespace sluice
