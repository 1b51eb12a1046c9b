#include "protocols/smb/smbclient_api.h"

namespace sluice::smb {

Result<const SmbclientApi*> Smbclient() {
  // Made once, by the first thread to ask (a function-local static's
  // initialization is thread-safe); only read after.
  static const Result<SmbclientApi> loaded = LoadLibraryTable<SmbclientApi>(
      SLUICE_SMBCLIENT_SONAME, "libsmbclient", [](const SharedLibrary& lib, SmbclientApi& api) {
        Status bound;
        SLUICE_SMBCLIENT_FUNCTIONS(SLUICE_LIBRARY_BIND)
        return bound;
      });
  return LoadedTable(loaded);
}

}  // namespace sluice::smb
