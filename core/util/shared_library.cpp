#include "core/util/shared_library.h"

#include <dlfcn.h>

namespace sluice {

Result<SharedLibrary> SharedLibrary::Open(const std::string& soname, const std::string& package) {
  // RTLD_LOCAL: its symbols do not resolve anyone else's.
  void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status::Unsupported("cannot load " + soname + " (install the " + package +
                               " package): " + (why != nullptr ? why : "unknown error"));
  }
  return SharedLibrary(handle, soname);
}

void* SharedLibrary::Find(const char* name) const { return dlsym(handle_, name); }

Status SharedLibrary::Missing(const char* name) const {
  return Status::Unsupported(soname_ + " has no function " + name + ": a version this build does not know");
}

}  // namespace sluice
