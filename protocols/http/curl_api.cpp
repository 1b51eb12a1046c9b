#include "protocols/http/curl_api.h"

namespace sluice::http {

Result<const CurlApi*> Curl() {
  // Made once, by the first thread to ask (a function-local static's
  // initialization is thread-safe); only read after.
  static const Result<CurlApi> loaded =
      LoadLibraryTable<CurlApi>(SLUICE_CURL_SONAME, "libcurl4", [](const SharedLibrary& lib, CurlApi& api) {
        Status bound;
        SLUICE_CURL_FUNCTIONS(SLUICE_LIBRARY_BIND)
        if (!bound.ok()) return bound;
        // Once, before any handle: curl_easy_init would otherwise do it
        // implicitly on the first handle, racing with other threads on older
        // libcurls.
        if (const CURLcode rc = api.curl_global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
          return Status::Internal(std::string("libcurl failed to initialize: ") + api.curl_easy_strerror(rc));
        }
        return Status::Ok();
      });
  return LoadedTable(loaded);
}

}  // namespace sluice::http
