// libcurl's functions, loaded the first time an HTTP client is made
// (core/util/shared_library.h says why: libcurl's dependencies, GnuTLS,
// LDAP, RTMP, SSH2 and more, are +2.9 MiB resident at start, and an agent
// that only writes to the lake makes no HTTP request). The table is made
// once per process (with curl_global_init) and never changes after.
#pragma once

// curl.h's type-checking macros (GCC) would rewrite calls through the table.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "core/status.h"
#include "core/util/shared_library.h"

namespace sluice::http {

#define SLUICE_CURL_FUNCTIONS(X) \
  X(curl_global_init)            \
  X(curl_easy_init)              \
  X(curl_easy_cleanup)           \
  X(curl_easy_reset)             \
  X(curl_easy_setopt)            \
  X(curl_easy_perform)           \
  X(curl_easy_getinfo)           \
  X(curl_easy_strerror)          \
  X(curl_getdate)                \
  X(curl_slist_append)           \
  X(curl_slist_free_all)

struct CurlApi {
  SLUICE_CURL_FUNCTIONS(SLUICE_LIBRARY_MEMBER)
};

// The table, loading libcurl the first time; an error when the library or
// one of its functions is missing, or its global initialization failed.
Result<const CurlApi*> Curl();

}  // namespace sluice::http
