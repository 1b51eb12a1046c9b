// A shared library loaded when first needed (dlopen) instead of at the
// program's start, and the functions taken from it.
//
// Why: `sluice` is one program, and the libraries of the transfer protocols
// and of some sinks pull in dozens of others (libsmbclient alone maps ~40 of
// Samba's, ICU and Kerberos: +9.5 MiB resident at start, measured). An agent
// on a device that tails a file into the lake needs none of them, so they are
// opened by the code that uses them, the first time it does.
//
// Invariants: a library once opened stays loaded for the life of the process
// (never dlclose'd: Samba, libcurl and librdkafka keep global state and
// threads that do not survive being unloaded). Open is RTLD_NOW, so a library
// that lacks a symbol it needs fails here, not at a later call. Functions are
// taken by their C names, typed by the library's own header (Bind's `fn`).
#pragma once

#include <cstring>
#include <string>

#include "core/status.h"

namespace sluice {

class SharedLibrary {
 public:
  // Opens `soname` (e.g. "libsmbclient.so.0"); the error names it and says
  // why, and which package provides it (`package`, for the message).
  static Result<SharedLibrary> Open(const std::string& soname, const std::string& package);

  // Sets `fn` to the library's function `name`; an error naming both when the
  // library has no such symbol.
  template <class Fn>
  Status Bind(Fn*& fn, const char* name) const {
    void* address = Find(name);
    if (address == nullptr) return Missing(name);
    // A data pointer to a function pointer: dlsym's contract on POSIX.
    static_assert(sizeof(fn) == sizeof(address));
    std::memcpy(&fn, &address, sizeof fn);
    return Status::Ok();
  }

  const std::string& soname() const { return soname_; }

 private:
  SharedLibrary(void* handle, std::string soname) : handle_(handle), soname_(std::move(soname)) {}
  void* Find(const char* name) const;
  Status Missing(const char* name) const;

  void* handle_ = nullptr;  // never closed (see above)
  std::string soname_;
};

// Opens `soname` and fills a table of its functions with `bind(lib, table)`
// (a Status: the first function missing, or whatever else the library needs
// before use), for a function-local static that keeps it for the process.
template <class Api, class Bind>
Result<Api> LoadLibraryTable(const std::string& soname, const std::string& package, Bind bind) {
  Result<SharedLibrary> lib = SharedLibrary::Open(soname, package);
  if (!lib.ok()) return lib.status();
  Api api;
  if (Status s = bind(lib.value(), api); !s.ok()) return s;
  return api;
}

// The kept table, or why it could not be loaded.
template <class Api>
Result<const Api*> LoadedTable(const Result<Api>& loaded) {
  if (!loaded.ok()) return loaded.status();
  return &loaded.value();
}

}  // namespace sluice

// For a table of a library's functions, named as in its header: with
// #define LIB_FUNCTIONS(X) X(first) X(second) ..., a struct holds
// LIB_FUNCTIONS(SLUICE_LIBRARY_MEMBER), and a `bind` for LoadLibraryTable
// that has a SharedLibrary `lib`, a table `api` and a Status `bound` runs
// LIB_FUNCTIONS(SLUICE_LIBRARY_BIND). (The qualified name in decltype keeps
// the member's own name from changing what it refers to.)
#define SLUICE_LIBRARY_MEMBER(name) decltype(&::name) name = nullptr;
#define SLUICE_LIBRARY_BIND(name) \
  if (bound.ok()) bound = lib.Bind(api.name, #name);
